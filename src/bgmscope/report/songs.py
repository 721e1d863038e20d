"""Per-song work for the report, run in worker processes: card figure, embedded audio, tempo, key,
zero crossings. Workers read clips from disk and return bytes and numbers; only the main process
touches the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEY_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
# Krumhansl–Kessler key profiles (probe-tone ratings)
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class SongTask:
    clip_id: str
    track_id: str
    data_dir: str
    path: str
    title: str
    card: bool  # draw the card figure and encode the clip for the player


def estimate_key(chroma_mean: np.ndarray) -> tuple[str, float]:
    """The best-matching major/minor key for a 12-bin mean chroma, and its correlation (-1..1)."""
    c = np.asarray(chroma_mean, dtype=float)
    if c.shape != (12,) or not np.isfinite(c).all() or np.ptp(c) == 0:
        return "", float("nan")
    best = ("", -2.0)
    for tonic in range(12):
        for profile, mode in ((_MAJOR, "major"), (_MINOR, "minor")):
            r = float(np.corrcoef(c, np.roll(profile, tonic))[0, 1])
            if r > best[1]:
                best = (f"{KEY_NAMES[tonic]} {mode}", r)
    return best


def tempo_of(y: np.ndarray, sr: int) -> float:
    """Tempo (BPM): the features area's beat tracker when installed, else librosa's."""
    try:
        from ..features.rhythm import beat_track

        return float(beat_track(y, sr).tempo_bpm)
    except ImportError:
        import librosa

        tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
        return float(np.atleast_1d(tempo)[0])


def song_job(task: SongTask) -> dict:
    """Everything the report needs from one clip (top-level so it pickles for the process pool)."""
    import librosa

    from ..prepare.clips import load_clip
    from ..viz.audio import zero_crossing_count

    y, sr = load_clip(task.data_dir, task.path)
    out: dict = {"clip_id": task.clip_id, "track_id": task.track_id,
                 "zero_crossings": zero_crossing_count(y), "duration_s": len(y) / sr}
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=4096, hop_length=2048)
    out["key"], out["key_r"] = estimate_key(chroma.mean(axis=1))
    out["tempo_bpm"] = tempo_of(y, sr) if np.max(np.abs(y), initial=0.0) > 0 else float("nan")
    if task.card:
        from ..viz.audio import song_card
        from ..viz.common import png_bytes
        from .media import encode_opus

        out["card_png"] = png_bytes(song_card(y, sr, title_text=task.title), dpi=80)
        out["audio_ogg"] = encode_opus(y, sr)
    return out
