"""Tempo and its confidence: clips without a pulse get a missing (NaN) tempo, click tracks and a
rendered song their tempo, at the right metrical level."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bgmscope.features.extract import extract_clip
from bgmscope.features.rhythm import MIN_CONFIDENCE, beat_track, estimate_tempo_full, rhythm_summary

SR = 16000


def clicks(bpm: float, seconds: float = 15.0, *, accent_every: int = 0, offbeats: float = 0.0,
           seed: int = 0) -> np.ndarray:
    """A click per beat (louder every ``accent_every`` beats), optional softer off-beat clicks."""
    rng = np.random.default_rng(seed)
    y = 0.005 * rng.standard_normal(int(seconds * SR))
    click = np.hanning(160) * np.sin(2 * np.pi * 1500 * np.arange(160) / SR)
    period = 60.0 / bpm
    for i, t in enumerate(np.arange(0.1, seconds - 0.1, period)):
        amp = 0.8 if accent_every and i % accent_every == 0 else 0.4
        for at, a in ((t, amp), (t + period / 2, offbeats * 0.4)):
            k = int(at * SR)
            if a > 0 and k + click.size <= y.size:
                y[k: k + click.size] += a * click
    return y.astype(np.float32)


def stored(y: np.ndarray) -> dict[str, float]:
    b = beat_track(y, SR)
    return rhythm_summary(b, y.size / SR)


def test_noise_has_no_tempo():
    y = (0.1 * np.random.default_rng(1).standard_normal(15 * SR)).astype(np.float32)
    v = extract_clip(y, SR, include_f0=False)
    assert np.isnan(v["tempo_bpm"])
    assert 0.0 <= v["tempo_confidence"] < MIN_CONFIDENCE


def test_sustained_chord_has_no_tempo():
    t = np.arange(15 * SR) / SR
    y = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * np.minimum(1.0, t / 0.05)
    v = stored((0.1 * y).astype(np.float32))
    assert np.isnan(v["tempo_bpm"])
    assert 0.0 <= v["tempo_confidence"] < MIN_CONFIDENCE


@pytest.mark.parametrize("bpm", [100.0, 150.0])
def test_click_track_tempo_is_stored(bpm):
    v = extract_clip(clicks(bpm), SR, include_f0=False)
    assert v["tempo_bpm"] == pytest.approx(bpm, rel=0.02)
    assert MIN_CONFIDENCE <= v["tempo_confidence"] <= 1.0


@pytest.mark.parametrize("bpm, kw", [(100.0, {"accent_every": 4}), (100.0, {"offbeats": 0.5}),
                                     (90.0, {"accent_every": 2, "offbeats": 0.3})])
def test_metrical_level_is_the_beat(bpm, kw):
    # accented bars must not halve (or quarter) the tempo, soft off-beats must not double it
    v = stored(clicks(bpm, **kw))
    assert v["tempo_bpm"] == pytest.approx(bpm, rel=0.02), kw


def test_confidence_parts_are_bounded_and_explain_a_drop():
    fps = SR / 512
    env = np.zeros(int(15 * fps))
    env[::16] = 1.0  # a clean pulse every 16 frames
    clean = estimate_tempo_full(env, SR)
    assert clean.tempo_bpm == pytest.approx(60 * fps / 16, rel=0.02)
    # the same pulse for 7 s, then another, faster one: the windows disagree
    env2 = env.copy()
    half = env2.size // 2
    env2[half:] = 0.0
    env2[half::11] = 1.0
    changed = estimate_tempo_full(env2, SR)
    for e in (clean, changed):
        for x in (e.confidence, e.clarity, e.margin, e.consistency):
            assert 0.0 <= x <= 1.0
    assert changed.consistency < clean.consistency
    assert changed.confidence < clean.confidence


def test_rendered_song_tempo_and_confidence():
    from bgmscope.scores import arrange, load_piece
    from bgmscope.synth import render_midi

    pm = arrange(load_piece("essenFolksong/han1", number=7), random.Random(5), tempo=104.0, min_seconds=16,
                 drums="backbeat")
    y = render_midi(pm, sr=SR, stereo=False)[: 15 * SR]
    v = stored(y)
    assert v["tempo_bpm"] == pytest.approx(104.0, rel=0.04)
    assert MIN_CONFIDENCE <= v["tempo_confidence"] <= 1.0
