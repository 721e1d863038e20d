"""The prepare worker: cut one song's clips into the cache. Kept light (numpy, soundfile, soxr) so
pool workers start fast; the catalog side lives in :mod:`bgmscope.prepare.clips`.

A clip *file* is keyed by the audio's bytes and the clip parameters (:func:`clip_file_key`), so
chart songs whose audio is byte-identical (twins) share one decode and one file; each song still
gets its own clip row, whose id (:func:`clip_id_for`) adds the track id to the file key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio.decode import load
from ..fsutil import atomic_path, short_hash
from .plan import ClipSpec, plan_clips

CLIP_VERSION = 1  # bump when the way clips are cut changes
SHORT_SLACK_S = 0.05  # resampling and decoder rounding; a clip this much shorter than asked is short


@dataclass(frozen=True)
class PrepareTask:
    path: str
    sha256: str
    track_id: str
    duration_s: float
    kind: str
    length_s: float
    offset_s: float
    sample_rate: int
    pad: bool
    clip_dir: str
    data_dir: str
    twins: tuple[str, ...] = ()  # other tracks with the same audio bytes: same clip file, own rows

    @property
    def track_ids(self) -> tuple[str, ...]:
        return (self.track_id, *self.twins)


def clip_file_key(sha256: str, spec: ClipSpec, sample_rate: int, pad: bool) -> str:
    """The clip file's name: what the audio is and how it was cut (not which song it belongs to)."""
    return short_hash(sha256, spec.kind, spec.index, spec.offset_s, spec.length_s, sample_rate, pad,
                      CLIP_VERSION, n=20)


def clip_id_from_key(file_key: str, track_id: str) -> str:
    return short_hash(file_key, track_id, n=20)


def clip_id_for(sha256: str, spec: ClipSpec, sample_rate: int, pad: bool, track_id: str) -> str:
    """A clip row's id: its file plus the song, so twins sharing the file have distinct rows."""
    return clip_id_from_key(clip_file_key(sha256, spec, sample_rate, pad), track_id)


def clip_path(clip_dir: Path, file_key: str) -> Path:
    return Path(clip_dir) / file_key[:2] / f"{file_key}.wav"


def plan_task(task: PrepareTask) -> list[ClipSpec]:
    if task.kind == "hook":
        from .hook import find_hook  # decodes the whole song once

        y, sr = load(task.path, sr=task.sample_rate)
        start = find_hook(y, sr, length_s=task.length_s)
        return [ClipSpec("hook", 0, round(float(start), 3), task.length_s)]
    return plan_clips(task.duration_s, kind=task.kind, length_s=task.length_s, offset_s=task.offset_s)


def prepare_one(task: PrepareTask) -> list[dict]:
    """Worker: cut every clip of one audio file once. Returns catalog rows (one per clip per track)."""
    rows = []
    for spec in plan_task(task):
        key = clip_file_key(task.sha256, spec, task.sample_rate, task.pad)
        out = clip_path(Path(task.clip_dir), key)
        if out.exists():  # finished by an earlier (maybe killed) run: register, don't decode
            n = sf.info(str(out)).frames
        else:
            y, sr = load(task.path, sr=task.sample_rate, offset=spec.offset_s, duration=spec.length_s)
            want = int(round(spec.length_s * sr))
            if task.pad and y.shape[0] < want:
                y = np.pad(y, (0, want - y.shape[0]))
            peak = float(np.max(np.abs(y))) if y.size else 0.0
            if peak > 1.0:  # keep PCM_16 from clipping on hot masters; the shape is what matters
                y = y / peak
            # a killed process cannot tear a renamed file; the cache is regenerable, so no fsync
            with atomic_path(out, durable=False) as tmp:
                sf.write(str(tmp), y, sr, subtype="PCM_16", format="WAV")
            n = y.shape[0]
        duration = n / task.sample_rate
        # short: the song could not give the clip length asked for (a halved 'two' clip included),
        # or fewer samples decoded than asked (the file ends early, whatever its header said).
        # Judged from the file as written, so a clip found on disk after a kill gets the same row.
        short = bool(spec.length_s < task.length_s - 1e-3 or task.duration_s - spec.offset_s < spec.length_s - 1e-3
                     or n < round(spec.length_s * task.sample_rate) - SHORT_SLACK_S * task.sample_rate)
        created = datetime.now(UTC).replace(tzinfo=None)
        for track_id in task.track_ids:
            rows.append({
                "clip_id": clip_id_from_key(key, track_id), "track_id": track_id, "audio_sha256": task.sha256,
                "clip_kind": spec.kind, "clip_index": spec.index, "offset_s": spec.offset_s,
                "length_s": spec.length_s, "duration_s": duration, "sample_rate": task.sample_rate,
                "padded": bool(task.pad and short), "short": short,
                "path": str(out.relative_to(task.data_dir)), "created_at": created,
            })
    return rows
