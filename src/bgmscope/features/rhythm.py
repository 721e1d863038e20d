"""Rhythm: onset strength, onsets, tempo with a confidence, and beats (the 卡点 quality).

The onset envelope is librosa's (mean positive difference of the log-mel spectrogram), computed
from the clip's shared spectrogram. Tempo (:func:`estimate_tempo_full`): the envelope's
autocorrelation peaks give the dominant periodicities; their metrical relatives (1/3 ... 3 times)
are scored by an ideal pulse train over the whole clip, weighted by a log-normal prior around
120 BPM (as librosa). The confidence multiplies pulse clarity, the margin over the best other
metrical level and the agreement of 6 s windows; a stored tempo below :data:`MIN_CONFIDENCE` is
NaN. Beats: Ellis's (2007) dynamic programme, and the final tempo comes from the mean of the
regular inter-beat intervals, which is finer than one frame (a 120 BPM click track reads 120.0,
not 117 or 125).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from ..errors import ParameterError
from .spectrum import HOP_LENGTH, N_FFT, Spectrogram, check_signal, stft

START_BPM = 120.0
STD_BPM = 1.0  # octaves
MIN_BPM, MAX_BPM = 30.0, 300.0
TIGHTNESS = 100.0
# below this tempo_confidence the stored tempo_bpm is NaN (missing), so stats and descriptions
# skip it; set on development clips (bench/tempo.py --seed 7), measured by bench/tempo.py
MIN_CONFIDENCE = 0.4


@dataclass
class BeatResult:
    """``tempo_bpm`` and its ``confidence`` (0..1), ``beat_times`` and ``onset_times`` (s)."""

    tempo_bpm: float
    confidence: float
    beat_times: np.ndarray
    onset_times: np.ndarray
    beat_strength: float = 0.0  # mean onset strength on beats / mean onset strength (>1: on the beat)
    regularity: float = 0.0  # coefficient of variation of the inter-beat intervals (0 = metronomic)


def onset_strength(spec: Spectrogram) -> np.ndarray:
    """librosa's onset envelope (``onset_strength`` defaults) from a shared spectrogram."""
    m = spec.mel_db
    if m.shape[1] < 2:
        return np.zeros(m.shape[1])
    env = np.maximum(0.0, m[:, 1:] - m[:, :-1]).mean(axis=0)
    pad = 1 + spec.n_fft // (2 * spec.hop_length)  # librosa's alignment of a centred STFT
    env = np.concatenate([np.zeros(pad), env])[: m.shape[1]]
    return env.astype(np.float64)


def onset_frames(env: np.ndarray, sr: int, hop_length: int = HOP_LENGTH, *, delta: float = 0.07,
                 wait_s: float = 0.03) -> np.ndarray:
    """Peak-picked onsets (frame indices): local maxima over +-~90 ms that stand ``delta`` above
    the mean of the preceding ~100 ms of the min-max normalised envelope."""
    if env.size < 3:
        return np.zeros(0, dtype=int)
    lo, hi = float(env.min()), float(env.max())
    if hi - lo <= 1e-12:
        return np.zeros(0, dtype=int)
    x = (env - lo) / (hi - lo)
    fps = sr / hop_length
    w_max = max(1, int(round(0.09 * fps)))
    w_avg = max(1, int(round(0.1 * fps)))
    local_max = scipy.ndimage.maximum_filter1d(x, 2 * w_max + 1, mode="constant") == x
    avg = scipy.ndimage.uniform_filter1d(x, w_avg + 1, origin=w_avg // 2, mode="nearest")
    peaks = np.flatnonzero(local_max & (x >= avg + delta) & (x > 0))
    wait = max(1, int(round(wait_s * fps)))
    keep, last = [], -wait - 1
    for p in peaks:
        if p - last > wait:
            keep.append(p)
            last = p
    return np.asarray(keep, dtype=int)


def pulse_score(env: np.ndarray, period: float) -> float:
    """Mean envelope on an ideal pulse train of (fractional) ``period`` frames, best phase.

    Pulse positions are rounded one by one, so a period of 12.5 frames lands on 0, 12 (or 13),
    25, ... exactly as a real beat sampled at the frame rate does; the autocorrelation instead
    splits such a period between two lags and prefers its double."""
    n = env.size
    if period < 1 or n < period * 2:
        return 0.0
    phases = np.arange(int(np.ceil(period)))[:, None]
    k = np.arange(int((n - 1) // period) + 1)[None, :]
    idx = np.rint(phases + k * period).astype(int)
    valid = idx < n
    vals = np.where(valid, env[np.minimum(idx, n - 1)], 0.0)
    return float((vals.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)).max())


LEVELS = (1 / 3, 1 / 2, 2 / 3, 1.0, 3 / 2, 2.0, 3.0)  # metrical relatives of a periodicity peak
WINDOW_S, WINDOW_HOP_S = 6.0, 3.0  # windows whose local choice checks the clip's
MARGIN_FULL = 0.3


def _prior(bpm: np.ndarray) -> np.ndarray:
    """The log-normal tempo prior (START_BPM, STD_BPM octaves) at each of ``bpm``."""
    return np.exp(-0.5 * ((np.log2(bpm) - np.log2(START_BPM)) / STD_BPM) ** 2)


@dataclass
class TempoEstimate:
    """``tempo_bpm`` (0 when no pulse), ``confidence`` 0..1 and the parts it is made of."""

    tempo_bpm: float
    confidence: float
    clarity: float = 0.0      # normalised autocorrelation at the period (pulse clarity)
    margin: float = 0.0       # 1 - (best other metrical level's score) / (the chosen one's)
    consistency: float = 0.0  # share of 6 s windows whose own choice is the clip's (within 4 %)


def _choose(env3: np.ndarray, periods: list[float], lo: float, hi: float, fps: float
            ) -> tuple[float, float, float]:
    """(best period, its weighted score, best weighted score of a period > 8 % away: another
    metrical level, not the same peak's flank) over ``periods`` and a +-0.5-frame grid."""
    from ._kernels import pulse_scores

    g = (np.asarray(periods, dtype=np.float64)[:, None] + np.array([-0.5, -0.25, 0.0, 0.25, 0.5])).ravel()
    g = g[(g >= lo) & (g <= hi)]
    if g.size == 0:
        return 0.0, 0.0, 0.0
    # every candidate's pulse-train support (the best-phase mean of the 3-frame envelope, so
    # off-beat pulses pull a too-short period down and a bar gains only its accents), in one
    # compiled pass (pulse_score is its plain twin), times the tempo prior
    sal = pulse_scores(np.ascontiguousarray(env3, dtype=np.float64), g)
    scored = sal * _prior(60.0 * fps / g)
    best_s = float(scored.max())
    best_p = float(g[scored == best_s].max())  # a tie goes to the longer period, as max((s, p)) did
    other = scored[np.abs(g / best_p - 1) > 0.08]
    return best_p, best_s, float(other.max()) if other.size else 0.0


def estimate_tempo_full(env: np.ndarray, sr: int, hop_length: int = HOP_LENGTH) -> TempoEstimate:
    """Tempo of an onset envelope, its metrical level decided over the whole clip, and a confidence.

    The envelope's autocorrelation gives the dominant periodicities (its 3 highest peaks); each
    peak's metrical relatives (:data:`LEVELS`: 1/3 ... 3 times the period) are candidate beat
    periods, scored by :func:`pulse_score` over the whole clip times a log-normal prior around
    120 BPM (1 octave). The confidence is the product of the pulse clarity (normalised
    autocorrelation at the period), the margin over the best candidate at another metrical level
    (divided by :data:`MARGIN_FULL`, capped at 1), and the share of 6 s windows (3 s hop) whose
    own choice among the same candidates agrees within 4 %: a clip whose pulse is weak, ambiguous
    between levels (a fast song's beat or its half), or changes gets a low one."""
    n = env.size
    fps = sr / hop_length
    max_lag = int(np.ceil(60.0 * fps / MIN_BPM))
    min_lag = max(1, int(np.floor(60.0 * fps / MAX_BPM)))
    x = env - env.mean()
    if n < 4 or float(np.dot(x, x)) <= 1e-12:
        return TempoEstimate(0.0, 0.0)
    f = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[: min(n, max_lag + 2)]
    ac = ac / ac[0]
    hi = min(max_lag, ac.size - 2)
    if hi <= min_lag:
        return TempoEstimate(0.0, 0.0)
    lags = np.arange(min_lag, hi + 1)
    a = ac[lags]
    is_peak = (a > ac[lags - 1]) & (a >= ac[lags + 1]) & (a > 0)
    if not is_peak.any():
        return TempoEstimate(0.0, 0.0)
    peaks = []
    for k in lags[is_peak][np.argsort(a[is_peak])[::-1][:3]]:
        y0, y1, y2 = ac[k - 1], ac[k], ac[k + 1]
        denom = y0 - 2 * y1 + y2
        peaks.append(k + (float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) if abs(denom) > 1e-12 else 0.0))
    periods = sorted({round(m * p0, 3) for p0 in peaks for m in LEVELS})
    # a beat split across two frames must count as much as one in a single frame
    env3 = np.convolve(env, np.ones(3), mode="same")
    best, best_s, other_s = _choose(env3, periods, min_lag, hi, fps)
    if best <= 0 or best_s <= 0:
        return TempoEstimate(0.0, 0.0)
    near = np.abs(np.arange(ac.size) - best) < 1.0
    clarity = float(np.clip(ac[near].clip(min=0).sum(), 0.0, 1.0))
    margin = float(np.clip(1.0 - other_s / best_s, 0.0, 1.0))
    win, step = int(round(WINDOW_S * fps)), int(round(WINDOW_HOP_S * fps))
    starts = range(0, max(1, n - win + 1), step) if n > win else [0]
    votes = [_choose(env3[s: s + win], periods, min_lag, hi, fps)[0] for s in starts]
    consistency = float(np.mean([v > 0 and abs(v / best - 1) <= 0.04 for v in votes]))
    # a margin of MARGIN_FULL or more is a clear metrical decision; below, confidence shrinks
    conf = float(np.clip(clarity * consistency * min(1.0, margin / MARGIN_FULL), 0.0, 1.0))
    return TempoEstimate(60.0 * fps / best, conf, clarity, margin, consistency)


def estimate_tempo(env: np.ndarray, sr: int, hop_length: int = HOP_LENGTH) -> tuple[float, float]:
    """(tempo in BPM, confidence 0..1) of an onset envelope; see :func:`estimate_tempo_full`."""
    est = estimate_tempo_full(env, sr, hop_length)
    return est.tempo_bpm, est.confidence


def _dp_beats(env: np.ndarray, period: float) -> np.ndarray:
    """Ellis's dynamic-programming beat tracker on an onset envelope; returns beat frames."""
    n = env.size
    sd = env.std(ddof=1) if n > 1 else 0.0
    if sd <= 1e-12 or period <= 0:
        return np.zeros(0, dtype=int)
    norm = env / sd
    p = float(period)
    w = np.exp(-0.5 * (np.arange(-int(p), int(p) + 1) * 32.0 / p) ** 2)
    local = np.convolve(norm, w, mode="same")
    lo_off, hi_off = int(round(2 * p)), max(1, int(round(p / 2)))
    offs = np.arange(-lo_off, -hi_off + 1)  # candidate previous beats, relative
    txwt = -TIGHTNESS * np.log(-offs / p) ** 2
    from ._kernels import dp_beats

    cum, back = dp_beats(local, lo_off, hi_off, txwt.astype(np.float64), float(0.01 * local.max()))
    # the last beat: the latest local maximum of the cumulative score above half its median
    peaks = np.flatnonzero((cum[1:-1] >= cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if peaks.size == 0:
        return np.zeros(0, dtype=int)
    good = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    beats = [int(good.max())]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.array(beats[::-1])
    # trim weak leading/trailing beats (silence or fade)
    strength = local[beats]
    ok = strength >= 0.5 * np.sqrt(np.mean(strength ** 2))
    if ok.any():
        beats = beats[np.argmax(ok): len(ok) - np.argmax(ok[::-1])]
    return beats


def beat_track(
    y: np.ndarray | None,
    sr: int,
    *,
    onset_envelope: np.ndarray | None = None,
    spec: Spectrogram | None = None,
    hop_length: int = HOP_LENGTH,
) -> BeatResult:
    """Tempo, beats and onsets of a clip.

    Give ``y`` (the STFT is computed here), or a shared ``spec``, or an ``onset_envelope``
    computed at ``hop_length``.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 16000; y = np.zeros(10 * sr, np.float32)
    >>> y[::sr // 2] = 1.0  # a click every 0.5 s
    >>> round(beat_track(y, sr).tempo_bpm)
    120
    """
    if onset_envelope is None:
        if spec is None:
            if y is None:
                raise ParameterError("beat_track needs y, spec or onset_envelope")
            spec = stft(check_signal(y, sr), sr, n_fft=N_FFT, hop_length=hop_length)
        hop_length = spec.hop_length
        env = onset_strength(spec)
    else:
        env = np.asarray(onset_envelope, dtype=np.float64)
        if env.ndim != 1 or not np.isfinite(env).all():
            raise ParameterError("onset_envelope must be a finite 1-D array")
    fps = sr / hop_length
    onsets = onset_frames(env, sr, hop_length) / fps
    tempo, conf = estimate_tempo(env, sr, hop_length)
    if tempo <= 0:
        return BeatResult(0.0, 0.0, np.zeros(0), onsets)
    beats = _dp_beats(env, 60.0 * fps / tempo)
    regularity = 0.0
    if beats.size >= 4:
        ibi = np.diff(beats).astype(float)
        med = np.median(ibi)
        steady = ibi[np.abs(ibi - med) <= 0.25 * med]
        if steady.size >= 3:
            tempo = 60.0 * fps / float(steady.mean())
        regularity = float(ibi.std() / ibi.mean())
    strength = 0.0
    if beats.size and env.mean() > 1e-12:
        strength = float(env[beats].mean() / env.mean())
    return BeatResult(float(tempo), conf, beats / fps, onsets, strength, regularity)


RHYTHM_NAMES = ("tempo_bpm", "tempo_confidence", "beat_strength", "beat_regularity", "beat_rate",
                "onset_rate")


def rhythm_summary(b: BeatResult, duration_s: float) -> dict[str, float]:
    """The rhythm descriptors of a clip; ``tempo_bpm`` is NaN when ``tempo_confidence`` is below
    :data:`MIN_CONFIDENCE` (a tempo the clip does not support is missing, not a value)."""
    d = max(duration_s, 1e-9)
    tempo = b.tempo_bpm if b.tempo_bpm > 0 and b.confidence >= MIN_CONFIDENCE else float("nan")
    return {"tempo_bpm": tempo, "tempo_confidence": b.confidence, "beat_strength": b.beat_strength,
            "beat_regularity": b.regularity, "beat_rate": b.beat_times.size / d,
            "onset_rate": b.onset_times.size / d}
