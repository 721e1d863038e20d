"""Tonal descriptors: chroma from the shared spectrogram, and key/mode with a strength.

Chroma is librosa's ``chroma_stft`` (power spectrum through the 12-bin chroma filterbank, each
frame scaled to max 1) at A440, without librosa's per-clip tuning estimate (a piptrack pass that
costs more than everything else here; a quarter-tone detuned master will smear between bins).
Key: the Krumhansl-Kessler profiles correlated with the clip's mean chroma over all 24 keys;
the strength is the best Pearson correlation (-1..1).
"""

from __future__ import annotations

import numpy as np

from .spectrum import Spectrogram, chroma_filterbank

PITCH_CLASSES = ("c", "cs", "d", "ds", "e", "f", "fs", "g", "gs", "a", "as", "b")
KEY_LABELS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def chroma(spec: Spectrogram) -> np.ndarray:
    """(12, n_frames) chroma, index 0 = C; silent frames stay 0."""
    raw = chroma_filterbank(spec.sr, spec.n_fft) @ spec.power
    mx = raw.max(axis=0)
    return raw / np.where(mx > 1e-20, mx, 1.0)


def estimate_key(mean_chroma: np.ndarray) -> tuple[int, str, float]:
    """(tonic pitch class 0..11, 'major' | 'minor', strength) of a 12-bin chroma profile.

    Examples
    --------
    >>> c = np.zeros(12); c[[0, 4, 7]] = 1.0  # C E G
    >>> estimate_key(c)[:2]
    (0, 'major')
    """
    x = np.asarray(mean_chroma, dtype=np.float64)
    if x.shape != (12,) or not np.isfinite(x).all() or x.std() <= 1e-12:
        return 0, "major", 0.0
    best = (-2.0, 0, "major")
    xz = (x - x.mean()) / x.std()
    for mode, prof in (("major", MAJOR), ("minor", MINOR)):
        for tonic in range(12):
            p = np.roll(prof, tonic)
            r = float(np.mean(xz * (p - p.mean()) / p.std()))
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2], best[0]


def key_label(tonic: int, mode: str) -> str:
    return f"{KEY_LABELS[int(tonic) % 12]} {mode}"
