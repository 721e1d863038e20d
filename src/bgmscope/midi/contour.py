"""The f0 contour and beat grid a transcription needs, taken from the features contract.

``bgmscope.features.pitch.f0_contour`` and ``bgmscope.features.rhythm.beat_track`` are the
project's shared descriptors; while the features area is not in the build, librosa's pYIN and
beat tracker (the same algorithms family) give objects of the same shape, so transcription does
not depend on the build order.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

HOP = 256  # 16 ms at 16 kHz: fine enough for a 50 ms onset tolerance


@dataclass(frozen=True)
class Contour:
    """An f0 contour: ``times`` (s), ``f0_hz`` (NaN unvoiced), ``voiced`` (bool), ``confidence``."""

    times: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class Beats:
    tempo_bpm: float
    confidence: float
    beat_times: np.ndarray
    onset_times: np.ndarray


def f0_contour(y: np.ndarray, sr: int, *, fmin: float = 65.0, fmax: float = 1100.0,
               hop_length: int = HOP) -> Contour:
    """The f0 contour of ``y`` (the features contract's, else librosa's pYIN)."""
    try:
        from ..features.pitch import f0_contour as shared
    except ImportError:
        shared = None
    if shared is not None:
        c = shared(y, sr, fmin=fmin, fmax=fmax, hop_length=hop_length)
        return Contour(np.asarray(c.times, float), np.asarray(c.f0_hz, float),
                       np.asarray(c.voiced, bool), np.asarray(c.confidence, float))
    frame = 2048 if sr <= 22050 else 4096
    f0, voiced, prob = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame,
                                    hop_length=hop_length, center=True)
    times = librosa.times_like(f0, sr=sr, hop_length=hop_length)
    return Contour(times, np.where(voiced, f0, np.nan), voiced.astype(bool), np.nan_to_num(prob))


def beat_track(y: np.ndarray, sr: int, *, onset_envelope: np.ndarray | None = None) -> Beats:
    """Tempo, beats and onsets of ``y`` (the features contract's, else librosa's)."""
    try:
        from ..features.rhythm import beat_track as shared
    except ImportError:
        shared = None
    if shared is not None:
        b = shared(y, sr, onset_envelope=onset_envelope)
        return Beats(float(b.tempo_bpm), float(b.confidence), np.asarray(b.beat_times, float),
                     np.asarray(b.onset_times, float))
    env = onset_envelope if onset_envelope is not None else librosa.onset.onset_strength(y=y, sr=sr,
                                                                                         hop_length=HOP)
    tempo, beats = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=HOP)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP, units="time")
    tempo = float(np.atleast_1d(tempo)[0])
    pulse = env[beats] if len(beats) else np.zeros(1)
    conf = float(np.clip(pulse.mean() / (env.mean() * 3 + 1e-9), 0, 1))
    return Beats(tempo, conf, librosa.frames_to_time(beats, sr=sr, hop_length=HOP), onsets)
