"""Duplicate edits: cuts of rendered songs at random offsets, lengths and gains, through MP3."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bgmscope.audio.decode import load
from bgmscope.errors import ParameterError
from bgmscope.scores import arrange, corpus_paths, load_piece
from bgmscope.synth import render_midi
from bgmscope.versions.grouping import (
    align,
    collapse_groups,
    find_versions,
    pair_scores,
    version_signature,
)

SR = 22050


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[dict[str, Path], dict[str, str]]:
    """Six songs (Chinese folk, Irish fiddle, Bach chorale) and seven cuts of them, as MP3."""
    d = tmp_path_factory.mktemp("versions")
    rng = random.Random(7)
    specs = [("essenFolksong/han1", n) for n in rng.sample(range(1, 300), 3)]
    specs += [(p, None) for p in rng.sample(corpus_paths("ryansMammoth"), 2)]
    specs += [(rng.choice(corpus_paths("bach")), None)]
    files, truth, audio = {}, {}, {}
    for i, (path, num) in enumerate(specs):
        pm = arrange(load_piece(path, num), random.Random(i), tempo=rng.uniform(90, 140),
                     transpose=rng.randint(-3, 3), min_seconds=24,
                     drums=rng.choice([None, "backbeat", "half-time"]))
        y = render_midi(pm, sr=SR, stereo=False)
        audio[f"song{i}"] = y
        files[f"song{i}"] = d / f"song{i}.mp3"
        sf.write(str(files[f"song{i}"]), y, SR, format="MP3")
        truth[f"song{i}"] = f"song{i}"
    for k in range(7):
        src = f"song{rng.randrange(len(specs))}"
        y = audio[src]
        dur = y.size / SR
        length = rng.uniform(10, min(20, dur - 1))
        off = rng.uniform(0, dur - length)
        cut = y[int(off * SR): int((off + length) * SR)] * 10 ** (rng.uniform(-9, 3) / 20)
        cut = cut / max(1.0, float(np.abs(cut).max()))
        files[f"cut{k}"] = d / f"cut{k}.mp3"
        sf.write(str(files[f"cut{k}"]), cut, SR, format="MP3")
        truth[f"cut{k}"] = src
    return files, truth


def test_cuts_are_grouped_with_precision_and_recall_above_090(corpus):
    files, truth = corpus
    sigs = {k: version_signature(*load(p, sr=16000)) for k, p in files.items()}
    pairs, groups = find_versions(sigs)
    precision, recall = pair_scores(groups, truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall, pairs)
    # each group's representative is the full song, never a cut
    reps = groups[groups["is_representative"]]
    assert all(t.startswith("song") for t in reps["track_id"])
    assert groups.set_index("track_id").loc["cut0", "group_id"] == truth["cut0"]


def test_alignment_recovers_the_offset_and_is_gain_invariant():
    rng = np.random.default_rng(0)
    sr = 16000
    # a "song": a sequence of random chords, each 0.5 s
    t = np.arange(int(0.5 * sr)) / sr
    y = np.concatenate([sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 3)) for _ in range(80)])
    y = (0.2 * y).astype(np.float32)
    a = version_signature(y, sr)
    b = version_signature(0.05 * y[12 * sr: 30 * sr], sr)
    al = align(a, b)
    assert al.score > 0.95
    assert abs(al.offset_s - 12.0) <= 0.25
    other = version_signature((0.2 * rng.standard_normal(20 * sr)).astype(np.float32), sr)
    assert align(a, other).score < 0.8


def test_collapse_counts_a_group_once():
    df = pd.DataFrame({"track_id": ["a", "a2", "b"], "tempo": [120.0, 121.0, 90.0],
                       "user_count": [100, 50, 70], "user_incr": [10, 5, 7], "rank": [2, 3, 1]})
    groups = pd.DataFrame({"track_id": ["a", "a2", "b"], "group_id": ["a", "a", "b"]})
    out = collapse_groups(df, groups).set_index("track_id")
    assert list(out.index) == ["a", "b"]
    assert out.loc["a", "user_count"] == 150 and out.loc["a", "rank"] == 2 and out.loc["a", "tempo"] == 120.0


def test_bad_input():
    with pytest.raises(ParameterError):
        version_signature(np.zeros(0, np.float32), 16000)
    with pytest.raises(ParameterError, match="NaN"):
        version_signature(np.full(16000, np.nan, np.float32), 16000)
    with pytest.raises(ParameterError, match="threshold"):
        find_versions({}, threshold=0)
    pairs, groups = find_versions({})
    assert pairs.empty and groups.empty
    # silence matches nothing
    s = version_signature(np.zeros(16000 * 10, np.float32), 16000)
    assert not np.isfinite(align(s, s).score)
