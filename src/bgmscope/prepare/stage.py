"""Pipeline entry of the prepare stage: the first 15 s of every song and two clips per song."""

from __future__ import annotations

from ..context import PipelineContext
from .clips import prepare


def run_stage(ctx: PipelineContext) -> dict:
    first = prepare(ctx.catalog, ctx.settings, kind="first", jobs=ctx.jobs)
    two = prepare(ctx.catalog, ctx.settings, kind="two", jobs=ctx.jobs)
    ctx.outputs["clips"] = ctx.settings.clip_dir
    return {"songs": first.ok + first.skipped, "failed": first.failed + two.failed,
            "clips": first.clips + two.clips, "cached": first.skipped + two.skipped}
