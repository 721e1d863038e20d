"""Run every stage in order: ``bgmscope run`` on the user's songs, ``bgmscope demo`` on the demo corpus.

Each stage reads what the stages before it stored in the catalog and writes its own results there.
A stage is a function of a :class:`~bgmscope.context.PipelineContext`; it returns a dict of what it
made (shown in the summary), and may add output paths to ``ctx.outputs``.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .acquire import stage as acquire
from .catalog import Catalog
from .cluster import stage as cluster
from .config import Settings
from .context import PipelineContext, Stage
from .errors import NotEnoughData
from .features import stage as features
from .genre import stage as genre
from .hits import stage as hits
from .midi import stage as midi
from .prepare import stage as prepare
from .report import stage as report
from .select import stage as select
from .tags import stage as tags
from .versions import stage as versions

# The stages in the order they run.
STAGES: list[tuple[str, Stage]] = [
    ("acquire", acquire.run_stage),        # demo: serve the corpus on loopback, crawl, download
    ("prepare", prepare.run_stage),
    ("features", features.run_stage),
    ("select", select.run_stage),
    ("cluster", cluster.run_stage),
    ("transcribe", midi.run_stage),
    ("versions", versions.run_stage),     # duplicate edits and hook positions, from whole songs
    ("tags", tags.run_stage),             # musicnn tags per song (first 15 s, hook, middle); needs the hooks
    ("genre", genre.run_stage),           # without a trained model of the user's: from the tags
    ("hits", hits.run_stage),
    ("report", report.run_stage),
]


def _failed_items(result: dict) -> int:
    """How many items a stage's result says failed (its ``failed`` count, or a list of them)."""
    failed = result.get("failed", 0)
    return len(failed) if isinstance(failed, list | tuple | set) else int(failed or 0)


def run_stages(ctx: PipelineContext, stages: list[tuple[str, Stage]] | None = None) -> bool:
    """Run the stages, each isolated: one failing is reported and the rest go on.

    True if every stage ran (or was skipped for too little data) and no item of any stage failed:
    the commands exit 1 otherwise."""
    table = Table(title="bgmscope run")
    table.add_column("stage")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    all_ok = True
    for name, func in stages or STAGES:
        ctx.console.rule(f"[bold]{name}")
        t0 = time.perf_counter()
        try:
            result = func(ctx) or {}
            text = ", ".join(f"{k}={v}" for k, v in result.items())
            if _failed_items(result):  # the stage ran, but some of its items failed: not all done
                all_ok = False
                text = f"[yellow]{text}[/yellow]"
        except NotEnoughData as exc:
            text = f"[yellow]skipped: {exc}[/yellow]"
        except Exception as exc:  # a failed stage is reported; later stages may still run
            all_ok = False
            text = f"[red]failed: {type(exc).__name__}: {exc}[/red]"
        table.add_row(name, text, f"{time.perf_counter() - t0:.1f}")
    ctx.console.print(table)
    return all_ok


def print_outputs(ctx: PipelineContext) -> None:
    ctx.console.print("[bold]outputs[/bold]")
    ctx.console.print(f"  catalog: {ctx.settings.catalog_path}")
    for name, path in ctx.outputs.items():
        ctx.console.print(f"  {name}: {path}")


def run_all(settings: Settings, paths: list[Path], *, jobs: int, console: Console) -> bool:
    from .prepare.ingest import ingest

    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        s = ingest(paths, cat)
        console.print(f"ingested: {s.audio_ok} audio ok, {s.audio_failed} failed, {s.tracks} chart rows")
        ctx = PipelineContext(cat, settings, jobs, console)
        ok = run_stages(ctx) and not s.failed  # a file that failed to ingest is a failed item too
        print_outputs(ctx)
    return ok


def run_demo(settings: Settings, *, songs: int, seed: int, jobs: int, console: Console) -> bool:
    from .demo import build_demo_corpus

    settings.ensure()
    console.rule("[bold]demo corpus")
    corpus = build_demo_corpus(settings.data_dir / "demo-corpus", n_songs=songs, seed=seed, jobs=jobs,
                               console=console)
    with Catalog(settings.catalog_path) as cat:
        ctx = PipelineContext(cat, settings, jobs, console, demo=True, seed=seed, demo_corpus=corpus)
        ctx.outputs["demo corpus"] = corpus.root
        ok = run_stages(ctx)
        print_outputs(ctx)
    return ok
