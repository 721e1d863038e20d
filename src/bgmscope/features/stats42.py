"""The 42 statistics of the seed (section 4.3.1), after Christian Peccei's *musicmap*.

For the signal smoothed by block means over windows of 1, 10, 100 and 1000 samples, the mean,
standard deviation, skewness and kurtosis of the smoothed series (``amp<w>...``) and of its first
difference (``amp<w>d...``): 32 values. Then 10 FFT band-power shares: the signal block-averaged
by 5, ``|FFT|`` bins 2 .. N/2, split into 10 near-equal bands, each band's share of the total
(``power1`` .. ``power10``, summing to 1).

Values are computed on the float signal (full scale = 1.0), not on 16-bit integers, so ``mean``
and ``std`` are in full-scale units. Skewness and kurtosis are the plain (non-excess) third and
fourth standardised moments, as the seed's ``TFeatures``. A constant (or silent) series has no
defined skewness or kurtosis: both are reported as 0, and silence gives power shares of 0, so the
vector never holds NaN or inf.
"""

from __future__ import annotations

import numpy as np

from .spectrum import check_signal

WINDOWS = (1, 10, 100, 1000)
MOMENTS = ("mean", "std", "skew", "kurt")
N_BANDS = 10
FFT_BLOCK = 5

STAT42_NAMES: tuple[str, ...] = (
    tuple(f"amp{w}{m}" for w in WINDOWS for m in MOMENTS)
    + tuple(f"amp{w}d{m}" for w in WINDOWS for m in MOMENTS)
    + tuple(f"power{i}" for i in range(1, N_BANDS + 1))
)
assert len(STAT42_NAMES) == 42

# a series whose std is below this (relative to full scale) counts as constant
_TINY = 1e-12


def moments(x: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, standard deviation, skewness and kurtosis (seed's ``TFeatures``), NaN-free.
    (Plain numpy; :func:`stats42` uses the compiled twin ``_kernels.moments4``.)"""
    if x.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    x = x.astype(np.float64, copy=False)
    n = x.size
    mean = float(x.mean())
    c = x - mean
    var = float(np.dot(c, c)) / n
    c2 = np.multiply(c, c, out=np.empty_like(c))
    std = var ** 0.5
    if std <= _TINY:
        return mean, 0.0, 0.0, 0.0
    # dot products: one fused pass each instead of a temporary per power
    skew = float(np.dot(c2, c)) / n / std ** 3
    kurt = float(np.dot(c2, c2)) / n / var ** 2
    return mean, std, skew, kurt


def block_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Means of consecutive blocks of ``w`` samples (a trailing partial block is dropped)."""
    if w == 1:
        return x
    n = (x.size // w) * w
    # a matrix-vector product: numpy's mean over a short last axis is ~8x slower
    return x[:n].reshape(-1, w) @ np.full(w, 1.0 / w)


def band_power_shares(y: np.ndarray, n_bands: int = N_BANDS, block: int = FFT_BLOCK) -> np.ndarray:
    """The seed's ``FFeatures``: shares of |FFT| (bins 2..N/2 of the 5-averaged signal) in 10 bands."""
    import scipy.fft

    x = block_mean(y.astype(np.float64, copy=False), block)
    out = np.zeros(n_bands)
    if x.size < 4:
        return out
    mag = np.abs(scipy.fft.rfft(x))[2:]  # rfft bins 0..N/2; the seed drops bins 0 and 1
    total = mag.sum()
    if not np.isfinite(total) or total <= 0:
        return out
    for i, band in enumerate(np.array_split(mag, n_bands)):
        out[i] = band.sum() / total
    return out


def stats42(y: np.ndarray, sr: int | None = None) -> np.ndarray:
    """The 42 statistics of a mono signal, in the order of :data:`STAT42_NAMES`.

    ``sr`` is accepted for symmetry with the other descriptors; the statistics are defined on
    samples (the seed works at 16 kHz), so compare clips at one sample rate.

    Examples
    --------
    >>> import numpy as np
    >>> v = stats42(np.zeros(16000, np.float32))
    >>> bool(np.all(v == 0))
    True
    """
    from ._kernels import diff_moments4, moments4

    y = check_signal(y, sr or 1)
    amp, diff = [], []
    prev, prev_w = y.astype(np.float64), 1
    for w in WINDOWS:
        # block means of block means: each window reuses the previous (equal blocks, so exact)
        xs = prev if w == 1 else block_mean(prev, w // prev_w)
        prev, prev_w = xs, w
        amp.extend(moments4(xs))
        diff.extend(diff_moments4(xs))
    v = np.array(amp + diff + list(band_power_shares(y)), dtype=np.float64)
    return np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)


def stats42_dict(y: np.ndarray, sr: int | None = None) -> dict[str, float]:
    return dict(zip(STAT42_NAMES, map(float, stats42(y, sr)), strict=True))
