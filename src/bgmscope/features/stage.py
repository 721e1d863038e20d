"""The features stage: every prepared clip (of every kind) -> one row of the ``features`` table.

Rows are cached by clip id (a hash of the audio and the clip parameters) and
:data:`~.extract.FEATURE_VERSION`, so a rerun computes only new clips, and a new extractor
version recomputes everything. Clips of twin songs (byte-identical audio) share one clip file:
it is described once and the row is copied to each twin. Workers load and describe clips; only
this process writes the catalog. The table is also exported to ``<data>/exports/features.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..engine import current_engine, run_map
from ..errors import CatalogError, DecodeError, ParameterError
from .extract import FEATURE_NAMES, FEATURE_VERSION, ID_COLUMNS, META_COLUMNS, extract_clip

TABLE = "features"
CHECKPOINT_ROWS = 2000  # rewrite the table this often so a killed run keeps most of its work
ENGINES = ("local", "dask")


@dataclass(frozen=True)
class FeatureTask:
    clip_id: str
    track_id: str
    clip_kind: str
    clip_index: int
    path: str  # absolute


@dataclass
class FeatureSummary:
    computed: int = 0
    cached: int = 0
    failed: int = 0
    shared: int = 0  # rows copied from a twin's clip (same file), not computed again
    rows: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    parquet: Path | None = None
    run_id: str = ""


def extract_task(task: FeatureTask) -> dict:
    """Worker: read one prepared clip and describe it (a picklable top-level function)."""
    import soundfile as sf

    try:
        y, sr = sf.read(task.path, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise DecodeError(f"cannot read clip {Path(task.path).name}: {exc}") from None
    if y.ndim > 1:
        y = y.mean(axis=1)
    if y.size == 0:
        raise DecodeError(f"clip {Path(task.path).name} is empty")
    row = {"clip_id": task.clip_id, "track_id": task.track_id, "clip_kind": task.clip_kind,
           "clip_index": task.clip_index, "feature_version": FEATURE_VERSION, "sample_rate": int(sr),
           "duration_s": y.size / sr}
    row.update(extract_clip(y, sr))
    return row


def _frame(rows: list[dict]) -> pd.DataFrame:
    cols = list(ID_COLUMNS) + list(META_COLUMNS) + list(FEATURE_NAMES)
    df = pd.DataFrame(rows, columns=cols)
    if not df.empty:
        df["clip_index"] = df["clip_index"].astype("int32")
        df["feature_version"] = df["feature_version"].astype("int32")
        df["sample_rate"] = df["sample_rate"].astype("int32")
        df[list(FEATURE_NAMES)] = df[list(FEATURE_NAMES)].astype(np.float64)
    return df


def cached_rows(catalog: Catalog, clip_ids: set[str]) -> pd.DataFrame:
    """Existing rows still valid: same extractor version, same columns, clip still catalogued."""
    old = catalog.read_frame(TABLE)
    if old.empty or "feature_version" not in old or not set(FEATURE_NAMES) <= set(old.columns):
        return _frame([])
    old = old[(old["feature_version"] == FEATURE_VERSION) & old["clip_id"].isin(clip_ids)]
    return old[list(ID_COLUMNS) + list(META_COLUMNS) + list(FEATURE_NAMES)].drop_duplicates("clip_id")


def run_features(
    catalog: Catalog,
    settings: Settings,
    *,
    jobs: int | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    kind: str | None = None,
    force: bool = False,
    export: bool = True,
    show_progress: bool = True,
) -> FeatureSummary:
    """Describe every prepared clip (or those of ``kind``) not described yet; write the table."""
    if engine is not None and engine not in ENGINES:
        raise ParameterError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if scheduler and engine != "dask":
        raise ParameterError("--scheduler needs --engine dask")
    # no engine named: where the enclosing engine.use block says (bgmscope --scheduler ...)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")
    if not catalog.has_table("clips"):
        raise CatalogError("no clips table: run 'bgmscope prepare' first")
    clips = catalog.clips(kind)
    if clips.empty:
        what = f"no clips of kind {kind!r}" if kind else "no clips"
        raise CatalogError(f"{what} in the catalog: run 'bgmscope prepare' first")
    all_ids = set(catalog.query("SELECT clip_id FROM clips")["clip_id"])
    summary = FeatureSummary()
    summary.run_id = run_id = catalog.start_run("features", {
        "kind": kind, "engine": engine or current_engine(), "scheduler": scheduler, "force": force,
        "feature_version": FEATURE_VERSION})
    keep = _frame([]) if force else cached_rows(catalog, all_ids)
    if force and kind:  # recompute only this kind; keep the others' rows
        old = cached_rows(catalog, all_ids)
        keep = old[~old["clip_id"].isin(set(clips["clip_id"]))]
    done = set(keep["clip_id"])
    tasks = [FeatureTask(r.clip_id, str(r.track_id), str(r.clip_kind), int(r.clip_index),
                         str(Path(settings.data_dir) / r.path))
             for r in clips.itertuples() if r.clip_id not in done]
    summary.cached = len(clips) - len(tasks)
    new_rows: list[dict] = _rows_from_twins(catalog, settings, keep, tasks)
    summary.shared = len(new_rows)
    copied = {r["clip_id"] for r in new_rows}
    twins = _group_by_file([t for t in tasks if t.clip_id not in copied])

    def write() -> None:
        parts = [df for df in (keep, _frame(new_rows)) if not df.empty]
        df = pd.concat(parts, ignore_index=True) if parts else _frame([])
        catalog.write_frame(TABLE, df)
        summary.rows = len(df)

    since = 0
    try:
        for out in run_map(extract_task, list(twins), jobs=jobs, desc="features", show_progress=show_progress,
                           engine=engine, scheduler=scheduler):
            if out.ok:
                rows = [_as_twin(out.result, t) for t in twins[out.item]]
                new_rows.extend(rows)
                summary.computed += 1
                summary.shared += len(rows) - 1
                since += len(rows)
                if since >= CHECKPOINT_ROWS:
                    write()
                    since = 0
            else:
                for t in twins[out.item]:
                    summary.failed += 1
                    summary.failures.append((t.clip_id, out.error))
                    catalog.record_failure(run_id, "features", t.clip_id, out.error)
    except BaseException:  # e.g. an unreachable scheduler or Ctrl-C: keep what was done, close the run
        if new_rows:
            write()
        catalog.finish_run(run_id, summary.computed + summary.shared, summary.failed, summary.cached)
        raise
    write()
    if export and summary.rows:
        settings.export_dir.mkdir(parents=True, exist_ok=True)
        summary.parquet = catalog.export(TABLE, settings.export_dir / "features.parquet")
    catalog.finish_run(run_id, summary.computed + summary.shared, summary.failed, summary.cached)
    return summary


def _group_by_file(tasks: list[FeatureTask]) -> dict[FeatureTask, list[FeatureTask]]:
    """First task per clip file -> every task on that file (twins share one file): one extraction each."""
    groups: dict[str, list[FeatureTask]] = {}
    for t in tasks:
        groups.setdefault(t.path, []).append(t)
    return {g[0]: g for g in groups.values()}


def _as_twin(row: dict, task: FeatureTask) -> dict:
    """A row computed for one clip of a file, relabelled for another clip of the same file."""
    return {**row, "clip_id": task.clip_id, "track_id": task.track_id, "clip_kind": task.clip_kind,
            "clip_index": task.clip_index}


def _rows_from_twins(catalog: Catalog, settings: Settings, keep: pd.DataFrame,
                     tasks: list[FeatureTask]) -> list[dict]:
    """Rows for new clips whose file a cached row already describes (a twin added later)."""
    if keep.empty or not tasks:
        return []
    paths = catalog.query("SELECT clip_id, path FROM clips")
    path_of = {c: str(Path(settings.data_dir) / p) for c, p in zip(paths["clip_id"], paths["path"], strict=True)}
    by_path = {}
    for row in keep.to_dict("records"):
        by_path.setdefault(path_of.get(row["clip_id"]), row)
    return [_as_twin(by_path[t.path], t) for t in tasks if t.path in by_path]


def run_stage(ctx) -> dict:
    """Pipeline stage: describe every clip in the catalog."""
    s = run_features(ctx.catalog, ctx.settings, jobs=ctx.jobs, show_progress=True)
    if s.parquet:
        ctx.outputs["features"] = s.parquet
    return {"clips": s.rows, "computed": s.computed, "cached": s.cached, "shared": s.shared, "failed": s.failed}
