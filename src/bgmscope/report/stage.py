"""Pipeline stage: write the report last, from whatever the earlier stages stored, in English
(``<data>/report/``) and in Chinese (``<data>/report/zh/``).

A rerun whose inputs are those of the report on disk (every catalog table's content, the standing
failures, the card count, the code of report/ and viz/, and both languages' pages unchanged since
they were written) skips the rebuild and says where the report is (``select.stagecache``)."""

from __future__ import annotations

import hashlib

from ..context import PipelineContext
from ..select.stagecache import StageCache, cached_stage
from .builder import DEFAULT_CARDS, build_report
from .sections import current_failures, resolved_failures

# The run and failure logs: the sections read them only through the standing failures, which are
# hashed on their own. The appendix lists them too, and a kept report shows them as of its build
# (every run of any stage, this one included, adds rows; with them as inputs nothing would be kept).
NOT_INPUTS = {"runs", "failures", "schema_version"}

def _failures_digest(cat) -> str:
    f = current_failures(cat)
    f = f[[c for c in ("stage", "item", "reason") if c in f.columns]].astype(str)
    rows = sorted(map(tuple, f.itertuples(index=False)))
    return hashlib.sha256(repr((rows, resolved_failures(cat))).encode()).hexdigest()

def stage_cache(ctx: PipelineContext, cards: int = DEFAULT_CARDS) -> StageCache:
    cat, s = ctx.catalog, ctx.settings
    en, zh = s.report_dir, s.report_dir / "zh"
    files = tuple(d / n for d in (en, zh) for n in ("report.html", "report.md"))
    return StageCache(cat, s.data_dir, "report", inputs=[t for t in cat.table_names() if t not in NOT_INPUTS],
                      outputs=[], params={"cards": cards, "langs": ["en", "zh"], "out": str(en),
                                          "data_dir": str(s.data_dir), "failures": _failures_digest(cat)},
                      code=["report", "viz"], files=files)

def run_stage(ctx: PipelineContext, force: bool = False) -> dict:
    s = ctx.settings

    def build() -> dict:
        res = build_report(ctx.catalog, s, lang="en", cards=DEFAULT_CARDS, jobs=ctx.jobs, also_langs=("zh",))
        zh = build_report(ctx.catalog, s, out_dir=s.report_dir / "zh", lang="zh", cards=DEFAULT_CARDS,
                          jobs=ctx.jobs)
        return {"sections": len(res.sections), "songs": res.songs, "cards": res.cards,
                "failed": len(res.failed) + len(zh.failed), "omitted": len(res.omitted)}

    out = cached_stage(stage_cache(ctx), build, force=force)
    html, zh_html = s.report_dir / "report.html", s.report_dir / "zh" / "report.html"
    ctx.outputs["report"] = html
    ctx.outputs["report (中文)"] = zh_html
    ctx.outputs["report (markdown)"] = s.report_dir / "report.md"
    note = " (inputs unchanged: not rebuilt)" if out.get("cached") else ""
    ctx.console.print(f"report: {html} (中文: {zh_html}){note}")
    return out
