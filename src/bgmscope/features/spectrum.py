"""The one STFT a clip gets, and the filterbanks every spectral descriptor shares.

Framing follows librosa's defaults (``n_fft=2048``, ``hop_length=512``, periodic Hann window,
``center=True`` with zero padding), so frame ``t`` here is frame ``t`` of ``librosa.stft`` and the
descriptors can be checked against librosa's own functions frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.signal

from ..errors import ParameterError
from ..tasks import single_threaded  # noqa: F401 (re-exported: the features and midi code import it here)

N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
AMIN = 1e-10
TOP_DB = 80.0


def check_signal(y: np.ndarray, sr: int) -> np.ndarray:
    """Validate a mono signal at the boundary; returns it as contiguous float32."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"expected floating-point audio, got dtype {y.dtype}")
    if int(sr) <= 0:
        raise ParameterError(f"sample rate must be > 0, got {sr}")
    if y.size and not np.isfinite(y).all():
        raise ParameterError("audio holds non-finite samples (NaN or inf)")
    return np.ascontiguousarray(y, dtype=np.float32)


@lru_cache(maxsize=8)
def hann(n_fft: int) -> np.ndarray:
    return scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)


@lru_cache(maxsize=8)
def fft_frequencies(sr: int, n_fft: int) -> np.ndarray:
    return np.fft.rfftfreq(n_fft, 1.0 / sr)


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int = N_MELS) -> np.ndarray:
    """librosa's Slaney-normalised mel filterbank (n_mels, n_bins), built once per (sr, n_fft)."""
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


@lru_cache(maxsize=8)
def _mel_bands(sr: int, n_fft: int, n_mels: int = N_MELS):
    """The mel filterbank as contiguous bin runs (start, stop, flat weights, offsets): each
    triangle spans a few bins, so applying it costs ~1/60 of the dense product."""
    fb = mel_filterbank(sr, n_fft, n_mels)
    starts, stops, offsets, weights = [], [], [], []
    off = 0
    for row in fb:
        nz = np.flatnonzero(row)
        a, b = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
        starts.append(a)
        stops.append(b)
        offsets.append(off)
        weights.append(row[a:b])
        off += b - a
    return (np.array(starts, np.int64), np.array(stops, np.int64),
            np.concatenate(weights).astype(np.float32), np.array(offsets, np.int64))


def apply_mel(power: np.ndarray, sr: int, n_fft: int) -> np.ndarray:
    """mel_filterbank @ power for a (n_bins, n_frames) power spectrogram, via the band kernel."""
    from ._kernels import band_matmul, band_matmul_rows

    starts, stops, weights, offsets = _mel_bands(sr, n_fft)
    if power.flags["C_CONTIGUOUS"]:  # bin-major (as stft lays out the power): rows along frames
        return band_matmul_rows(power, starts, stops, weights, offsets)
    P = power.T
    if not P.flags["C_CONTIGUOUS"]:
        P = np.ascontiguousarray(P)
    return band_matmul(P, starts, stops, weights, offsets)


@lru_cache(maxsize=8)
def chroma_filterbank(sr: int, n_fft: int) -> np.ndarray:
    """librosa's 12-bin chroma filterbank (index 0 = C), tuned to A440."""
    import librosa

    return librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0, n_chroma=12).astype(np.float32)


def frame_signal(y: np.ndarray, frame_length: int, hop_length: int, *, pad_mode: str = "constant") -> np.ndarray:
    """Centred frames of ``y`` as a read-only (n_frames, frame_length) view (librosa framing)."""
    pad = frame_length // 2
    yp = np.pad(y, pad, mode=pad_mode)
    if yp.size < frame_length:
        yp = np.pad(yp, (0, frame_length - yp.size))
    n_frames = 1 + (yp.size - frame_length) // hop_length
    return np.lib.stride_tricks.as_strided(yp, (n_frames, frame_length),
                                           (yp.strides[0] * hop_length, yp.strides[0]), writeable=False)


def power_to_db(S: np.ndarray, *, ref: float = 1.0, amin: float = AMIN, top_db: float | None = TOP_DB) -> np.ndarray:
    """10 log10(S / ref), floored ``top_db`` below the array's peak, with this module's defaults."""
    import librosa

    return librosa.power_to_db(S, ref=ref, amin=amin, top_db=top_db)


@dataclass
class Spectrogram:
    """A clip's STFT magnitude, computed once and shared (``S`` has shape (n_bins, n_frames)).

    ``power`` (|X|^2), ``mel_power`` and ``mel_db`` are computed on first use and kept.
    """

    S: np.ndarray
    sr: int
    n_fft: int = N_FFT
    hop_length: int = HOP_LENGTH
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_frames(self) -> int:
        return self.S.shape[1]

    @property
    def freqs(self) -> np.ndarray:
        return fft_frequencies(self.sr, self.n_fft)

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n_frames) * (self.hop_length / self.sr)

    @property
    def power(self) -> np.ndarray:
        if "power" not in self._cache:
            self._cache["power"] = self.S * self.S
        return self._cache["power"]

    @property
    def mel_power(self) -> np.ndarray:
        if "mel" not in self._cache:
            self._cache["mel"] = apply_mel(self.power, self.sr, self.n_fft)
        return self._cache["mel"]

    @property
    def mel_db(self) -> np.ndarray:
        if "mel_db" not in self._cache:
            self._cache["mel_db"] = power_to_db(self.mel_power)
        return self._cache["mel_db"]


def stft(y: np.ndarray, sr: int, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> Spectrogram:
    """Magnitude STFT of a mono clip, librosa-compatible framing, float32, single-threaded FFT."""
    y = check_signal(y, sr)
    if n_fft < 16 or hop_length < 1:
        raise ParameterError(f"n_fft must be >= 16 and hop_length >= 1, got {n_fft}, {hop_length}")
    frames = frame_signal(y, n_fft, hop_length) * hann(n_fft)
    X = scipy.fft.rfft(frames, axis=1)  # (n_frames, n_bins), complex64 for float32 input
    from ._kernels import flush_power

    M = np.abs(X)
    # near-zero bins flushed to 0 (their squares would be float32 denormals, which slow BLAS
    # ~100x), and the power from the same pass
    P = flush_power(M, np.float32(1e-15))
    # (n_bins, n_frames) as librosa lays it out, but a view: memory stays frame-major, so the
    # per-frame reductions over bins run along contiguous memory
    spec = Spectrogram(M.T, int(sr), n_fft, hop_length)
    spec._cache["power"] = P  # equal to S * S, laid out bin-major (the mel rows add along frames)
    return spec
