"""Integrated loudness (LUFS, ITU-R BS.1770-4) and loudness dynamics.

K-weighting is the standard's two biquads (a +4 dB high shelf and a 38 Hz high pass), derived
for any sample rate from their analogue parameters (as pyloudnorm does), then 400 ms blocks with
75 % overlap, the absolute gate at -70 LUFS and the relative gate 10 LU below. Silence has no
loudness; it is reported as the floor, -70 LUFS, so the value stays finite.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.signal

LUFS_FLOOR = -70.0


@lru_cache(maxsize=8)
def k_weighting(sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Second-order sections of the K-weighting filter at ``sr``."""
    def shelf(G: float, Q: float, fc: float):
        A = 10 ** (G / 40.0)
        w0 = 2 * np.pi * fc / sr
        alpha = np.sin(w0) / (2 * Q)
        c = np.cos(w0)
        b = [A * ((A + 1) + (A - 1) * c + 2 * np.sqrt(A) * alpha),
             -2 * A * ((A - 1) + (A + 1) * c),
             A * ((A + 1) + (A - 1) * c - 2 * np.sqrt(A) * alpha)]
        a = [(A + 1) - (A - 1) * c + 2 * np.sqrt(A) * alpha,
             2 * ((A - 1) - (A + 1) * c),
             (A + 1) - (A - 1) * c - 2 * np.sqrt(A) * alpha]
        return b, a

    def highpass(Q: float, fc: float):
        w0 = 2 * np.pi * fc / sr
        alpha = np.sin(w0) / (2 * Q)
        c = np.cos(w0)
        return [(1 + c) / 2, -(1 + c), (1 + c) / 2], [1 + alpha, -2 * c, 1 - alpha]

    sos = []
    for b, a in (shelf(3.99984385397, 0.7071752369554193, 1681.974450955533),
                 highpass(0.5003270373253953, 38.13547087613982)):
        sos.append(np.r_[np.array(b) / a[0], np.array(a) / a[0]])
    return np.array(sos)


def integrated_loudness(y: np.ndarray, sr: int) -> float:
    """Gated integrated loudness of a mono signal in LUFS (floor -70).

    Examples
    --------
    >>> sr = 48000; t = np.arange(sr * 3) / sr
    >>> round(integrated_loudness(np.sin(2 * np.pi * 997 * t), sr), 1)  # 0 dBFS sine, mono
    -3.0
    """
    if y.size == 0:
        return LUFS_FLOOR
    z = scipy.signal.sosfilt(k_weighting(int(sr)), y.astype(np.float64))
    block, step = int(round(0.4 * sr)), int(round(0.1 * sr))
    if z.size < block:
        ms = np.array([np.mean(z * z)])
    else:
        cs = np.concatenate([[0.0], np.cumsum(z * z)])
        starts = np.arange(0, z.size - block + 1, step)
        ms = (cs[starts + block] - cs[starts]) / block
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(ms)
    gated = ms[lk > LUFS_FLOOR]
    if gated.size == 0:
        return LUFS_FLOOR
    rel = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    gated = ms[(lk > LUFS_FLOOR) & (lk > rel)]
    if gated.size == 0:
        return LUFS_FLOOR
    return float(max(LUFS_FLOOR, -0.691 + 10 * np.log10(gated.mean())))


def db_range(rms: np.ndarray, *, floor_db: float = -100.0) -> float:
    """Loudness dynamics: 95th minus 5th percentile of frame RMS in dB (0 for silence)."""
    if rms.size == 0 or float(rms.max()) <= 0:
        return 0.0
    db = 20 * np.log10(np.maximum(rms, 10 ** (floor_db / 20)))
    p5, p95 = np.percentile(db, [5, 95])
    return float(p95 - p5)
