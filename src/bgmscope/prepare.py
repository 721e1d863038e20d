"""Decode each song once, downmix to mono, resample and cut clips into a content-addressed cache.

A clip's id hashes the audio's sha256 and every clip parameter, so re-running skips done work and
changing a parameter makes new clips beside the old. Clips are written to a temp file and renamed;
the catalog row is written after the file, so a run killed at any moment leaves either nothing or
a complete clip (which the next run finds on disk and registers without decoding again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from .audio.clips import plan_clips
from .audio.cutter import CLIP_VERSION, PrepareTask, clip_id_for, clip_path, prepare_one
from .catalog import Catalog
from .config import Settings
from .engine import run_map
from .errors import ParameterError
from .fsutil import remove_stale_temps

__all__ = ["CLIP_VERSION", "PrepareSummary", "PrepareTask", "clip_id_for", "clip_path", "load_clip",
           "prepare", "prepare_one"]


@dataclass
class PrepareSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    clips: int = 0
    short: int = 0
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
    """Cut clips for every ok audio file in the catalog. Idempotent and resumable."""
    length_s = settings.clip_length_s if length_s is None else float(length_s)
    if length_s <= 0:
        raise ParameterError(f"--length must be > 0, got {length_s}")
    remove_stale_temps(settings.clip_dir)
    summary = PrepareSummary()
    params = {"kind": kind, "length_s": length_s, "offset_s": offset_s, "pad": pad,
              "sample_rate": settings.sample_rate}
    summary.run_id = run_id = catalog.start_run("prepare", params)
    audio = catalog.audio_files(status="ok")
    audio = audio[audio["track_id"].notna()].drop_duplicates("sha256")
    done = set(catalog.query("SELECT clip_id FROM clips")["clip_id"])
    tasks = []
    for row in audio.itertuples():
        task = PrepareTask(row.path, row.sha256, row.track_id, float(row.duration_s or 0), kind, length_s,
                           offset_s, settings.sample_rate, pad, str(settings.clip_dir), str(settings.data_dir))
        if kind != "hook":
            specs = plan_clips(task.duration_s, kind=kind, length_s=length_s, offset_s=offset_s)
            ids = {clip_id_for(row.sha256, s, settings.sample_rate, pad) for s in specs}
            if ids <= done and all(clip_path(settings.clip_dir, i).exists() for i in ids):
                summary.skipped += 1
                continue
        tasks.append(task)

    batch: list[dict] = []
    for outcome in run_map(prepare_one, tasks, jobs=jobs, desc="prepare", show_progress=show_progress):
        if outcome.ok:
            summary.ok += 1
            summary.clips += len(outcome.result)
            summary.short += sum(r["short"] for r in outcome.result)
            batch.extend(outcome.result)
            if len(batch) >= 64:
                catalog.upsert_frame("clips", pd.DataFrame(batch))
                batch = []
        else:
            summary.failed += 1
            summary.failures.append((outcome.item.path, outcome.error))
            catalog.record_failure(run_id, "prepare", outcome.item.path, outcome.error)
    if batch:
        catalog.upsert_frame("clips", pd.DataFrame(batch))
    catalog.finish_run(run_id, summary.ok, summary.failed, summary.skipped)
    return summary


def load_clip(catalog_or_dir: Path | str, rel_path: str) -> tuple[np.ndarray, int]:
    """Read a prepared clip (float32 mono) given the data dir and the catalog's relative path."""
    y, sr = sf.read(str(Path(catalog_or_dir) / rel_path), dtype="float32", always_2d=False)
    return y, sr
