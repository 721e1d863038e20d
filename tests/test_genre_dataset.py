"""The folder-per-label loader: real GTZAN .au files, generated trees, manifests, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from genre_helpers import SR, make_clip, make_dataset

from bgmscope.errors import ParameterError
from bgmscope.genre.dataset import load_clip_audio, load_dataset, patches
from bgmscope.genre.features import SUMMARY_NAMES, FeatureParams, clip_inputs, file_inputs

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-sample"
if not GTZAN.is_dir():
    GTZAN = Path("/work/shared/data/gtzan-sample")


@pytest.mark.skipif(not GTZAN.is_dir(), reason="the GTZAN sample (shared/data/gtzan-sample) is absent")
def test_loader_reads_real_gtzan_au():
    ds = load_dataset(GTZAN)
    assert len(ds.labels) == 10 and "blues" in ds.labels and "reggae" in ds.labels
    assert all(p.endswith(".au") for p in ds.items["path"])
    assert ds.items["group"].nunique() == len(ds)  # no manifest: every clip is its own group
    y = load_clip_audio(ds.items["path"][0], sr=SR)
    assert y.dtype == np.float32 and 29.5 * SR < len(y) <= 30.1 * SR
    assert 0.01 < np.max(np.abs(y)) <= 1.0
    inputs = file_inputs((ds.items["path"][0], FeatureParams(), ("frames", "summary", "patches"), None))
    assert inputs["frames"].shape[1] == 13 and inputs["frames"].shape[0] > 900  # 30 s of 32 ms frames
    assert inputs["summary"].shape == (len(SUMMARY_NAMES),) and np.isfinite(inputs["summary"]).all()
    assert inputs["patches"].shape[0] == (inputs["frames"].shape[0] - 94) // 47 + 1  # 3 s patches, hop 1.5 s, over 30 s


def test_loader_folder_tree_and_formats(tmp_path):
    root = make_dataset(tmp_path / "ds", per_label=2)
    rng = np.random.default_rng(1)
    sf.write(str(root / "tones" / "extra.flac"), make_clip("tones", rng), SR)
    (root / "tones" / "notes.txt").write_text("not audio", encoding="utf-8")
    ds = load_dataset(root)
    assert ds.labels == ["clicks", "sweeps", "tones"]
    assert ds.counts() == {"clicks": 2, "sweeps": 2, "tones": 3}
    assert not any(p.endswith(".txt") for p in ds.items["path"])


def test_manifest_groups_and_unicode_labels(tmp_path):
    root = tmp_path / "ds"
    rng = np.random.default_rng(2)
    rows = ["path,label,group"]
    for lab, grp in (("民歌", "曲一"), ("民歌", "曲一"), ("摇滚", "曲二"), ("摇滚", "曲三")):
        i = len(rows)
        p = root / lab / f"{i}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), make_clip("tones", rng, seconds=0.5), SR)
        rows.append(f"{lab}/{i}.wav,{lab},{grp}")
    rows.append("missing/9.wav,民歌,曲九")  # a manifest row whose file is gone is dropped
    (root / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_dataset(root)
    assert len(ds) == 4
    assert ds.items.groupby("group")["label"].nunique().max() == 1
    assert sorted(ds.items["group"].unique()) == ["曲一", "曲三", "曲二"]


def test_loader_bad_input(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "empty" / "label").mkdir(parents=True)
    with pytest.raises(ParameterError, match="no labelled audio"):
        load_dataset(tmp_path / "empty")
    root = make_dataset(tmp_path / "ds", per_label=1)
    with pytest.raises(ParameterError, match="fewer than 2"):
        load_dataset(root, min_per_label=2)


def test_patches_cover_clip_and_pad_short():
    y = np.ones(int(7.5 * SR), np.float32)
    ps = list(patches(y, SR, patch_s=3.0))
    assert len(ps) == 2 and all(len(p) == 3 * SR for p in ps)
    assert len(list(patches(y, SR, patch_s=3.0, hop_s=1.5))) == 4
    short = list(patches(np.ones(SR, np.float32), SR, patch_s=3.0))
    assert len(short) == 1 and len(short[0]) == 3 * SR and short[0][-1] == 0
    with pytest.raises(ParameterError):
        list(patches(y, SR, patch_s=0))


def test_inputs_of_silence_and_bad_signals():
    out = clip_inputs(np.zeros(SR, np.float32), SR)
    assert all(np.isfinite(v).all() for v in out.values())
    with pytest.raises(ParameterError):
        clip_inputs(np.zeros((2, SR), np.float32), SR)
    with pytest.raises(ParameterError):
        clip_inputs(np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="sample rate"):
        clip_inputs(np.zeros(SR, np.float32), 22050)


def test_summary_is_transposition_invariant_in_its_pitch_part():
    rng = np.random.default_rng(3)
    t = np.arange(2 * SR) / SR
    a = sum(np.sin(2 * np.pi * 220 * r * t) for r in (1, 1.26, 1.5)).astype(np.float32) * 0.3
    b = sum(np.sin(2 * np.pi * 220 * 2 ** (5 / 12) * r * t) for r in (1, 1.26, 1.5)).astype(np.float32) * 0.3
    va, vb = (clip_inputs(x + rng.normal(0, 1e-4, len(x)).astype(np.float32), SR, kinds=("summary",))["summary"]
              for x in (a, b))
    idx = [SUMMARY_NAMES.index(f"chroma_rot{i:02d}") for i in range(12)]
    assert np.allclose(va[idx], vb[idx], atol=0.05)
    # the major triad's intervals: a major third (4) and a fifth (7 -> class 5 from the top note)
    ic = np.array([va[SUMMARY_NAMES.index(f"simul_ic{i:02d}")] for i in range(12)])
    assert ic[[3, 4, 5, 7, 8, 9]].sum() > 0.5
