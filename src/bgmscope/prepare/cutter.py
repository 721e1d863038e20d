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
            n = _save_clip(y, sr, int(round(spec.length_s * sr)), out, task.pad)
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


# -- the song pass: every clip of a song and its scan from one decode ------------------------------

PASS_KINDS = ("first", "two", "hook")  # what the pipeline's prepare stage cuts in its one pass


@dataclass(frozen=True)
class SongTask:
    """One distinct audio content for the song pass (:func:`prepare_song`)."""

    path: str
    sha256: str
    track_id: str
    duration_s: float
    length_s: float
    sample_rate: int
    clip_dir: str
    data_dir: str
    scan_cache: str  # the scan file (:func:`bgmscope.prepare.scan.scan_cache_path`)
    twins: tuple[str, ...] = ()

    @property
    def track_ids(self) -> tuple[str, ...]:
        return (self.track_id, *self.twins)


def pass_specs(duration_s: float, length_s: float, hook_start_s: float | None) -> list[ClipSpec]:
    """The clips of the song pass: the first clip, the two clips and (when known) the hook clip."""
    specs = plan_clips(duration_s, kind="first", length_s=length_s) + plan_clips(duration_s, kind="two",
                                                                                  length_s=length_s)
    if hook_start_s is not None:
        specs.append(ClipSpec("hook", 0, round(float(hook_start_s), 3), length_s))
    return specs


def _write_clip(y: np.ndarray, sr: int, spec: ClipSpec, out: Path, pad: bool) -> int:
    """Cut ``spec`` from the whole song ``y`` and write it as prepare writes a clip; its frames."""
    a = int(round(spec.offset_s * sr))
    want = int(round(spec.length_s * sr))
    return _save_clip(y[a: a + want], sr, want, out, pad)


def _save_clip(clip: np.ndarray, sr: int, want: int, out: Path, pad: bool) -> int:
    """Write one clip as 16-bit WAV (zero-padded to ``want`` samples when ``pad``); its frames."""
    if pad and clip.shape[0] < want:
        clip = np.pad(clip, (0, want - clip.shape[0]))
    peak = float(np.max(np.abs(clip))) if clip.size else 0.0
    if peak > 1.0:  # keep PCM_16 from clipping on hot masters; the shape is what matters
        clip = clip / peak
    # a killed process cannot tear a renamed file; the cache is regenerable, so no fsync
    with atomic_path(out, durable=False) as tmp:
        sf.write(str(tmp), clip, sr, subtype="PCM_16", format="WAV")
    return int(clip.shape[0])


def prepare_song(task: SongTask) -> dict:
    """Worker: decode one song once; cut its first, two and hook clips from that signal and store its
    scan (version signature, hook start, duration: :mod:`.scan`) from one shared STFT.

    Clip files already on disk (an earlier, maybe killed, run) are registered, not rewritten; with
    every file and the scan there, nothing is decoded. A song whose scan fails (silent, under
    :data:`~bgmscope.prepare.scan.MIN_SCAN_S`) still gets its clips: its hook clip then starts at
    0 s, as :func:`~bgmscope.prepare.hook.find_hook` places the hook of a song too short for one;
    the scan's error is returned (``scan_error``) and the versions stage reports it.

    Returns ``{"rows": clip rows (one per clip per track), "decoded": bool, "scan_error": str|None}``.
    """
    from .scan import decode_song, known_hook, scan_signal, write_scan

    clip_dir = Path(task.clip_dir)
    hook = known_hook(task.scan_cache, task.duration_s)
    y = None
    scan_error = None
    specs = pass_specs(task.duration_s, task.length_s, hook)
    keys = [clip_file_key(task.sha256, s, task.sample_rate, False) for s in specs]
    if hook is None or not all(clip_path(clip_dir, k).exists() for k in keys):
        y = decode_song(task.path, task.sample_rate)
        if hook is None:
            try:
                scan = scan_signal(y, task.sample_rate, task.length_s)
            except Exception as exc:  # noqa: BLE001 - the clips are still cut; versions reports it
                scan_error = f"{type(exc).__name__}: {exc}"
                hook = 0.0
            else:
                write_scan(task.scan_cache, scan)
                hook = scan["hook_start_s"]
            specs = pass_specs(task.duration_s, task.length_s, hook)
            keys = [clip_file_key(task.sha256, s, task.sample_rate, False) for s in specs]
    rows = []
    created = datetime.now(UTC).replace(tzinfo=None)
    for spec, key in zip(specs, keys, strict=True):
        out = clip_path(clip_dir, key)
        n = sf.info(str(out)).frames if out.exists() else _write_clip(y, task.sample_rate, spec, out, False)
        rows.extend(_rows(task.sha256, task.track_ids, spec, key, n, task.duration_s, task.length_s,
                          task.sample_rate, False, out, task.data_dir, created))
    return {"rows": rows, "decoded": y is not None, "scan_error": scan_error}


def _rows(sha256: str, track_ids: tuple[str, ...], spec: ClipSpec, key: str, n: int, duration_s: float,
          length_s: float, sample_rate: int, pad: bool, out: Path, data_dir: str, created) -> list[dict]:
    # short: the song could not give the clip length asked for (a halved 'two' clip included),
    # or fewer samples decoded than asked (the file ends early, whatever its header said).
    # Judged from the file as written, so a clip found on disk after a kill gets the same row.
    short = bool(spec.length_s < length_s - 1e-3 or duration_s - spec.offset_s < spec.length_s - 1e-3
                 or n < round(spec.length_s * sample_rate) - SHORT_SLACK_S * sample_rate)
    return [{"clip_id": clip_id_from_key(key, track_id), "track_id": track_id, "audio_sha256": sha256,
             "clip_kind": spec.kind, "clip_index": spec.index, "offset_s": spec.offset_s,
             "length_s": spec.length_s, "duration_s": n / sample_rate, "sample_rate": sample_rate,
             "padded": bool(pad and short), "short": short,
             "path": str(out.relative_to(data_dir)), "created_at": created} for track_id in track_ids]
