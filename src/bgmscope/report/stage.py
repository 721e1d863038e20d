"""Pipeline stage: write the report last, from whatever the earlier stages stored, in English
(``<data>/report/``) and in Chinese (``<data>/report/zh/``)."""

from __future__ import annotations

from ..context import PipelineContext
from .builder import DEFAULT_CARDS, build_report


def run_stage(ctx: PipelineContext) -> dict:
    res = build_report(ctx.catalog, ctx.settings, lang="en", cards=DEFAULT_CARDS, jobs=ctx.jobs)
    zh = build_report(ctx.catalog, ctx.settings, out_dir=ctx.settings.report_dir / "zh", lang="zh",
                      cards=DEFAULT_CARDS, jobs=ctx.jobs)
    ctx.outputs["report"] = res.html
    ctx.outputs["report (中文)"] = zh.html
    ctx.outputs["report (markdown)"] = res.markdown
    ctx.console.print(f"report: {res.html} (中文: {zh.html})")
    return {"sections": len(res.sections), "songs": res.songs, "cards": res.cards,
            "failed": len(res.failed) + len(zh.failed), "omitted": len(res.omitted)}
