"""A fast f0 tracker (YIN, vectorised over frames) and the pitch summary of a clip.

YIN (de Cheveigné & Kawahara, 2002): the cumulative-mean-normalised difference function of each
frame, computed for all frames at once with one real FFT pair per frame; the period is the first
dip below ``threshold`` (else the deepest dip), refined by parabolic interpolation. A frame is
voiced when its dip is clear (aperiodicity below ``voicing_threshold``) and it is not near-silent.
A 7-frame (168 ms at the 24 ms hop) median over voiced runs removes the octave slips at note
changes.
This is the building block of librosa's pYIN without the Viterbi pass over many thresholds,
which is what makes it ~100x faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage

from ..errors import ParameterError
from .spectrum import check_signal, frame_signal


@dataclass
class F0Contour:
    """An f0 contour: ``times`` (s, frame centres), ``f0_hz`` (NaN where unvoiced),
    ``voiced`` (bool) and ``confidence`` (0..1, one minus YIN's aperiodicity)."""

    times: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return self.times.size


ANALYSIS_SR = 8000  # f0 needs no more: fmax 1100 Hz sits far below 4 kHz, and it halves the work


def _frame_length(sr: int, frame_s: float = 0.064) -> int:
    # ~64 ms: four periods of 65 Hz fit, short enough to follow a melody
    return int(2 ** np.ceil(np.log2(sr * frame_s)))


def f0_contour(
    y: np.ndarray,
    sr: int,
    *,
    fmin: float = 65.0,
    fmax: float = 1100.0,
    hop_length: int | None = None,
    threshold: float = 0.1,
    voicing_threshold: float = 0.25,
    silence_db: float = -50.0,
    analysis_sr: int | None = ANALYSIS_SR,
    median_frames: int = 7,
    frame_s: float = 0.064,
) -> F0Contour:
    """Track the fundamental frequency of a mono signal.

    Parameters
    ----------
    y, sr : mono float signal and its sample rate.
    fmin, fmax : search range in Hz (default C2 .. about C#6, the range of sung and lead lines).
    hop_length : frame step in samples of ``sr`` (default 24 ms; 384 at 16 kHz).
    threshold : YIN's absolute threshold for picking the first dip.
    voicing_threshold : frames whose best dip (aperiodicity) is above this are unvoiced.
    silence_db : frames quieter than this (dB below the clip's loudest frame) are unvoiced.
    analysis_sr : the signal is resampled to this rate first (soxr); None keeps ``sr``.
    median_frames : odd length of the median over voiced neighbours (1 = none); 7 frames (168 ms)
        remove the octave slips at note changes and keep notes of ~100 ms and longer.
    frame_s : analysis frame length in seconds (rounded up to a power of two in samples).

    Returns
    -------
    F0Contour (frames of ~64 ms centred on ``times``).

    Examples
    --------
    >>> import numpy as np
    >>> sr = 16000; t = np.arange(sr) / sr
    >>> c = f0_contour(np.sin(2 * np.pi * 220 * t).astype(np.float32), sr)
    >>> round(float(np.nanmedian(c.f0_hz)))
    220
    """
    y = check_signal(y, sr)
    if not 0 < fmin < fmax < sr / 2:
        raise ParameterError(f"need 0 < fmin < fmax < sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    hop_s = (hop_length / sr) if hop_length else 0.024
    if hop_s <= 0:
        raise ParameterError(f"hop_length must be >= 1, got {hop_length}")
    asr = int(sr)
    if analysis_sr and sr > analysis_sr and fmax < analysis_sr / 2.5:
        import soxr

        y = soxr.resample(y, sr, analysis_sr, quality="MQ").astype(np.float32, copy=False)
        asr = int(analysis_sr)
    L = _frame_length(asr, frame_s)
    hop = max(1, int(round(hop_s * asr)))
    # one lag of margin below the shortest period, so a dip right at fmax is still a local minimum
    min_lag = max(2, int(np.floor(asr / fmax)) - 1)
    max_lag = int(np.ceil(asr / fmin))
    if max_lag >= L - 2:
        raise ParameterError(f"fmin={fmin} Hz is too low for the {L}-sample frame at {asr} Hz")
    W = L - max_lag  # integration window
    frames = frame_signal(y, L, hop)
    n = frames.shape[0]
    times = np.arange(n) * (hop / asr)
    if n == 0 or y.size == 0:
        empty = np.zeros(0)
        return F0Contour(empty, empty, empty.astype(bool), empty)

    # r(tau) = sum_{j<W} x[j] x[j+tau]; a length-L circular correlation has no wrap for tau <= max_lag
    A = scipy.fft.rfft(frames[:, :W], n=L, axis=1)
    B = scipy.fft.rfft(frames, axis=1)
    r = scipy.fft.irfft(np.conj(A) * B, n=L, axis=1)[:, : max_lag + 1]
    # the shifted windows' energies come from one running sum over the padded signal
    yp = np.pad(y, L // 2)
    from ._kernels import yin_pick

    # difference function, cumulative mean normalisation, the dip and its parabolic refinement
    # (on the raw difference function: the normalised one is skewed by its running mean, +0.7 %
    # at 1 kHz), per frame in one compiled pass (:func:`_yin_numpy` is its plain twin)
    period, aper, e0 = yin_pick(np.ascontiguousarray(r, dtype=np.float32), yp, hop, W, min_lag,
                                float(threshold), float(voicing_threshold))
    f0 = asr / period

    energy = e0 / W
    peak = float(energy.max())
    if peak <= 1e-12:
        loud = np.zeros(n, dtype=bool)
    else:
        loud = energy > peak * 10 ** (silence_db / 10)
    voiced = loud & (aper < voicing_threshold) & (f0 >= fmin * 0.97) & (f0 <= fmax * 1.03)
    confidence = np.clip(1.0 - aper, 0.0, 1.0)
    confidence[~loud] = 0.0

    logf = _voiced_median(np.log2(np.where(voiced, f0, 1.0)), voiced, median_frames)
    f0_out = np.where(voiced, np.exp2(logf), np.nan)
    return F0Contour(times, f0_out, voiced, confidence)


def _yin_numpy(r: np.ndarray, C: np.ndarray, hop: int, W: int, min_lag: int, threshold: float,
               voicing_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain-numpy twin of ``_kernels.yin_pick`` (the tests compare them): (period in samples
    with its parabolic shift, aperiodicity, window energy) per frame."""
    n, m = r.shape
    max_lag = m - 1
    starts = (np.arange(n) * hop)[:, None]
    taus = np.arange(m)
    e0 = C[starts + W] - C[starts]
    d = np.maximum(e0 + (C[starts + taus + W] - C[starts + taus]) - 2.0 * r, 0.0)
    d[:, 0] = 0.0
    csum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = np.where(csum > 1e-12, d[:, 1:] * taus[1:] / csum, 1.0)
    seg = cmnd[:, min_lag:max_lag + 1]
    # local minima; the first below the threshold wins (avoids the octave-down error), else the
    # first below the voicing threshold (a frame straddling two notes has no deep dip, and its
    # deepest one is often a common multiple of both periods), else the deepest dip
    inner = np.zeros_like(seg, dtype=bool)
    inner[:, 1:-1] = (seg[:, 1:-1] <= seg[:, :-2]) & (seg[:, 1:-1] <= seg[:, 2:])
    cand = inner & (seg < threshold)
    cand2 = inner & (seg < voicing_threshold)
    idx = np.where(cand.any(axis=1), cand.argmax(axis=1),
                   np.where(cand2.any(axis=1), cand2.argmax(axis=1), seg.argmin(axis=1)))
    rows = np.arange(n)
    tau = idx + min_lag
    aper = cmnd[rows, tau]
    t_l = np.clip(tau - 1, 1, max_lag)
    t_r = np.clip(tau + 1, 1, max_lag)
    a, b, c = d[rows, t_l], d[rows, tau], d[rows, t_r]
    denom = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / denom, 0.0)
    return tau + np.clip(shift, -0.5, 0.5), aper, e0[:, 0]


def _voiced_median(x: np.ndarray, voiced: np.ndarray, k: int) -> np.ndarray:
    """Running median of ``x`` over ``k`` frames where unvoiced neighbours count as the centre."""
    if k < 1 or k % 2 == 0:
        raise ParameterError(f"median_frames must be odd and >= 1, got {k}")
    n = x.size
    if k == 1 or n < 3:
        return x
    h = k // 2
    xp = np.pad(x, h, mode="edge")
    vp = np.pad(voiced, h, constant_values=False)
    win = np.lib.stride_tricks.sliding_window_view(xp, k)
    vwin = np.lib.stride_tricks.sliding_window_view(vp, k)
    stack = np.where(vwin, win, x[:, None])
    return np.median(stack, axis=1)


def hz_to_midi(f: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.asarray(f, dtype=np.float64) / 440.0)


PITCH_NAMES = ("f0_voiced_ratio", "f0_median_hz", "f0_mean_midi", "f0_std_st", "f0_range_st",
               "f0_change_rate", "f0_confidence_mean")


def pitch_summary(c: F0Contour) -> dict[str, float]:
    """Clip-level pitch descriptors: share of voiced frames, median f0, spread and range in
    semitones (5th..95th percentile), note changes per voiced second, mean confidence.
    A clip with no voiced frame gets zeros."""
    out = dict.fromkeys(PITCH_NAMES, 0.0)
    n = len(c)
    if n == 0:
        return out
    out["f0_voiced_ratio"] = float(c.voiced.mean())
    out["f0_confidence_mean"] = float(c.confidence.mean())
    f = c.f0_hz[c.voiced]
    if f.size == 0:
        return out
    m = hz_to_midi(f)
    out["f0_median_hz"] = float(np.median(f))
    out["f0_mean_midi"] = float(m.mean())
    out["f0_std_st"] = float(m.std())
    p5, p95 = np.percentile(m, [5, 95])
    out["f0_range_st"] = float(p95 - p5)
    # a change: consecutive voiced frames whose rounded notes differ
    notes = np.rint(hz_to_midi(np.where(c.voiced, c.f0_hz, 1.0)))
    both = c.voiced[1:] & c.voiced[:-1]
    changes = int(np.sum((notes[1:] != notes[:-1]) & both))
    hop_s = float(c.times[1] - c.times[0]) if n > 1 else 0.0
    voiced_s = float(c.voiced.sum()) * hop_s
    out["f0_change_rate"] = changes / voiced_s if voiced_s > 0 else 0.0
    return out
