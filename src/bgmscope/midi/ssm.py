"""Beat-synchronous self-similarity matrices (SSM) and a repetition score.

Features per beat: a pitch-class profile from a MIDI (piano roll folded to 12 classes), and chroma
(the melody's semitone CQT folded to 12 classes) and MFCC from audio. ``self_similarity`` gives cosine similarity in [0, 1]. The repetition score
of a song is the share of its beats that recur later: beat ``i`` recurs when some beat ``j`` at
least ``min_lag`` beats later starts a stretch of ``length`` beats whose features match beat
``i``'s stretch with a mean similarity of at least ``tau`` (a diagonal stripe in the SSM). This
puts a number on the seed's claim that hit songs repeat their chorus.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import pretty_midi

from ..errors import ParameterError
from .melody import check_audio
from .spectra import SongSpectra


def _check_beats(beat_times: np.ndarray) -> np.ndarray:
    b = np.asarray(beat_times, float)
    if b.ndim != 1 or len(b) < 2:
        raise ParameterError("need at least two beat times")
    if np.any(np.diff(b) <= 0):
        raise ParameterError("beat times must increase")
    return b


def midi_beat_features(pm: pretty_midi.PrettyMIDI, beat_times: np.ndarray | None = None,
                       *, fs: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Pitch-class profile per beat (12, n_beats) of the pitched instruments, and the beat times.

    ``beat_times`` default to the MIDI's own beat grid (its tempo map).
    """
    beats = _check_beats(pm.get_beats() if beat_times is None else beat_times)
    pitched = [i for i in pm.instruments if not i.is_drum and i.notes]
    if not pitched:
        raise ParameterError("the MIDI has no pitched notes")
    pc = pm.get_chroma(fs=fs)  # pitch classes of every non-drum instrument, sustain pedal applied
    frames = np.clip((beats * fs).astype(int), 0, pc.shape[1])
    F = librosa.util.sync(pc, frames, aggregate=np.mean, pad=False)
    return F[:, : len(beats) - 1] if F.shape[1] >= len(beats) else F, beats


def audio_beat_features(y: np.ndarray | None, sr: int, beat_times: np.ndarray, *,
                        spectra: SongSpectra | None = None) -> dict[str, np.ndarray]:
    """Beat-synchronous ``chroma`` (12, n) and ``mfcc`` (12, n; c1..c12, c0 dropped) of ``y``.

    The chroma is the melody's CQT folded to pitch classes (hop ``HOP``), the MFCC comes from the
    hop-512 mel spectrogram the beat tracker reads; both are the medians over each beat. Give the
    song's ``spectra`` to reuse them (``y`` may then be None).
    """
    beats = _check_beats(beat_times)
    if spectra is None:
        if y is None:
            raise ParameterError("audio_beat_features needs y or spectra")
        spectra = SongSpectra(check_audio(y, sr), sr)
    n = len(beats) - 1
    out = {}
    for name, F, hop in (("chroma", spectra.chroma, spectra.stft.hop_length),
                         ("mfcc", spectra.mfcc, spectra.beat_spec.hop_length)):
        frames = np.clip(librosa.time_to_frames(beats, sr=spectra.sr, hop_length=hop), 0, F.shape[1])
        S = librosa.util.sync(F, frames, aggregate=np.median, pad=False)
        out[name] = S[:, :n]
    return out


def self_similarity(F: np.ndarray, *, standardize: bool = False) -> np.ndarray:
    """Cosine self-similarity (n, n) in [0, 1] of the columns of ``F`` (d, n).

    ``standardize`` centres and scales each row first (for MFCC, whose sign is meaningful); the
    cosine in [-1, 1] is then mapped to [0, 1].
    """
    F = np.asarray(F, float)
    if F.ndim != 2 or F.shape[1] < 1:
        raise ParameterError(f"features must be (d, n) with n >= 1, got {F.shape}")
    if standardize:
        F = (F - F.mean(axis=1, keepdims=True)) / (F.std(axis=1, keepdims=True) + 1e-9)
    norm = np.linalg.norm(F, axis=0)
    G = F / np.where(norm > 0, norm, 1.0)
    S = G.T @ G
    if standardize:
        S = (S + 1) / 2
    S[norm == 0, :] = 0
    S[:, norm == 0] = 0
    return np.clip(S, 0, 1)


def stripe_similarity(S: np.ndarray, length: int) -> np.ndarray:
    """Mean of ``S`` along diagonals over ``length`` steps: high where whole passages repeat."""
    n = S.shape[0]
    if length <= 1 or n < length:
        return S.copy()
    out = np.zeros_like(S)
    for k in range(length):
        out[: n - k, : n - k] += S[k:, k:]
    valid = n - length + 1
    out[valid:, :] = 0
    out[:, valid:] = 0
    return out / length


@dataclass(frozen=True)
class Repetition:
    score: float  # share of beats (that can recur) which recur later, 0..1
    mean_best: float  # mean over beats of the best later stripe similarity
    n_beats: int


def repetition_score(S: np.ndarray, *, length: int = 8, min_lag: int = 8, tau: float = 0.9) -> Repetition:
    """How much of a song returns later (see the module docstring)."""
    S = np.asarray(S, float)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ParameterError("S must be square")
    n = S.shape[0]
    if n < length + min_lag:
        raise ParameterError(f"need at least {length + min_lag} beats for a repetition score, got {n}")
    P = stripe_similarity(S, length)
    valid = n - length + 1
    best = np.zeros(valid - min_lag)
    for i in range(valid - min_lag):
        best[i] = P[i, i + min_lag: valid].max()
    return Repetition(float(np.mean(best >= tau)), float(best.mean()), n)
