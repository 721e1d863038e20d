"""Time-domain descriptors: normalised waveform and envelope (seed 3.3.1.1), zero-crossing rate
(seed 3.3.1.3) and RMS energy, framed exactly as librosa frames them (2048 / 512, centred).
Running sums make them O(n) instead of O(n * frame_length)."""

from __future__ import annotations

import numpy as np

from .spectrum import HOP_LENGTH, N_FFT, check_signal


def normalized_waveform(y: np.ndarray) -> np.ndarray:
    """The seed's waveform: samples divided by the peak magnitude (silence stays 0)."""
    y = np.asarray(y, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y / peak if peak > 0 else np.zeros_like(y)


def envelope(y: np.ndarray, sr: int, *, points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plotting envelope: (times s, min, max) of the normalised waveform over ``points`` blocks."""
    y = normalized_waveform(check_signal(y, sr))
    n = max(1, min(points, y.size))
    if y.size == 0:
        z = np.zeros(0)
        return z, z, z
    edges = np.linspace(0, y.size, n + 1).astype(int)
    lo = np.minimum.reduceat(y, edges[:-1])
    hi = np.maximum.reduceat(y, edges[:-1])
    times = (edges[:-1] + edges[1:]) / 2 / sr
    return times, lo, hi


def _frame_sums(v: np.ndarray, frame_length: int, hop_length: int, n_frames: int) -> np.ndarray:
    cs = np.concatenate([[0.0], np.cumsum(v, dtype=np.float64)])
    starts = np.arange(n_frames) * hop_length
    ends = np.minimum(starts + frame_length, v.size)
    return cs[ends] - cs[np.minimum(starts, v.size)]


def _n_frames(n: int, frame_length: int, hop_length: int) -> int:
    return 1 + max(0, n + 2 * (frame_length // 2) - frame_length) // hop_length


def rms(y: np.ndarray, *, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Root mean square per frame (librosa.feature.rms(y=...): centred, zero padded)."""
    pad = frame_length // 2
    yp = np.pad(y.astype(np.float64), pad)
    n = _n_frames(y.size, frame_length, hop_length)
    return np.sqrt(np.maximum(_frame_sums(yp * yp, frame_length, hop_length, n) / frame_length, 0.0))


def zero_crossing_rate(y: np.ndarray, *, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH,
                       threshold: float = 1e-10) -> np.ndarray:
    """Share of sample pairs that change sign, per frame (librosa.feature.zero_crossing_rate:
    edge padding, |x| <= 1e-10 counts as 0 and 0 counts as positive)."""
    pad = frame_length // 2
    yp = np.pad(y, pad, mode="edge") if y.size else np.zeros(2 * pad, np.float32)
    s = yp < -threshold  # signbit after zeroing |x| <= threshold
    n = _n_frames(y.size, frame_length, hop_length)
    # a frame [a, a+L) counts crossings at a+1 .. a+L-1 (librosa: pad=False)
    cs = np.zeros(yp.size + 1, dtype=np.int64)
    np.cumsum(s[1:] != s[:-1], out=cs[2:])
    starts = np.arange(n) * hop_length
    ends = np.minimum(starts + frame_length, yp.size)
    return (cs[ends] - cs[np.minimum(starts + 1, yp.size)]) / frame_length


def zero_crossings_per_second(y: np.ndarray, sr: int) -> float:
    """The seed's per-clip count of sign changes, as a rate (crossings per second)."""
    if y.size < 2:
        return 0.0
    s = y < -1e-10
    return float(np.count_nonzero(s[1:] != s[:-1])) / (y.size / sr)
