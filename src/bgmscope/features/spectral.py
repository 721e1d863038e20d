"""Spectral descriptors computed from one shared :class:`~.spectrum.Spectrogram`.

Each function takes ``spec`` (what ``spectrum.stft`` returns) and follows the definition of the
librosa function of the same name with its defaults, so the values agree with librosa frame by
frame (see tests/test_features_agreement.py). All return arrays of shape (n_frames,) or
(k, n_frames); silent frames give 0, never NaN.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

from .spectrum import AMIN, Spectrogram, power_to_db

CONTRAST_FMIN = 100.0  # 7 bands (6 octaves from 100 Hz + the rest) fit below 8 kHz at 16 kHz
CONTRAST_BANDS = 6
N_MFCC = 20


def centroid(spec: Spectrogram) -> np.ndarray:
    """Magnitude-weighted mean frequency (Hz) per frame (librosa.feature.spectral_centroid)."""
    S = spec.S
    tot = S.sum(axis=0)
    num = spec.freqs.astype(np.float32) @ S
    return np.where(tot > 0, num / np.where(tot > 0, tot, 1.0), 0.0)


def bandwidth(spec: Spectrogram, cent: np.ndarray | None = None) -> np.ndarray:
    """Second-order spectral bandwidth (Hz) around the centroid (librosa.feature.spectral_bandwidth)."""
    S = spec.S
    cent = centroid(spec) if cent is None else cent
    tot = S.sum(axis=0)
    f = spec.freqs.astype(np.float64)
    # sum S (f - c)^2 = sum S f^2 - 2 c sum S f + c^2 sum S
    m1 = f.astype(np.float32) @ S
    m2 = (f * f).astype(np.float32) @ S
    var = (m2.astype(np.float64) - 2 * cent * m1 + cent * cent * tot) / np.where(tot > 0, tot, 1.0)
    return np.where(tot > 0, np.sqrt(np.maximum(var, 0.0)), 0.0)


def rolloff(spec: Spectrogram, roll_percent: float = 0.85) -> np.ndarray:
    """Lowest frequency (Hz) below which ``roll_percent`` of the magnitude lies (librosa)."""
    cs = np.cumsum(spec.S.T, axis=1)  # along contiguous memory (S is a frame-major view)
    thresh = roll_percent * cs[:, -1:]
    idx = np.argmax(cs >= thresh, axis=1)
    return spec.freqs[idx]


def rolloff_and_flux(spec: Spectrogram, roll_percent: float = 0.85) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rolloff` and :func:`flux` from one compiled pass over the frames."""
    from ._kernels import rolloff_flux

    M = spec.S.T  # frame-major, contiguous
    if not M.flags["C_CONTIGUOUS"]:
        M = np.ascontiguousarray(M)
    idx, fl = rolloff_flux(M, roll_percent)
    return spec.freqs[idx], fl


def flatness(spec: Spectrogram) -> np.ndarray:
    """Geometric over arithmetic mean of the power spectrum per frame, 0..1 (librosa)."""
    P = np.maximum(AMIN, spec.power)
    gmean = np.exp(np.log(P).mean(axis=0))
    return gmean / P.mean(axis=0)


def ltas_flatness(spec: Spectrogram) -> float:
    """Flatness of the clip's long-term average power spectrum (white noise -> ~1)."""
    P = np.maximum(AMIN, spec.power.mean(axis=1, dtype=np.float64))
    return float(np.exp(np.log(P).mean()) / P.mean())


def flux(spec: Spectrogram) -> np.ndarray:
    """Spectral flux: L2 norm of the positive change of the L1-normalised magnitude spectrum
    from the previous frame (scale-free, 0..sqrt(2)); frame 0 gets 0."""
    S = spec.S
    tot = S.sum(axis=0)
    N = S / np.where(tot > 0, tot, 1.0)
    out = np.zeros(S.shape[1])
    if S.shape[1] > 1:
        d = np.maximum(N[:, 1:] - N[:, :-1], 0.0)
        out[1:] = np.sqrt((d * d).sum(axis=0))
    return out


def contrast(spec: Spectrogram, *, fmin: float = CONTRAST_FMIN, n_bands: int = CONTRAST_BANDS,
             quantile: float = 0.02) -> np.ndarray:
    """Spectral contrast (dB), (n_bands + 1, n_frames), as librosa.feature.spectral_contrast:
    per octave band, the log ratio of the mean of the top and bottom ``quantile`` of bins."""
    S = spec.S
    freq = spec.freqs
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if octa[-1] >= spec.sr / 2:
        from ..errors import ParameterError

        raise ParameterError(f"contrast bands reach {octa[-1]:.0f} Hz, above Nyquist {spec.sr / 2:.0f}")
    valley = np.zeros((n_bands + 1, S.shape[1]), dtype=np.float64)
    peak = np.zeros_like(valley)
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:], strict=True)):
        idx = np.flatnonzero((freq >= f_low) & (freq <= f_high))
        i0, i1 = int(idx[0]), int(idx[-1]) + 1  # the band is a contiguous run of bins
        if k > 0:
            i0 -= 1
        if k == n_bands:
            i1 = freq.size
        q = max(int(np.rint(quantile * (i1 - i0))), 1)
        sub = S[i0:i1 - 1] if k < n_bands else S[i0:i1]
        m = sub.shape[0]
        if q == 1 or m == 1:  # the low bands hold few bins: the extremes are the quantile means
            valley[k] = sub.min(axis=0)
            peak[k] = sub.max(axis=0)
        else:
            # sort each frame's band along contiguous memory (S is a view of frame-major data);
            # numpy's partition with two kth values is ~10x slower than this plain sort
            srt = np.sort(sub.T, axis=1)
            valley[k] = srt[:, :q].mean(axis=1)
            peak[k] = srt[:, m - q:].mean(axis=1)
    return power_to_db(peak) - power_to_db(valley)


def mfcc(spec: Spectrogram, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs (n_mfcc, n_frames) of the log-mel power spectrum, DCT-II orthonormal (librosa)."""
    return scipy.fft.dct(spec.mel_db, type=2, axis=0, norm="ortho")[:n_mfcc]


def delta(x: np.ndarray, width: int = 9) -> np.ndarray:
    """First derivative along time (librosa.feature.delta: a first-order Savitzky-Golay filter).

    A first-order fit's slope is a fixed kernel, so this is one correlation; at each edge, as in
    savgol_filter's ``mode='interp'``, the first and last ``width // 2`` frames take the slope of
    the line fitted to the edge window."""
    n = x.shape[-1]
    if n < width:
        return np.zeros_like(x)
    h = width // 2
    k = np.arange(-h, h + 1, dtype=np.float64)
    kern = k / np.dot(k, k)
    x64 = x.astype(np.float64, copy=False)
    win = np.lib.stride_tricks.sliding_window_view(x64, width, axis=-1)  # (..., n - width + 1, width)
    slopes = win @ kern
    out = np.empty(x.shape, dtype=np.float64)
    out[..., h:n - h] = slopes
    out[..., :h] = slopes[..., :1]
    out[..., n - h:] = slopes[..., -1:]
    return out.astype(x.dtype, copy=False)
