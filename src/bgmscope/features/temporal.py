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


def _n_frames(n: int, frame_length: int, hop_length: int) -> int:
    return 1 + max(0, n + 2 * (frame_length // 2) - frame_length) // hop_length


def _bounds(n: int, frame_length: int, hop_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each centred frame's [start, end) in unpadded sample indices, clipped to [0, n]."""
    starts = np.arange(_n_frames(n, frame_length, hop_length)) * hop_length - frame_length // 2
    return np.clip(starts, 0, n), np.clip(starts + frame_length, 0, n)


def rms(y: np.ndarray, *, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Root mean square per frame (librosa.feature.rms(y=...): centred, zero padded).
    One running sum of squares: zero padding adds nothing, so frames are clipped instead."""
    cs = np.zeros(y.size + 1)
    np.cumsum(np.square(y, dtype=np.float64), out=cs[1:])
    a, b = _bounds(y.size, frame_length, hop_length)
    return np.sqrt(np.maximum((cs[b] - cs[a]) / frame_length, 0.0))


def _crossings_cumsum(y: np.ndarray, threshold: float) -> np.ndarray:
    """cs[i] = sign changes between consecutive samples among y[0..i-1] (cs[0] = cs[1] = 0)."""
    s = y < -threshold  # signbit after zeroing |x| <= threshold (0 counts as positive)
    cs = np.zeros(y.size + 1, dtype=np.int64)
    if y.size > 1:
        np.cumsum(s[1:] != s[:-1], out=cs[2:])
    return cs


def zero_crossing_rate(y: np.ndarray, *, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH,
                       threshold: float = 1e-10, _cs: np.ndarray | None = None) -> np.ndarray:
    """Share of sample pairs that change sign, per frame (librosa.feature.zero_crossing_rate:
    centred with edge padding, |x| <= 1e-10 counts as 0 and 0 counts as positive)."""
    n = y.size
    cs = _crossings_cumsum(y, threshold) if _cs is None else _cs
    # edge padding repeats the end samples, which adds no crossing: a frame counts the
    # crossings between its samples, i.e. at unpadded positions start+1 .. end-1
    a, b = _bounds(n, frame_length, hop_length)
    counts = cs[b] - cs[np.minimum(a + 1, n)] if n else np.zeros(a.size, dtype=np.int64)
    return np.maximum(counts, 0) / frame_length


def zero_crossings_per_second(y: np.ndarray, sr: int, *, _cs: np.ndarray | None = None) -> float:
    """The seed's per-clip count of sign changes, as a rate (crossings per second)."""
    if y.size < 2:
        return 0.0
    cs = _crossings_cumsum(y, 1e-10) if _cs is None else _cs
    return float(cs[-1]) / (y.size / sr)


def rms_zcr(y: np.ndarray, sr: int, *, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """(rms per frame, zero-crossing rate per frame, crossings per second) from one compiled
    pass over the clip; equal to :func:`rms`, :func:`zero_crossing_rate` and
    :func:`zero_crossings_per_second`."""
    from ._kernels import prefix_energy_crossings

    n = y.size
    e, z = prefix_energy_crossings(y, 1e-10)
    a, b = _bounds(n, frame_length, hop_length)
    r = np.sqrt(np.maximum((e[b] - e[a]) / frame_length, 0.0))
    counts = z[b] - z[np.minimum(a + 1, n)] if n else np.zeros(a.size, dtype=np.int64)
    zcr = np.maximum(counts, 0) / frame_length
    per_s = float(z[-1]) / (n / sr) if n >= 2 else 0.0
    return r, zcr, per_s
