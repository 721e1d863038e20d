"""Tonal descriptors: chroma from the shared spectrogram, and key/mode with a strength.

Chroma is librosa's ``chroma_stft`` (power spectrum through the 12-bin chroma filterbank, each
frame scaled to max 1) at A440, without librosa's per-clip tuning estimate (a piptrack pass that
costs more than everything else here; a quarter-tone detuned master will smear between bins).
Key: the Temperley (Kostka-Payne) key profiles correlated with the clip's mean chroma over all 24
keys; the strength is the best Pearson correlation (-1..1). Krumhansl-Kessler's profiles were tried
first: they read a lone triad with rich harmonics as its relative or mediant key in 33 of 72 cases
(C-E-G as E minor), Temperley's in none.
"""

from __future__ import annotations

import numpy as np

from .spectrum import Spectrogram, chroma_filterbank

PITCH_CLASSES = ("c", "cs", "d", "ds", "e", "f", "fs", "g", "gs", "a", "as", "b")
KEY_LABELS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
MINOR = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])


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
    xz = (x - x.mean()) / x.std()
    r = _profiles() @ xz / 12.0  # Pearson correlation with each of the 24 keys
    k = int(np.argmax(r))  # ties go to the first: major before minor, C before C#
    return k % 12, ("major", "minor")[k // 12], float(r[k])


def _profiles() -> np.ndarray:
    """The 24 z-scored key profiles: rows 0..11 major on C..B, 12..23 minor."""
    global _PROFILES
    if _PROFILES is None:
        rows = [np.roll(prof, t) for prof in (MAJOR, MINOR) for t in range(12)]
        _PROFILES = np.array([(p - p.mean()) / p.std() for p in rows])
    return _PROFILES


_PROFILES: np.ndarray | None = None


def key_label(tonic: int, mode: str) -> str:
    return f"{KEY_LABELS[int(tonic) % 12]} {mode}"
