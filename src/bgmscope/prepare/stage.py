"""Pipeline entry of the prepare stage: the song pass (:func:`~bgmscope.prepare.clips.prepare_pass`).

Each song is decoded once: its first 15 s, its two clips, its hook clip and its version scan.
"""

from __future__ import annotations

from ..context import PipelineContext
from .clips import prepare_pass


def run_stage(ctx: PipelineContext) -> dict:
    s = prepare_pass(ctx.catalog, ctx.settings, jobs=ctx.jobs)
    ctx.outputs["clips"] = ctx.settings.clip_dir
    return {"songs": s.ok + s.skipped, "failed": s.failed, "clips": s.clips, "cached": s.skipped}
