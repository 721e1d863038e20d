"""Core commands: ingest, prepare, export, tables, demo, run."""

# No ``from __future__ import annotations``: the option annotations below use helpers imported inside
# register() (importing bgmscope.cli.common at module level would be circular), so they must be evaluated
# where they are written, not later by typer in this module's globals.
from pathlib import Path
from typing import Annotated

import typer

from ..catalog import EXPORT_SUFFIXES
from ..config import default_jobs


def _export_target(to: Path | None) -> Path | None:
    """``export --out``: a .csv/.parquet file in a folder that exists (export never creates folders)."""
    if to is None:
        return None
    if to.suffix.lower() not in EXPORT_SUFFIXES:
        raise typer.BadParameter(f"{to} must end in .csv or .parquet")
    if to.is_dir():
        raise typer.BadParameter(f"{to} is a folder; give a file name")
    if not to.parent.is_dir():
        raise typer.BadParameter(f"folder {to.parent} does not exist")
    return to


def register(app: typer.Typer) -> None:
    from .common import (
        ClipKind,
        console,
        either,
        emit_json,
        finish,
        finite,
        hidden_alias,
        jobs_option,
        json_flag,
        json_mode,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
    )

    @app.command()
    def ingest(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Audio files, folders (recursive) and chart CSVs.")],
    ) -> None:
        """Register audio files and chart CSVs (the study's headers 音乐ID, 音乐名, … or English)."""
        from ..prepare.ingest import ingest as run_ingest

        with open_catalog(ctx) as cat:
            s = run_ingest(paths, cat)
        console.print(summary_table("ingest", {"chart rows": s.tracks, "audio ok": s.audio_ok,
                                                "audio failed": s.audio_failed, "unchanged": s.skipped}))
        print_failures(s.failures)
        console.print(f"catalog: {settings_of(ctx).catalog_path}")
        finish(failed=len(s.failures), produced=s.tracks + s.audio_ok + s.skipped,
               nothing="nothing registered: no chart CSV or audio file found")

    @app.command()
    def prepare(
        ctx: typer.Context,
        clip: Annotated[ClipKind, typer.Option("--clip", help="Which clip: first | offset | two | hook.")] = "first",
        offset: Annotated[float | None, typer.Option("--offset", callback=finite(0.0),
                                                     help="Clip start (s); implies --clip offset.")] = None,
        length: Annotated[float | None, typer.Option("--length", callback=finite(0.0, above=True),
                                                     help="Clip length (s).")] = None,
        two_clips: Annotated[bool, typer.Option("--two-clips", help="Two non-overlapping clips per song.")] = False,
        pad: Annotated[bool, typer.Option("--pad", help="Zero-pad songs shorter than the clip.")] = False,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Decode once, downmix, resample and cut clips into the cache (resumable)."""
        from ..prepare.clips import prepare as run_prepare

        kind = "two" if two_clips else ("offset" if offset is not None and clip == "first" else clip)
        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            s = run_prepare(cat, settings, kind=kind, length_s=length, offset_s=offset or 0.0, pad=pad, jobs=jobs)
        console.print(summary_table("prepare", {"songs ok": s.ok, "failed": s.failed, "already done": s.skipped,
                                                 "clips written": s.clips, "shorter than the clip": s.short}))
        print_failures(s.failures)
        console.print(f"clips: {settings.clip_dir}")
        finish(failed=s.failed, produced=s.ok + s.skipped, nothing="no clips: the catalog has no usable audio "
                                                                   "(run 'bgmscope ingest' first)")

    @app.command()
    def export(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="Catalog table (see 'bgmscope tables').")],
        out: Annotated[Path | None, typer.Option("--out", dir_okay=False, callback=_export_target,
                                                 help="out.csv or out.parquet (in an existing folder)")] = None,
        to: Annotated[Path | None, hidden_alias("--to", callback=_export_target)] = None,
    ) -> None:
        """Export a catalog table to CSV (UTF-8, formula-like cells neutralised) or Parquet."""
        to = either(out, to)
        if to is None:
            raise typer.BadParameter("give the file to write: --out out.csv|out.parquet", param_hint="'--out'")
        with open_catalog(ctx, read_only=True) as cat:
            out = cat.export(table, to)
        console.print(f"wrote {out}")

    @app.command()
    def tables(ctx: typer.Context, as_json: Annotated[bool, json_flag()] = False) -> None:
        """List the catalog's tables with their row counts."""
        with json_mode(as_json), open_catalog(ctx, read_only=True) as cat:
            rows = {t: int(cat.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in cat.table_names()}
        path = settings_of(ctx).catalog_path
        if as_json:
            emit_json({"catalog": str(path), "tables": rows})
        else:
            console.print(summary_table(f"catalog {path}", rows))

    @app.command()
    def demo(
        ctx: typer.Context,
        songs: Annotated[int, typer.Option("--songs", min=3, help="Songs in the demo corpus (>= 20 "
                                           "plants duplicate edits; the full demo uses 48).")] = 48,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the corpus and the stages.")] = 0,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Build the offline demo corpus (music21 scores rendered through a SoundFont) and run every stage."""
        from ..pipeline import run_demo

        if not run_demo(settings_of(ctx), songs=songs, seed=seed, jobs=jobs, console=console):
            raise typer.Exit(1)

    @app.command()
    def run(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Your songs (files/folders) and chart CSV.")],
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Ingest your own songs and chart CSV, then run every stage."""
        from ..pipeline import run_all

        if not run_all(settings_of(ctx), paths, jobs=jobs, console=console):
            raise typer.Exit(1)
