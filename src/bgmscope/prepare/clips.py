"""Decode each song once, downmix to mono, resample and cut clips into a content-addressed cache.

A clip file's name hashes the audio's sha256 and every clip parameter, so re-running skips done
work and changing a parameter makes new clips beside the old. Songs whose audio is byte-identical
(twins, e.g. one recording under several chart ids) are decoded once and share the file; each gets
its own clip row (the row id adds the track id). Clips are written to a temp file and renamed;
the catalog row is written after the file, so a run killed at any moment leaves either nothing or
a complete clip (which the next run finds on disk and registers without decoding again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..audio.paths import display
from ..catalog import Catalog
from ..config import Settings
from ..engine import run_map
from ..errors import ParameterError
from ..fsutil import remove_stale_temps
from .cutter import (
    CLIP_VERSION,
    PASS_KINDS,
    PrepareTask,
    clip_file_key,
    clip_id_for,
    clip_id_from_key,
    clip_path,
    prepare_one,
)
from .plan import CLIP_KINDS, plan_clips

__all__ = ["CLIP_VERSION", "PrepareSummary", "PrepareTask", "check_params", "clip_file_key", "clip_id_for",
           "clip_path", "load_clip", "prepare", "prepare_one", "prepare_pass"]


@dataclass
class PrepareSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    clips: int = 0
    short: int = 0
    twins: int = 0  # songs whose audio is byte-identical to another song's: they share its clips
    failures: list[tuple[str, str]] = field(default_factory=list)
    run_id: str = ""


def prepare(
    catalog: Catalog,
    settings: Settings,
    *,
    kind: str = "first",
    length_s: float | None = None,
    offset_s: float = 0.0,
    pad: bool = False,
    jobs: int | None = None,
    show_progress: bool = True,
) -> PrepareSummary:
    """Cut clips for every ok audio file in the catalog. Idempotent and resumable.

    Counts are per song (track): twins count once each, though their audio is decoded once.
    """
    length_s = settings.clip_length_s if length_s is None else float(length_s)
    check_params(kind=kind, length_s=length_s, offset_s=offset_s, sample_rate=settings.sample_rate, jobs=jobs)
    remove_stale_temps(settings.clip_dir)
    migrate_legacy_clip_ids(catalog)
    summary = PrepareSummary()
    params = {"kind": kind, "length_s": length_s, "offset_s": offset_s, "pad": pad,
              "sample_rate": settings.sample_rate}
    summary.run_id = catalog.start_run("prepare", params)
    done = set(catalog.query("SELECT clip_id FROM clips")["clip_id"])
    tasks = []
    for path, sha256, duration_s, track_ids in _audio_groups(catalog):
        summary.twins += len(track_ids) - 1
        task = PrepareTask(path, sha256, track_ids[0], duration_s, kind, length_s, offset_s,
                           settings.sample_rate, pad, str(settings.clip_dir), str(settings.data_dir))
        todo = track_ids if kind == "hook" else _tracks_to_do(task, track_ids, done, settings)
        summary.skipped += len(track_ids) - len(todo)
        if todo:
            tasks.append(replace(task, track_id=todo[0], twins=tuple(todo[1:])))

    outcomes = run_map(prepare_one, tasks, jobs=jobs, desc="prepare", show_progress=show_progress)
    return _write_clips(catalog, summary, outcomes, rows_of=lambda result: result)


def _write_clips(catalog: Catalog, summary: PrepareSummary, outcomes, *, rows_of) -> PrepareSummary:
    """Write the clip rows of each finished task (``rows_of(result)``) in batches of 64, record the
    failures, and close the run: what a killed run wrote stays written."""
    batch: list[dict] = []
    for outcome in outcomes:
        songs = len(outcome.item.track_ids)
        if outcome.ok:
            rows = rows_of(outcome.result)
            summary.ok += songs
            summary.clips += len(rows)
            summary.short += sum(r["short"] for r in rows)
            batch.extend(rows)
            if len(batch) >= 64:
                catalog.upsert_frame("clips", pd.DataFrame(batch))
                batch = []
        else:
            summary.failed += songs
            summary.failures.append((display(outcome.item.path), outcome.error))
            catalog.record_failure(summary.run_id, "prepare", outcome.item.path, outcome.error)
    if batch:
        catalog.upsert_frame("clips", pd.DataFrame(batch))
    catalog.finish_run(summary.run_id, summary.ok, summary.failed, summary.skipped)
    return summary


def prepare_pass(catalog: Catalog, settings: Settings, *, jobs: int | None = None,
                 show_progress: bool = True) -> PrepareSummary:
    """The song pass (the pipeline's prepare stage): one task per distinct audio content decodes the
    song once and cuts its first clip, its two clips and its hook clip, and stores its scan (version
    signature + hook start, read by the versions stage). Idempotent and resumable as :func:`prepare`.

    The client decides what is done: a song whose scan file (hence its hook clip's key) and every
    clip file and row exist gets no task. Counts are per song; ``clips`` counts clip rows written.
    """
    from .cutter import SongTask, pass_specs, prepare_song
    from .scan import known_hook, scan_cache_path

    length_s = settings.clip_length_s
    check_params(kind="first", length_s=length_s, sample_rate=settings.sample_rate, jobs=jobs)
    remove_stale_temps(settings.clip_dir)
    migrate_legacy_clip_ids(catalog)
    summary = PrepareSummary()
    summary.run_id = catalog.start_run("prepare", {"kinds": ",".join(PASS_KINDS), "length_s": length_s,
                                                     "sample_rate": settings.sample_rate})
    done = set(catalog.query("SELECT clip_id FROM clips")["clip_id"]) if catalog.has_table("clips") else set()
    scan_dir = settings.data_dir / "cache" / "scan"
    tasks = []
    for path, sha256, duration_s, track_ids in _audio_groups(catalog):
        summary.twins += len(track_ids) - 1
        cache = scan_cache_path(scan_dir, sha256, settings.sample_rate, length_s)
        todo = track_ids
        hook = known_hook(cache, duration_s)
        if hook is not None:
            keys = [clip_file_key(sha256, s, settings.sample_rate, False)
                    for s in pass_specs(duration_s, length_s, hook)]
            if all(clip_path(settings.clip_dir, k).exists() for k in keys):
                todo = [t for t in track_ids if not all(clip_id_from_key(k, t) in done for k in keys)]
        summary.skipped += len(track_ids) - len(todo)
        if todo:
            tasks.append(SongTask(path, sha256, todo[0], duration_s, length_s, settings.sample_rate,
                                  str(settings.clip_dir), str(settings.data_dir), str(cache), tuple(todo[1:])))
    outcomes = run_map(prepare_song, tasks, jobs=jobs, desc="prepare", show_progress=show_progress)
    return _write_clips(catalog, summary, outcomes, rows_of=lambda result: result["rows"])


def check_params(*, kind: str = "first", length_s: float, offset_s: float = 0.0, sample_rate: int,
                 jobs: int | None = None) -> None:
    """Refuse parameters no song could satisfy before any work (a NaN length fails every song)."""
    if kind not in CLIP_KINDS:
        raise ParameterError(f"clip kind must be one of {', '.join(CLIP_KINDS)}, got {kind!r}")
    if not _finite(length_s) or length_s <= 0:
        raise ParameterError(f"clip length must be a finite number of seconds > 0, got {length_s!r}")
    if not _finite(offset_s) or offset_s < 0:
        raise ParameterError(f"clip offset must be a finite number of seconds >= 0, got {offset_s!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample rate must be a whole number of Hz > 0, got {sample_rate!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")


def _finite(x: object) -> bool:
    return isinstance(x, int | float | np.number) and not isinstance(x, bool) and math.isfinite(x)


def _audio_groups(catalog: Catalog) -> list[tuple[str, str, float, list[str]]]:
    """(path, sha256, duration, track ids) per distinct audio content, tracks sorted.

    Byte-identical files are one group, decoded from the first path: every song they belong to
    gets clips, none is dropped for sharing its bytes with another.
    """
    audio = catalog.audio_files(status="ok")
    audio = audio[audio["track_id"].notna()]
    groups = []
    for sha256, g in audio.groupby("sha256", sort=True):
        first = g.iloc[0]  # audio_files come ordered by path
        groups.append((str(first["path"]), str(sha256), float(first["duration_s"]) if pd.notna(first["duration_s"]) else 0.0,
                       sorted(set(g["track_id"].astype(str)))))
    return groups


def _tracks_to_do(task: PrepareTask, track_ids: list[str], done: set[str], settings: Settings) -> list[str]:
    """The tracks of one audio group still missing a clip row or whose clip file is gone."""
    specs = plan_clips(task.duration_s, kind=task.kind, length_s=task.length_s, offset_s=task.offset_s)
    keys = [clip_file_key(task.sha256, s, task.sample_rate, task.pad) for s in specs]
    if not all(clip_path(settings.clip_dir, k).exists() for k in keys):
        return track_ids
    return [t for t in track_ids if not all(clip_id_from_key(k, t) in done for k in keys)]


def migrate_legacy_clip_ids(catalog: Catalog) -> int:
    """Give clips made before twins had rows of their own (id == file name) their per-track id.

    Their files stay as they are and their feature rows move with them, so nothing is decoded or
    described again. One transaction; returns how many rows moved.
    """
    if not catalog.has_table("clips"):
        return 0
    old = catalog.query("SELECT clip_id, track_id FROM clips "
                        "WHERE clip_id = regexp_extract(path, '([^/]+)\\.wav$', 1)")
    if old.empty:
        return 0
    ids = pd.DataFrame({"old_id": old["clip_id"],
                        "new_id": [clip_id_from_key(k, str(t)) for k, t in zip(old["clip_id"], old["track_id"],
                                                                               strict=True)]})
    con = catalog.con
    con.register("_ids", ids)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT OR REPLACE INTO clips BY NAME SELECT c.* REPLACE (m.new_id AS clip_id) "
                    "FROM clips c JOIN _ids m ON c.clip_id = m.old_id")
        con.execute("DELETE FROM clips WHERE clip_id IN (SELECT old_id FROM _ids)")
        if catalog.has_table("features"):
            con.execute("UPDATE features SET clip_id = m.new_id FROM _ids m WHERE features.clip_id = m.old_id")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_ids")
    return len(ids)


def load_clip(catalog_or_dir: Path | str, rel_path: str) -> tuple[np.ndarray, int]:
    """Read a prepared clip (float32 mono) given the data dir and the catalog's relative path."""
    y, sr = sf.read(str(Path(catalog_or_dir) / rel_path), dtype="float32", always_2d=False)
    return y, sr
