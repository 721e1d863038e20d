"""Core commands: ingest, prepare, export, tables, demo, run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .config import default_jobs


def register(app: typer.Typer) -> None:
    from .cli import console, open_catalog, print_failures, settings_of, summary_table

    @app.command()
    def ingest(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Audio files, folders (recursive) and chart CSVs.")],
    ) -> None:
        """Register audio files and chart CSVs (seed headers 音乐ID, 音乐名, … or English)."""
        from .ingest import ingest as run_ingest

        with open_catalog(ctx) as cat:
            s = run_ingest(paths, cat)
        console.print(summary_table("ingest", {"chart rows": s.tracks, "audio ok": s.audio_ok,
                                                "audio failed": s.audio_failed, "unchanged": s.skipped}))
        print_failures(s.failures)
        console.print(f"catalog: {settings_of(ctx).catalog_path}")

    @app.command()
    def prepare(
        ctx: typer.Context,
        clip: Annotated[str, typer.Option("--clip", help="first | offset | two | hook")] = "first",
        offset: Annotated[float | None, typer.Option("--offset", help="Clip start (s); implies --clip offset.")] = None,
        length: Annotated[float | None, typer.Option("--length", help="Clip length (s).")] = None,
        two_clips: Annotated[bool, typer.Option("--two-clips", help="Two non-overlapping clips per song.")] = False,
        pad: Annotated[bool, typer.Option("--pad", help="Zero-pad songs shorter than the clip.")] = False,
        jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes.")] = default_jobs(),
    ) -> None:
        """Decode once, downmix, resample and cut clips into the cache (resumable)."""
        from .prepare import prepare as run_prepare

        kind = "two" if two_clips else ("offset" if offset is not None and clip == "first" else clip)
        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            s = run_prepare(cat, settings, kind=kind, length_s=length, offset_s=offset or 0.0, pad=pad, jobs=jobs)
        console.print(summary_table("prepare", {"songs ok": s.ok, "failed": s.failed, "already done": s.skipped,
                                                 "clips written": s.clips, "shorter than the clip": s.short}))
        print_failures(s.failures)
        console.print(f"clips: {settings.clip_dir}")

    @app.command()
    def export(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="Catalog table (see 'bgmscope tables').")],
        to: Annotated[Path, typer.Option("--to", help="out.csv or out.parquet")],
    ) -> None:
        """Export a catalog table to CSV (UTF-8) or Parquet."""
        with open_catalog(ctx) as cat:
            out = cat.export(table, to)
        console.print(f"wrote {out}")

    @app.command()
    def tables(ctx: typer.Context) -> None:
        """List the catalog's tables with their row counts."""
        with open_catalog(ctx) as cat:
            rows = {t: cat.query(f"SELECT count(*) AS n FROM {t}")["n"][0] for t in cat.table_names()}
        console.print(summary_table(f"catalog {settings_of(ctx).catalog_path}", rows))

    @app.command()
    def demo(
        ctx: typer.Context,
        songs: Annotated[int, typer.Option("--songs", help="Songs in the demo corpus (>= 40).")] = 48,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        jobs: Annotated[int, typer.Option("--jobs", "-j")] = default_jobs(),
    ) -> None:
        """Build the offline demo corpus (music21 scores rendered through a SoundFont) and run every stage."""
        from .pipeline import run_demo

        if not run_demo(settings_of(ctx), songs=songs, seed=seed, jobs=jobs, console=console):
            raise typer.Exit(1)

    @app.command()
    def run(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Your songs (files/folders) and chart CSV.")],
        jobs: Annotated[int, typer.Option("--jobs", "-j")] = default_jobs(),
    ) -> None:
        """Ingest your own songs and chart CSV, then run every stage."""
        from .pipeline import run_all

        if not run_all(settings_of(ctx), paths, jobs=jobs, console=console):
            raise typer.Exit(1)
