"""Command ``versions``: duplicate edits (cuts, re-encodes, gain, speed changes, intros) and each song's hook position."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from typing import Annotated

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    import pandas as pd
    from rich.table import Table

    from .common import (
        console,
        finish,
        finite,
        jobs_option,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
    )

    @app.command()
    def versions(
        ctx: typer.Context,
        threshold: Annotated[float, typer.Option("--threshold", min=0.0, max=1.0,
                                                 help="Correlation (0..1) of two songs' aligned band "
                                                      "energies over their whole overlap that makes them "
                                                      "versions of one recording.")] = 0.6,
        min_overlap: Annotated[float, typer.Option("--min-overlap", callback=finite(0.0, above=True),
                                                   help="Seconds two songs must share.")] = 8.0,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Find duplicate edits (cuts, re-encodes, gain, +-12 % speed changes, intros) and each song's hook position."""
        from ..versions.stage import scan_songs

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            s = scan_songs(cat, settings, jobs=jobs, threshold=threshold, min_overlap_s=min_overlap)
        console.print(summary_table("versions", {"songs scanned": s.songs, "from cache": s.cached,
                                                 "failed": s.failed, "pairs aligned": s.candidates + s.group_checks,
                                                 "groups with edits": s.groups,
                                                 "edits folded": s.edits}))
        multi = s.versions[s.versions["group_size"] > 1]
        if not multi.empty:
            t = Table(title="version groups")
            for c in ("group", "track_id", "title", "score", "offset (s)", "speed"):
                t.add_column(c)
            for r in multi.itertuples():
                mark = "*" if r.is_representative else ""
                t.add_row(str(r.group_id), f"{r.track_id}{mark}", "" if pd.isna(r.title) else str(r.title),
                          "" if pd.isna(r.best_score) else f"{r.best_score:.3f}",
                          "" if pd.isna(r.offset_s) else f"{r.offset_s:+.1f}",
                          "" if pd.isna(r.stretch) else f"{r.stretch:.3f}")
            console.print(t)
            console.print("  * the group's representative (closest to the group's median length, least silence "
                          "at its ends); speed: this song's seconds per its best match's second")
        print_failures(s.failures)
        console.print(f"tables: versions, version_pairs, hook_positions in {settings.catalog_path}")
        finish(failed=s.failed, produced=s.songs)
