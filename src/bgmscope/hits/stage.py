"""Pipeline entry of the hits stage: descriptors against chart popularity (after versions, so
duplicate edits count once)."""

from __future__ import annotations

import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..context import PipelineContext
from ..tasks import single_threaded
from . import hookfirst
from .popularity import HitsOptions, analyse, write_tables


def hook_features(catalog: Catalog, settings: Settings, jobs: int | None,
                  failures: list[tuple[str, str]]) -> pd.DataFrame | None:
    """The hook windows of ``hook_positions`` described, when the features table has no hook clips."""
    if not hookfirst.needs_positions(catalog):
        return None
    return hookfirst.hook_features_from_positions(catalog, data_dir=settings.data_dir,
                                                  sample_rate=settings.sample_rate, jobs=jobs, failures=failures)


def record_failures(catalog: Catalog, failures: list[tuple[str, str]], params: dict) -> None:
    if failures:
        run_id = catalog.start_run("hits", params)
        for item, reason in failures:
            catalog.record_failure(run_id, "hits", item, reason)
        catalog.finish_run(run_id, 0, len(failures), 0)


HITS_TABLES = ["hits_summary", "hits_correlations", "hits_categorical", "hits_tags", "hits_power",
               "hits_hook_vs_first", "hits_model", "hits_importance", "hits_reference", "hits_reference_model"]
HITS_INPUTS = ["features", "versions", "tags", "hook_positions", "chart_entries", "tracks", "audio_files", "clips"]


def stage_cache(ctx: PipelineContext, options: HitsOptions):
    from dataclasses import asdict

    from ..select.stagecache import StageCache

    return StageCache(ctx.catalog, ctx.settings.data_dir, "hits", inputs=HITS_INPUTS, outputs=HITS_TABLES,
                      params={**asdict(options), "sample_rate": ctx.settings.sample_rate, "hook clips": True},
                      code=["hits", "features/extract", "features/names", "versions/grouping"])


def run_stage(ctx: PipelineContext, force: bool = False) -> dict:
    """Pipeline entry; skipped when its input tables, options and code are those of the stored run
    (``select.stagecache``: the bootstraps and permutations are seeded, so a recompute is identical)."""
    from ..select.stagecache import cached_stage

    options = HitsOptions(seed=ctx.seed)
    cache = stage_cache(ctx, options)
    summary = cached_stage(cache, lambda: _compute(ctx, options), force=force, console=ctx.console)
    ctx.outputs["hits"] = ctx.settings.catalog_path
    return summary


def _compute(ctx: PipelineContext, options: HitsOptions) -> dict:
    failures: list[tuple[str, str]] = []
    hooks = hook_features(ctx.catalog, ctx.settings, ctx.jobs, failures)
    # 400 x 80 matrices: OpenBLAS's threads gain nothing on them and spin (60.8 -> 44 s CPU at 400 songs)
    with single_threaded():
        res = analyse(ctx.catalog, options, hook_features=hooks)
    names = write_tables(ctx.catalog, res)
    record_failures(ctx.catalog, failures, {"hook clips": True})
    corr = res.tables["hits_correlations"]
    main = corr[corr["target"] == "user_count"]
    hf = res.tables["hits_hook_vs_first"]
    ctx.outputs["hits"] = ctx.settings.catalog_path
    return {"songs": res.n_songs, "clip": res.clip_kind,
            "features q<0.05": int((main["q"] < 0.05).sum()),
            "top": (main.iloc[0]["feature"] if not main.empty else "-"),
            "held-out R²": _r2_text(res.tables["hits_model"].iloc[0]),
            "tags q<0.05": int((res.tables["hits_tags"]["q"] < 0.05).sum()),
            "hook≠first q<0.05": (int((hf["q"] < 0.05).sum()) if not hf.empty else "-"),
            "failed": len(failures), "tables": len(names)}


def _r2_text(m) -> str:
    shown = "importances shown" if m["importances_shown"] else "no importances: does not predict"
    return f"{m['r2']:.2f} [{m['r2_ci_low']:.2f}, {m['r2_ci_high']:.2f}] ({shown})"
