"""Pipeline entry of the hits stage: descriptors against chart popularity (after versions, so
duplicate edits count once)."""

from __future__ import annotations

from ..context import PipelineContext
from .popularity import HitsOptions, analyse, write_tables


def run_stage(ctx: PipelineContext) -> dict:
    res = analyse(ctx.catalog, HitsOptions(seed=ctx.seed))
    names = write_tables(ctx.catalog, res)
    corr = res.tables["hits_correlations"]
    main = corr[corr["target"] == "user_count"]
    ctx.outputs["hits"] = ctx.settings.catalog_path
    return {"songs": res.n_songs, "clip": res.clip_kind,
            "features q<0.05": int((main["q"] < 0.05).sum()),
            "top": (main.iloc[0]["feature"] if not main.empty else "-"),
            "held-out R²": _r2_text(res.tables["hits_model"].iloc[0]),
            "tags q<0.05": int((res.tables["hits_tags"]["q"] < 0.05).sum()),
            "tables": len(names)}


def _r2_text(m) -> str:
    shown = "importances shown" if m["importances_shown"] else "no importances: does not predict"
    return f"{m['r2']:.2f} [{m['r2_ci_low']:.2f}, {m['r2_ci_high']:.2f}] ({shown})"
