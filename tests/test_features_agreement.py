"""Agreement with librosa's own functions on a real-looking song (a Chinese folk tune from the
music21 corpus, arranged with bass, chords and drums and rendered through the SoundFont).

Stated tolerances: frame-by-frame, float32 rounding only (1e-3 relative) for the descriptors
that share librosa's definition; spectral contrast within 0.05 dB; MFCCs within 0.05 (dB units);
rolloff within one FFT bin; tempo within 2 % of the score's tempo.
"""

from __future__ import annotations

import random

import librosa
import numpy as np
import pytest

from bgmscope.features import rhythm, spectral, temporal, tonal
from bgmscope.features.spectrum import stft

SR = 16000
TEMPO = 112.0


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    from bgmscope.scores import arrange, load_piece
    from bgmscope.synth import render_midi

    piece = load_piece("essenFolksong/han1", number=5)
    pm = arrange(piece, random.Random(3), tempo=TEMPO, min_seconds=12, lead_program=73, drums="backbeat")
    y = render_midi(pm, sr=SR, stereo=False)
    return y[: 12 * SR]


@pytest.fixture(scope="module")
def spec(song):
    return stft(song, SR)


def test_stft_is_librosas(song, spec):
    ref = np.abs(librosa.stft(song))
    assert spec.S.shape == ref.shape
    np.testing.assert_allclose(spec.S, ref, rtol=1e-3, atol=1e-4 * ref.max())


@pytest.mark.parametrize("name, ours, theirs", [
    ("centroid", lambda s, y: spectral.centroid(s), lambda y: librosa.feature.spectral_centroid(y=y, sr=SR)[0]),
    ("bandwidth", lambda s, y: spectral.bandwidth(s), lambda y: librosa.feature.spectral_bandwidth(y=y, sr=SR)[0]),
    ("flatness", lambda s, y: spectral.flatness(s), lambda y: librosa.feature.spectral_flatness(y=y)[0]),
    ("rms", lambda s, y: temporal.rms(y), lambda y: librosa.feature.rms(y=y)[0]),
    ("zcr", lambda s, y: temporal.zero_crossing_rate(y), lambda y: librosa.feature.zero_crossing_rate(y)[0]),
    ("onset", lambda s, y: rhythm.onset_strength(s), lambda y: librosa.onset.onset_strength(y=y, sr=SR)),
    ("chroma", lambda s, y: tonal.chroma(s), lambda y: librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0)),
])
def test_frame_descriptors_agree(song, spec, name, ours, theirs):
    a, b = np.asarray(ours(spec, song), dtype=np.float64), np.asarray(theirs(song), dtype=np.float64)
    assert a.shape == b.shape, name
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * max(1e-9, np.abs(b).max()), err_msg=name)


def test_rolloff_within_one_bin(song, spec):
    a = spectral.rolloff(spec)
    b = librosa.feature.spectral_rolloff(y=song, sr=SR)[0]
    assert np.all(np.abs(a - b) <= SR / 2048 + 1e-6)


def test_contrast_and_mfcc_agree(song, spec):
    c = librosa.feature.spectral_contrast(y=song, sr=SR, fmin=spectral.CONTRAST_FMIN, n_bands=spectral.CONTRAST_BANDS)
    np.testing.assert_allclose(spectral.contrast(spec), c, atol=0.05)
    m = librosa.feature.mfcc(y=song, sr=SR, n_mfcc=20)
    np.testing.assert_allclose(spectral.mfcc(spec), m, atol=0.05)
    np.testing.assert_allclose(spectral.delta(spectral.mfcc(spec)), librosa.feature.delta(m), atol=0.01)


def test_tempo_of_the_rendered_song(song, spec):
    b = rhythm.beat_track(None, SR, spec=spec)
    assert b.tempo_bpm == pytest.approx(TEMPO, rel=0.02)
    assert b.beat_strength > 1.0  # beats land on onsets
    # beats agree with librosa's tracker where both see the same pulse
    _, lb = librosa.beat.beat_track(y=song, sr=SR, units="time")
    if len(lb) > 4:
        near = np.min(np.abs(b.beat_times[:, None] - lb[None, :]), axis=1)
        assert np.mean(near < 0.07) > 0.7
