"""find_hook on rendered songs whose chorus times are known, and on bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bgmscope.errors import ParameterError
from bgmscope.prepare.hook import find_hook, hook_curves, structured_song
from bgmscope.synth import render_midi


@pytest.mark.parametrize("seed,layout", [(11, "VCVCBC"), (12, "IVVCVCC")])
def test_hook_lands_on_a_chorus(seed, layout):
    rng = random.Random(seed)
    song = structured_song(rng, verse=("essenFolksong/han1", 3 + seed), chorus=("essenFolksong/han1", 40 + seed),
                           bridge=("essenFolksong/han2", seed), layout=layout, tempo=rng.uniform(90, 130),
                           section_s=14)
    y = render_midi(song.midi, sr=16000, stereo=False)
    start = find_hook(y, 16000, length_s=15)
    assert 0 <= start <= y.size / 16000 - 15
    assert min(abs(start - c) for c in song.chorus_starts) <= 3.0, (start, song.sections)
    # the seed's first 15 s would miss: the song opens on a verse or an intro
    assert min(song.chorus_starts) > 3.0


def test_curves_are_normalised_and_aligned():
    sr = 16000
    t = np.arange(40 * sr) / sr
    y = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + (t > 20))).astype(np.float32)  # louder second half
    c = hook_curves(y, sr)
    assert len(c.times) == len(c.energy) == len(c.repetition) == len(c.novelty)
    assert c.energy.min() >= 0 and c.energy.max() <= 1
    assert c.energy[c.times > 25].mean() > c.energy[c.times < 15].mean()
    assert any(abs(b - 20) <= 2 for b in c.boundaries)


def test_short_silent_and_bad_input():
    sr = 16000
    assert find_hook(np.zeros(10 * sr, np.float32), sr, length_s=15) == 0.0  # shorter than the clip
    assert find_hook(np.zeros(40 * sr, np.float32), sr, length_s=15) == 0.0  # silence
    stereo = np.zeros((2, 5 * sr), np.float32)
    assert find_hook(stereo, sr, length_s=15) == 0.0
    with pytest.raises(ParameterError, match="empty"):
        find_hook(np.zeros(0, np.float32), sr)
    with pytest.raises(ParameterError, match="NaN"):
        find_hook(np.full(40 * sr, np.nan, np.float32), sr)
    with pytest.raises(ParameterError, match="length_s"):
        find_hook(np.ones(40 * sr, np.float32), sr, length_s=0)
    with pytest.raises(ParameterError, match="layout"):
        structured_song(random.Random(0), verse=("essenFolksong/han1", 1), chorus=("essenFolksong/han1", 2),
                        layout="VXC")
    with pytest.raises(ParameterError, match="contrast"):
        structured_song(random.Random(0), verse=("essenFolksong/han1", 1), chorus=("essenFolksong/han1", 2),
                        contrast=2.0)


def _chord_blocks(sr: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(int(0.5 * sr)) / sr
    y = np.concatenate([sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 3)) for _ in range(80)])
    return (0.1 * y * np.repeat(rng.uniform(0.3, 1, 8), 10 * len(t))).astype(np.float32)


def test_shared_stft_gives_the_same_answer():
    import librosa

    sr = 16000
    y = _chord_blocks(sr)
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    assert find_hook(y, sr, S=S) == find_hook(y, sr)
    with pytest.raises(ParameterError, match="S must be"):
        find_hook(y, sr, S=S[:, :10])
    # with silence around the song, the shared STFT is cut as the signal is
    yp = np.concatenate([np.zeros(2 * sr, np.float32), y, np.zeros(sr, np.float32)])
    Sp = np.abs(librosa.stft(yp, n_fft=2048, hop_length=512))
    assert find_hook(yp, sr, S=Sp) == find_hook(yp, sr)


def test_version_signature_accepts_the_shared_stft():
    import librosa

    from bgmscope.versions.grouping import version_signature

    sr = 16000
    y = _chord_blocks(sr)
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    assert np.allclose(version_signature(y, sr, S=S).frames, version_signature(y, sr).frames)


@pytest.mark.parametrize("seconds", [6.0, 8.0, 9.0])
def test_short_song_still_gets_a_hook(seconds):
    # an 8 s song once hit librosa's strict width < (n - 1) // 2 and raised
    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sign(np.sin(2 * np.pi * 0.5 * t)))).astype(np.float32)
    start = find_hook(y, sr, length_s=3.0)
    assert 0.0 <= start <= seconds - 3.0


@pytest.fixture(scope="module")
def small_song() -> tuple[np.ndarray, float]:
    """A ~70 s verse/chorus song rendered at 16 kHz, and its hook."""
    rng = random.Random(21)
    song = structured_song(rng, verse=("essenFolksong/han1", 30), chorus=("essenFolksong/han1", 61),
                           layout="VCVCC", tempo=112.0, section_s=12)
    y = render_midi(song.midi, sr=16000, stereo=False)
    return y, find_hook(y, 16000, length_s=15)


def test_hook_survives_gain_and_a_low_bitrate_mp3(small_song, tmp_path):
    import soundfile as sf

    from bgmscope.audio.decode import load

    y, hook = small_song
    assert find_hook(0.25 * y, 16000, length_s=15) == pytest.approx(hook, abs=1.0)  # -12 dB
    mp3 = tmp_path / "song.mp3"
    sf.write(mp3, y, 16000, format="MP3", subtype="MPEG_LAYER_III", compression_level=0.7,
             bitrate_mode="CONSTANT")
    assert mp3.stat().st_size * 8 / (y.size / 16000) < 80_000  # a low bitrate, really re-encoded
    y2, sr2 = load(mp3, sr=16000)
    assert sr2 == 16000
    assert find_hook(y2, 16000, length_s=15) == pytest.approx(hook, abs=1.0)


def test_silence_padding_shifts_the_hook(small_song):
    y, hook = small_song
    padded = np.concatenate([np.zeros(3 * 16000, np.float32), y, np.zeros(2 * 16000, np.float32)])
    assert find_hook(padded, 16000, length_s=15) == pytest.approx(hook + 3.0, abs=0.5)


@pytest.mark.parametrize("n,structured", [(12, False), (40, False), (350, False), (400, True), (700, False)])
def test_knn_affinity_is_librosas_recurrence_matrix(n, structured):
    """knn_affinity replaces librosa's recurrence_matrix(mode='affinity', metric='cosine', sym=True)
    for speed: the same links and values, on noise and on a song-like matrix of repeated blocks."""
    import librosa

    from bgmscope.prepare.recurrence import knn_affinity

    rng = np.random.default_rng(n)
    if structured:
        X = np.tile(rng.standard_normal((30, 50)), (1, n // 50)) + 0.01 * rng.standard_normal((30, n))
    else:
        X = rng.standard_normal((96, n)).astype(np.float32)
    X[:, 3] = 0.0  # a silent frame: cosine distance 1 to everything
    width, k = min(8, (n - 1) // 2 - 1), max(2, int(2 * np.sqrt(n)))
    ref = librosa.segment.recurrence_matrix(X, width=width, k=k, mode="affinity", metric="cosine", sym=True)
    got = knn_affinity(X, width=width, k=k)
    assert ((ref > 0) == (got > 0)).all()
    assert (got > 0).sum() > n  # a graph, not an empty matrix
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize("sr", [8000, 16000, 22050])
def test_fast_spectral_reductions_equal_their_dense_references(sr):
    """The song pass's sparse band and mel products, its RMS from the power spectrogram and its pooled
    means give what the dense products, librosa.feature.rms and librosa.util.sync give (the hook and
    the version signature are built on them)."""
    import librosa

    from bgmscope.prepare.hook import _mel_power, _pool_mean, _rms_from_power
    from bgmscope.prepare.signature import band_energies, band_matrix

    rng = np.random.default_rng(sr)
    S = np.abs(rng.standard_normal((1025, 2500))).astype(np.float32)
    W = band_matrix(sr)
    dense = np.concatenate([W @ S[:, i: i + 1000].astype(np.float64) ** 2 for i in range(0, 2500, 1000)], axis=1)
    np.testing.assert_allclose(band_energies(W, S, block=1000), dense, rtol=1e-12)
    P = S**2
    np.testing.assert_allclose(_mel_power(P, sr), librosa.feature.melspectrogram(S=P, sr=sr), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(_rms_from_power(P), librosa.feature.rms(S=S, frame_length=2048)[0], rtol=1e-5)
    for per in (1, 16, 2499, 4000):  # the last span is short, or the only one
        idx = np.arange(0, S.shape[1], per)
        np.testing.assert_allclose(_pool_mean(S[:12], idx), librosa.util.sync(S[:12], idx, aggregate=np.mean),
                                   rtol=1e-5)
