"""The seed's relative pitch curve (section 3.3.1.2), kept as the seed computes it.

The seed cuts the signal into blocks of 8000 samples, takes each block's ``rfft`` and reports
``sum((i + 1) * |X_i|) / len(X)``: a magnitude-weighted sum of bin indices divided by the number
of bins. That is not a pitch: it grows with loudness as much as with frequency. It is kept (as
``study_relpitch_*``) because the study's figures use it; beside it ``block_centroid_hz`` is the
same weighting normalised by the total magnitude, i.e. each block's spectral centroid in Hz.
(The seed also took every other sample, ``data[0::2]``, for stereo input; clips here are mono.)
"""

from __future__ import annotations

import numpy as np

BLOCK = 8000


def block_spectra(y: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """|rfft| of each whole block (a trailing partial block is dropped), shape (n_blocks, bins)."""
    n = (y.size // block) * block
    if n == 0:
        return np.zeros((0, block // 2 + 1))
    import scipy.fft

    return np.abs(scipy.fft.rfft(y[:n].reshape(-1, block), axis=1)).astype(np.float64)


def study_relative_pitch(y: np.ndarray, block: int = BLOCK, *, mags: np.ndarray | None = None) -> np.ndarray:
    """The seed's curve, one value per block (on the float signal; x32768 for the seed's scale)."""
    mags = block_spectra(y, block) if mags is None else mags
    if mags.shape[0] == 0:
        return np.zeros(0)
    w = np.arange(1, mags.shape[1] + 1)
    return mags @ w / mags.shape[1]


def block_centroid_hz(y: np.ndarray, sr: int, block: int = BLOCK, *, mags: np.ndarray | None = None) -> np.ndarray:
    """Magnitude-weighted mean frequency of each block in Hz (0 for a silent block)."""
    mags = block_spectra(y, block) if mags is None else mags
    if mags.shape[0] == 0:
        return np.zeros(0)
    freqs = np.fft.rfftfreq(block, 1.0 / sr)
    tot = mags.sum(axis=1)
    return np.where(tot > 0, mags @ freqs / np.where(tot > 0, tot, 1.0), 0.0)
