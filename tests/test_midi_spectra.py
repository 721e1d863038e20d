"""The transcription's shared spectra: one CQT, one STFT, the same answers as computing each again."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from bgmscope.errors import ParameterError
from bgmscope.features.rhythm import beat_track
from bgmscope.midi.melody import _mode_filter, transcribe_melody
from bgmscope.midi.spectra import SALIENCE_MIDI0, SongSpectra, harmonic_salience

SR = 16000


def _song(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """Clicks every 0.5 s and a tone that changes pitch each beat."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitches = rng.integers(60, 80, size=int(seconds * 2) + 1)
    f = librosa.midi_to_hz(pitches[(t * 2).astype(int)])
    y = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR)
    y[:: SR // 2] += 1.0
    return y.astype(np.float32)


def _mode_filter_reference(q: np.ndarray, width: int) -> np.ndarray:
    """The loop the vectorised filter replaced (np.unique per window)."""
    if width <= 1 or len(q) < width:
        return q
    half = width // 2
    win = np.lib.stride_tricks.sliding_window_view(np.pad(q, half, mode="edge"), width)
    out = q.copy()
    for i, w in enumerate(win):
        vals, counts = np.unique(w, return_counts=True)
        if counts[vals == q[i]].sum() < counts.max():
            out[i] = vals[np.argmax(counts)]
    return out


@pytest.mark.parametrize("width", [3, 5, 7])
def test_mode_filter_equals_the_per_window_loop(width: int) -> None:
    rng = np.random.default_rng(width)
    for _ in range(20):
        q = rng.choice([-1, 60, 61, 62, 67], size=int(rng.integers(1, 300)))
        assert np.array_equal(_mode_filter(q, width), _mode_filter_reference(q, width))


def test_beats_from_the_shared_stft_equal_a_fresh_hop_512_stft() -> None:
    y = _song()
    sp = SongSpectra(y, SR)
    a, b = beat_track(y, SR), beat_track(None, SR, spec=sp.beat_spec)
    assert a.tempo_bpm == pytest.approx(b.tempo_bpm, abs=1e-9)
    assert np.array_equal(a.beat_times, b.beat_times)
    assert np.array_equal(a.onset_times, b.onset_times)


def test_mfcc_and_onset_envelope_match_librosa() -> None:
    y = _song()
    sp = SongSpectra(y, SR)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, hop_length=512)[1:]
    assert sp.mfcc.shape == ref.shape
    assert np.max(np.abs(sp.mfcc - ref)) < 1e-2 * np.max(np.abs(ref))
    env = librosa.onset.onset_strength(y=y, sr=SR, hop_length=256)
    assert sp.onset_envelope.shape == env.shape
    assert np.corrcoef(sp.onset_envelope, env)[0, 1] > 0.999


def test_chroma_is_the_cqt_folded_to_pitch_classes() -> None:
    t = np.arange(2 * SR) / SR
    y = (0.5 * np.sin(2 * np.pi * librosa.midi_to_hz(69) * t)).astype(np.float32)  # A4
    sp = SongSpectra(y, SR)
    assert sp.cqt.dtype == np.float32 and sp.cqt.shape[1] == sp.chroma.shape[1]
    mid = sp.chroma[:, 20:-20]
    assert np.all(np.argmax(mid, axis=0) == 9)  # pitch class A
    assert np.allclose(mid.max(axis=0), 1.0)
    ref = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=256)
    assert np.all(np.argmax(ref[:, 20:-20], axis=0) == 9)
    assert np.argmax(sp.cqt[:, 40]) == 69 - SALIENCE_MIDI0


def test_salience_from_the_shared_cqt_equals_its_own_and_is_float32() -> None:
    y = _song(4.0)
    sp = SongSpectra(y, SR)
    own = harmonic_salience(y, SR)
    assert sp.salience.dtype == np.float32 and own.dtype == np.float32
    assert np.array_equal(sp.salience, own)


def test_melody_with_shared_spectra_equals_without() -> None:
    y = _song(6.0, seed=3)
    sp = SongSpectra(y, SR)
    for source in ("mix", "solo"):
        assert transcribe_melody(y, SR, source=source, spectra=sp) == transcribe_melody(y, SR, source=source)
    with pytest.raises(ParameterError, match="another signal"):
        transcribe_melody(y[: len(y) // 2], SR, spectra=sp)
