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
            "held-out R²": round(float(res.tables["hits_model"]["r2"].iloc[0]), 2),
            "tables": len(names)}
