"""Whole-song signatures for ``similar``: short windows over the whole song, silence trimmed first.

A song's first 15 s clip says little about its middle, and leading silence shifts every clip. Here a
song becomes a set of windows (10 s every 1 s; a query's every 2.5 s) over all its audio after its leading and
trailing silence is trimmed (``librosa.effects.trim``). Each window is described by the mean and
standard deviation of frame descriptors that do not depend on the level: MFCC 1-19 (timbre; c0, the
loudness, left out), the 12 chroma bins (harmony) and the onset strength (the log-mel flux: rhythm).

Distance from a query Q to a catalog song S (:func:`set_distance`): for each query window the nearest
window of S, averaged over the query's windows, each window compared as the RMS difference of the
descriptors z-scored over the catalog's windows (0 = identical; two unrelated songs ≈ 1). It asks
"is every part of the query somewhere in S", so a 30 s cut of the middle of S is at distance ≈ 0 from
S wherever the cut starts (each of its windows is at most 0.5 s from one of S's), and a copy
with seconds of silence in front is S's windows again. It is not symmetric: a long song is near a
short cut of it, not the other way round.

Each catalog song's windows are cached in ``<data>/cache/similar/<sha256>-v<N>-...npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..fsutil import atomic_path

SIGNATURE_VERSION = 1  # bump when the descriptors or the trimming change
WINDOW_S = 10.0
HOP_S = 1.0            # catalog songs: a query window is at most 0.5 s from one of the song's
QUERY_HOP_S = 2.5      # the query's windows only need to sample it
TRIM_DB = 40.0         # below the song's loudest frame by this much at either end = silence
N_FFT, HOP = 2048, 512


@dataclass(frozen=True)
class WindowTask:
    """One song to describe (picklable for the worker pool)."""

    path: str
    sha256: str
    track_id: str
    sample_rate: int
    cache_dir: str | None
    window_s: float = WINDOW_S
    hop_s: float = HOP_S


def frame_descriptors(y: np.ndarray, sr: int) -> np.ndarray:
    """(n_frames, 32): MFCC 1-19, chroma (12), onset strength, from one power spectrogram."""
    import librosa

    # nothing may depend on the whole input (a cut must describe its part of the song as the song
    # does): a fixed dB floor, not one relative to the loudest frame; no tuning estimated per input
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    logmel = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=64), amin=1e-8, top_db=None)
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=20)[1:]
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_fft=N_FFT, tuning=0.0)
    onset = librosa.onset.onset_strength(S=logmel, sr=sr)[None, : S.shape[1]]
    return np.vstack([mfcc, chroma, onset]).T.astype(np.float64)


def windows_of(y: np.ndarray, sr: int, *, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> np.ndarray:
    """(n_windows, 64): per window the mean and sd of :func:`frame_descriptors`, silence trimmed first.

    Audio shorter than one window (after trimming) gives one window over all of it; silent or empty
    audio raises :class:`~bgmscope.errors.ParameterError`.
    """
    import librosa

    if window_s <= 0 or hop_s <= 0:
        raise ParameterError(f"window and hop must be positive, got {window_s}, {hop_s}")
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0 or not np.any(y):
        raise ParameterError("the audio is empty or silent: nothing to compare")
    y, _ = librosa.effects.trim(y, top_db=TRIM_DB, frame_length=N_FFT, hop_length=HOP)
    if y.size < N_FFT:
        raise ParameterError("under 0.2 s of sound after trimming the silence")
    F = frame_descriptors(y, sr)
    n = len(F)
    w = max(1, min(n, int(round(window_s * sr / HOP))))
    h = max(1, int(round(hop_s * sr / HOP)))
    starts = np.arange(0, n - w + 1, h)
    c1 = np.vstack([np.zeros(F.shape[1]), np.cumsum(F, axis=0)])
    c2 = np.vstack([np.zeros(F.shape[1]), np.cumsum(F ** 2, axis=0)])
    mean = (c1[starts + w] - c1[starts]) / w
    var = np.maximum((c2[starts + w] - c2[starts]) / w - mean ** 2, 0.0)
    return np.hstack([mean, np.sqrt(var)])


def _cache_path(task: WindowTask) -> Path | None:
    if task.cache_dir is None or not task.sha256:
        return None
    return Path(task.cache_dir) / (f"{task.sha256}-v{SIGNATURE_VERSION}-{task.sample_rate}"
                                   f"-{task.window_s:g}-{task.hop_s:g}.npz")


def song_windows(task: WindowTask) -> np.ndarray:
    """Worker: decode a whole song once and return its windows (cached by content hash)."""
    from ..audio.decode import load

    cache = _cache_path(task)
    if cache is not None and cache.exists():
        return np.load(cache)["windows"]
    y, sr = load(task.path, sr=task.sample_rate)
    win = windows_of(y, sr, window_s=task.window_s, hop_s=task.hop_s)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache, durable=False) as tmp:  # a regenerable cache
            with open(tmp, "wb") as fh:
                np.savez(fh, windows=win)
    return win


@dataclass
class WindowIndex:
    """Every catalog song's windows, stacked, with the scale they are compared on."""

    track_ids: list[str]
    windows: np.ndarray     # (total windows, 64), z-scored
    owner: np.ndarray       # (total windows,) index into track_ids
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def build(cls, songs: dict[str, np.ndarray]) -> WindowIndex:
        if len(songs) < 1:
            raise ParameterError("no songs to index")
        ids = list(songs)
        W = np.vstack([songs[t] for t in ids])
        owner = np.repeat(np.arange(len(ids)), [len(songs[t]) for t in ids])
        mean = W.mean(axis=0)
        scale = W.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)  # a constant descriptor compares as equal everywhere
        return cls(ids, (W - mean) / scale, owner, mean, scale)

    def distances(self, query: np.ndarray) -> np.ndarray:
        """(n_songs,): :func:`set_distance` from the query's windows (raw, not z-scored) to every song."""
        Q = (np.atleast_2d(query) - self.mean) / self.scale
        # squared distances query window x catalog window, via the Gram trick (no n x m x d array)
        d2 = (Q ** 2).sum(1)[:, None] + (self.windows ** 2).sum(1)[None, :] - 2 * Q @ self.windows.T
        d = np.sqrt(np.maximum(d2, 0.0) / Q.shape[1])
        nearest = np.full((len(Q), len(self.track_ids)), np.inf)
        np.minimum.at(nearest.T, self.owner, d.T)  # per song, the nearest of its windows
        return nearest.mean(axis=0)


def set_distance(query: np.ndarray, song: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> float:
    """Mean over the query's windows of the RMS z-difference to the song's nearest window."""
    Q, S = (query - mean) / scale, (song - mean) / scale
    d = np.sqrt(((Q[:, None, :] - S[None, :, :]) ** 2).mean(axis=2))
    return float(d.min(axis=1).mean())
