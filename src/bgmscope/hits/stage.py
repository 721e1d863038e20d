"""Pipeline entry of the hits stage: descriptors against chart popularity (after versions, so
duplicate edits count once)."""

from __future__ import annotations

import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..context import PipelineContext
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


def run_stage(ctx: PipelineContext) -> dict:
    failures: list[tuple[str, str]] = []
    hooks = hook_features(ctx.catalog, ctx.settings, ctx.jobs, failures)
    res = analyse(ctx.catalog, HitsOptions(seed=ctx.seed), hook_features=hooks)
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
