"""Polyphonic transcription and beat self-similarity on rendered MIDI."""

from __future__ import annotations

import random

import numpy as np
import pretty_midi
import pytest

from bgmscope.errors import ParameterError
from bgmscope.midi.evaluate import note_scores, reference_notes
from bgmscope.midi.poly import transcribe_poly
from bgmscope.midi.ssm import (
    audio_beat_features,
    midi_beat_features,
    repetition_score,
    self_similarity,
    stripe_similarity,
)
from bgmscope.synth import render_midi

SR = 16000


def chords_midi(chords: list[tuple[int, ...]], seconds: float = 1.0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    for i, ch in enumerate(chords):
        for p in ch:
            inst.notes.append(pretty_midi.Note(90, p, 0.1 + i * seconds, 0.1 + (i + 0.9) * seconds))
    pm.instruments.append(inst)
    return pm


def test_polyphonic_finds_the_notes_of_triads() -> None:
    pm = chords_midi([(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)])
    y = render_midi(pm, sr=SR, stereo=False)
    est = transcribe_poly(y, SR)
    first = {n.pitch for n in est if n.start < 0.3}
    assert {60, 64, 67} <= first
    s = note_scores(reference_notes(pm), est)
    assert s["recall_on"] >= 0.9 and s["precision_on"] >= 0.6


def test_polyphonic_rejects_bad_threshold() -> None:
    with pytest.raises(ParameterError):
        transcribe_poly(np.zeros(SR, np.float32), SR, threshold=1.5)


def section(rng: random.Random) -> list[int]:
    return [rng.choice([60, 62, 64, 65, 67, 69, 71, 72]) for _ in range(16)]


def song(sections: list[list[int]]) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    t = 0.0
    for sec in sections:
        for p in sec:
            inst.notes.append(pretty_midi.Note(90, p, t, t + 0.45))
            t += 0.5
    pm.instruments.append(inst)
    return pm


@pytest.fixture(scope="module")
def abab_and_abcd():
    rng = random.Random(1)
    a, b, c, d = (section(rng) for _ in range(4))
    return song([a, b, a, b]), song([a, b, c, d])


def test_ssm_of_abab_shows_the_repetition_from_midi(abab_and_abcd) -> None:
    abab, abcd = abab_and_abcd
    F, beats = midi_beat_features(abab)
    S = self_similarity(F)
    assert S.shape == (F.shape[1], F.shape[1]) and np.allclose(np.diag(S), 1.0)
    P = stripe_similarity(S, 8)
    # the stripe 32 beats (one A+B) off the diagonal is the repetition
    assert np.mean([P[i, i + 32] for i in range(0, 24)]) > 0.99
    rep, other = repetition_score(S), repetition_score(self_similarity(midi_beat_features(abcd)[0]))
    assert rep.score >= 0.45 and other.score <= 0.05
    assert rep.mean_best > other.mean_best + 0.2


def test_ssm_of_abab_shows_the_repetition_from_audio(abab_and_abcd) -> None:
    scores = {}
    for name, pm in zip(("abab", "abcd"), abab_and_abcd, strict=True):
        y = render_midi(pm, sr=SR, stereo=False)
        feats = audio_beat_features(y, SR, pm.get_beats())
        scores[name] = (repetition_score(self_similarity(feats["chroma"])),
                        repetition_score(self_similarity(feats["mfcc"], standardize=True)))
    assert scores["abab"][0].score >= 0.45 and scores["abcd"][0].score <= 0.1
    assert scores["abab"][1].mean_best > scores["abcd"][1].mean_best


def test_ssm_bad_inputs() -> None:
    with pytest.raises(ParameterError):
        repetition_score(np.ones((3, 4)))
    with pytest.raises(ParameterError, match="beats"):
        repetition_score(np.ones((5, 5)))
    with pytest.raises(ParameterError):
        midi_beat_features(pretty_midi.PrettyMIDI(), np.array([0.0, 0.5, 1.0]))
    with pytest.raises(ParameterError, match="increase"):
        audio_beat_features(np.zeros(SR, np.float32), SR, np.array([0.5, 0.2]))
