"""Audio augmentations that change what should not matter to a genre: the room, the EQ, the dynamics,
the codec and the level. Every function keeps the length, returns finite float32 and takes its
randomness from the caller (:func:`random_chain` draws a chain from a seeded generator).

- :func:`room_reverb`: convolution with a synthetic room impulse response (exponentially decaying
  noise with a few early reflections, ``rt60`` seconds), mixed ``wet`` with the dry signal
- :func:`eq_tilt`: a spectral tilt of ``db_per_octave`` around 1 kHz (a dull or bright mix)
- :func:`compress`: a feed-forward compressor (RMS detector, attack/release smoothing)
- :func:`mp3_reencode`: an MP3 round trip at ``kbps`` through libsndfile's LAME encoder
- :func:`gain`: a level change in dB (clipped at full scale, as a hot master would be)
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, lfilter

from ..errors import ParameterError


def _check(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ParameterError(f"expected mono audio, got shape {y.shape}")
    return np.nan_to_num(y)


def _out(y: np.ndarray) -> np.ndarray:
    return np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def room_ir(sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: direct sound, 3-6 early reflections (5-40 ms), and a
    noise tail decaying by 60 dB in ``rt60`` s; unit energy."""
    if not 0.05 <= rt60 <= 5.0:
        raise ParameterError(f"rt60 must be in [0.05, 5] s, got {rt60}")
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    h = rng.normal(0, 1, n) * 10 ** (-3 * t / rt60)  # -60 dB at rt60
    h[: int(0.005 * sr)] = 0.0
    h *= 0.3
    h[0] = 1.0
    for _ in range(int(rng.integers(3, 7))):
        h[int(rng.uniform(0.005, 0.04) * sr)] += rng.uniform(0.2, 0.6) * rng.choice([-1, 1])
    return h / np.sqrt(np.sum(h ** 2))


def room_reverb(y: np.ndarray, sr: int, *, rt60: float = 0.5, wet: float = 0.4,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """``y`` in a synthetic room: ``(1 - wet) * dry + wet * reverberant``, level-matched to ``y``."""
    y = _check(y)
    if not 0.0 <= wet <= 1.0:
        raise ParameterError(f"wet must be in [0, 1], got {wet}")
    h = room_ir(sr, rt60, rng or np.random.default_rng(0))
    r = fftconvolve(y, h)[: len(y)]
    out = (1 - wet) * y + wet * r
    ry, ro = np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(out ** 2))
    return _out(out * (ry / ro) if ro > 0 else out)


def eq_tilt(y: np.ndarray, sr: int, *, db_per_octave: float = 3.0, pivot_hz: float = 1000.0) -> np.ndarray:
    """A linear-in-log-frequency gain of ``db_per_octave`` around ``pivot_hz`` (capped at +-18 dB),
    applied in the frequency domain; level-matched to ``y``."""
    y = _check(y)
    if abs(db_per_octave) > 12:
        raise ParameterError(f"db_per_octave must be within +-12, got {db_per_octave}")
    Y = np.fft.rfft(y)
    f = np.fft.rfftfreq(len(y), 1 / sr)
    g_db = np.clip(db_per_octave * np.log2(np.maximum(f, 20.0) / pivot_hz), -18, 18)
    out = np.fft.irfft(Y * 10 ** (g_db / 20), n=len(y))
    ry, ro = np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(out ** 2))
    return _out(out * (ry / ro) if ro > 0 else out)


def compress(y: np.ndarray, sr: int, *, threshold_db: float = -20.0, ratio: float = 4.0,
             attack_s: float = 0.005, release_s: float = 0.1, makeup: bool = True) -> np.ndarray:
    """Feed-forward compression: above ``threshold_db`` (dBFS of the smoothed level) the level is
    divided by ``ratio``; one-pole attack/release smoothing of the gain; makeup gain restores the
    input's RMS when ``makeup``."""
    y = _check(y)
    if ratio < 1 or attack_s <= 0 or release_s <= 0:
        raise ParameterError(f"ratio must be >= 1 and attack/release > 0, got {ratio}, {attack_s}, {release_s}")
    # level detector: RMS over ~10 ms
    a = np.exp(-1.0 / (0.01 * sr))
    env = np.sqrt(np.maximum(lfilter([1 - a], [1, -a], y ** 2), 1e-12))
    lvl = 20 * np.log10(env)
    gr = np.minimum(0.0, (threshold_db - lvl) * (1 - 1 / ratio))  # gain reduction (dB, <= 0)
    # attack when the reduction deepens, release when it recovers: a per-sample one-pole smoother
    att, rel = np.exp(-1.0 / (attack_s * sr)), np.exp(-1.0 / (release_s * sr))
    g = _smooth_gain(gr, att, rel)
    out = y * 10 ** (g / 20)
    if makeup:
        ry, ro = np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(out ** 2))
        out = out * (ry / ro) if ro > 0 else out
    return _out(np.clip(out, -1.0, 1.0))


def _smooth_gain(gr: np.ndarray, att: float, rel: float) -> np.ndarray:
    # block-wise: the smoother runs on a 64x decimated gain curve (fast in numpy), then interpolated
    step = 64
    coarse = gr[::step]
    out = np.empty_like(coarse)
    g = 0.0
    att_b, rel_b = att ** step, rel ** step
    for i, x in enumerate(coarse):
        c = att_b if x < g else rel_b
        g = c * g + (1 - c) * x
        out[i] = g
    return np.interp(np.arange(len(gr)), np.arange(len(coarse)) * step, out)


def mp3_reencode(y: np.ndarray, sr: int, *, kbps: int = 128) -> np.ndarray:
    """An MP3 round trip at a constant ``kbps`` through libsndfile's LAME encoder; the codec delay is
    removed by aligning the decode to the input, and the length is kept. Rates below 32 kHz are
    MPEG-2 layer III, whose bitrates run 8-160 kbps (MPEG-1: 32-320)."""
    y = _check(y)
    lo, hi = (32, 320) if sr >= 32000 else (8, 160)
    if not lo <= kbps <= hi:
        raise ParameterError(f"kbps must be in [{lo}, {hi}] at {sr} Hz, got {kbps}")
    if "MP3" not in sf.available_formats():
        raise ParameterError("this libsndfile cannot write MP3 (needs libsndfile >= 1.1 with LAME)")
    buf = io.BytesIO()
    # libsndfile maps compression level 0..1 (about linearly) onto the CBR bitrates, high to low
    level = float(np.clip((hi - kbps) / (hi - lo), 0.0, 0.98))
    sf.write(buf, np.clip(y, -1, 1), sr, format="MP3", subtype="MPEG_LAYER_III",
             compression_level=level, bitrate_mode="CONSTANT")
    buf.seek(0)
    z, _ = sf.read(buf, dtype="float64")
    z = z.mean(axis=1) if z.ndim == 2 else z
    # encoder/decoder delay: the lag (0..4096 samples) that best aligns the decode with the input
    n = min(len(y), len(z), sr * 2)
    lag = 0
    if n > 0:
        c = fftconvolve(z[: n + 4096], y[:n][::-1])[n - 1: n - 1 + 4097]
        lag = int(np.argmax(c)) if c.size else 0
    z = z[lag:]
    z = np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)]
    return _out(z)


def gain(y: np.ndarray, db: float) -> np.ndarray:
    """``y`` scaled by ``db`` decibels and clipped to [-1, 1]."""
    return _out(np.clip(_check(y) * 10 ** (db / 20), -1.0, 1.0))


def random_chain(y: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A random augmentation chain of ``y``: each effect applied with a probability, parameters
    drawn from ``rng``; returns the audio and the drawn parameters (for the manifest).

    Order as in a production: room, EQ, compression, level, codec.
    """
    p: dict = {}
    out = _check(y)
    if rng.random() < 0.6:
        p["rt60"], p["wet"] = round(float(rng.uniform(0.2, 1.2)), 2), round(float(rng.uniform(0.15, 0.5)), 2)
        out = room_reverb(out, sr, rt60=p["rt60"], wet=p["wet"], rng=rng)
    if rng.random() < 0.7:
        p["tilt_db_oct"] = round(float(rng.uniform(-4, 4)), 1)
        out = eq_tilt(out, sr, db_per_octave=p["tilt_db_oct"])
    if rng.random() < 0.5:
        p["comp_thr_db"], p["comp_ratio"] = round(float(rng.uniform(-30, -12)), 1), round(float(rng.uniform(2, 8)), 1)
        out = compress(out, sr, threshold_db=p["comp_thr_db"], ratio=p["comp_ratio"])
    p["gain_db"] = round(float(rng.uniform(-12, 3)), 1)
    out = gain(out / max(float(np.max(np.abs(out))), 1e-9) * 0.9, p["gain_db"])
    if rng.random() < 0.5:
        p["mp3_kbps"] = int(rng.choice([32, 48, 64, 96, 128]))
        out = mp3_reencode(out, sr, kbps=p["mp3_kbps"])
    return _out(out), p
