"""Report commands: ``plot KIND [SONG...]`` draws one figure; ``report`` writes the HTML + Markdown report."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    from .common import (
        Lang,
        comma_choice,
        console,
        finish,
        jobs_option,
        open_catalog,
        out_dir_option,
        print_failures,
        settings_of,
        summary_table,
    )

    @app.command()
    def plot(
        ctx: typer.Context,
        kind: Annotated[str, typer.Argument(help="Figure kind; 'bgmscope plot list' lists them.")],
        songs: Annotated[list[str] | None, typer.Argument(help="Songs: track id, music id, chart rank or part of the title.")] = None,
        out: Annotated[Path | None, out_dir_option("Folder for the figures (default <data>/report/figures).")] = None,
        fmt: Annotated[str, typer.Option("--format", callback=comma_choice(("png", "svg", "pdf")),
                                         help="Comma-separated: png,svg,pdf.")] = "png,svg",
        interactive: Annotated[bool, typer.Option("--html", help="Also write an interactive plotly HTML where the kind has one.")] = False,
    ) -> None:
        """Draw one of the study's figures (PNG + SVG) for the given songs or the whole corpus."""
        from ..report.plots import KINDS, make_plots

        if kind == "list":
            for k, (scope, doc) in KINDS.items():
                console.print(f"  [bold]{k}[/bold] ({scope}): {doc}")
            return
        settings = settings_of(ctx)
        formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
        with open_catalog(ctx, read_only=True) as cat:
            res = make_plots(cat, settings, kind, songs or [], out_dir=out, formats=formats, interactive=interactive)
        for p in res.paths:
            console.print(f"wrote {p}", highlight=False)
        print_failures(res.failures)
        # songs not found are listed above but do not fail the command: tests/test_report.py expects 0
        finish(produced=len(res.paths), nothing="no figure was drawn")

    @app.command()
    def report(
        ctx: typer.Context,
        out: Annotated[Path | None, out_dir_option("Output folder (default <data>/report).")] = None,
        lang: Annotated[Lang, typer.Option("--lang", help="en | zh")] = "en",
        cards: Annotated[int, typer.Option("--cards", min=0, help="Songs (in chart order) that get a card with a player.")] = 12,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Write the HTML report (conclusions first; self-contained) + a Markdown twin and tables/*.csv."""
        from ..report import build_report

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            res = build_report(cat, settings, out_dir=out, lang=lang, cards=cards, jobs=jobs, show_progress=True)
        console.print(summary_table("report", {"songs": res.songs, "cards": res.cards,
                                               "sections": ", ".join(res.sections),
                                               "omitted": len(res.omitted), "failed": len(res.failed),
                                               "figures": f"{res.figures_drawn} drawn, {res.figures_cached} cached",
                                               "seconds": f"{res.seconds:.1f}"}))
        for note in res.omitted:
            console.print(f"  [dim]omitted[/dim] {note}", highlight=False)
        print_failures(res.failed)
        console.print(f"report: {res.html}", highlight=False)
        console.print(f"markdown: {res.markdown}", highlight=False)
        finish(failed=len(res.failed))
