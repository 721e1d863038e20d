"""Command ``similar``: the nearest catalog songs to a catalog song or a new audio file."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated, Literal

import typer


def register(app: typer.Typer) -> None:
    import pandas as pd
    from rich.table import Table

    from .common import (
        ClipKind,
        console,
        emit_json,
        json_flag,
        json_mode,
        open_catalog,
        settings_of,
        working,
    )

    @app.command()
    def similar(
        ctx: typer.Context,
        song: Annotated[str | None, typer.Argument(help="A catalog song: track_id, music_id or title.")] = None,
        file: Annotated[Path | None, typer.Option("--file", help="An audio file not in the catalog.")] = None,
        k: Annotated[int, typer.Option("-k", min=1, help="How many neighbours.")] = 10,
        all_features: Annotated[bool, typer.Option("--all-features", help="Use every descriptor, not the "
                                                   "selected ones.")] = False,
        clip: Annotated[ClipKind | None, typer.Option("--clip", help="Clip kind (default: first).")] = None,
        metric: Annotated[Literal["euclidean", "popularity"], typer.Option(
            "--metric", help="euclidean | popularity (features weighted by their importance in the hits "
                             "model)")] = "euclidean",
        basis: Annotated[Literal["auto", "song", "clip"], typer.Option(
            "--basis", help="auto (the whole song when the catalog has the audio, else the clip descriptors) | "
                            "song (windows over the whole song, silence trimmed) | clip")] = "auto",
        jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes for songs not yet "
                                          "described (whole-song basis; cached afterwards).")] = 1,
        as_json: Annotated[bool, json_flag()] = False,
    ) -> None:
        """The nearest catalog songs to SONG or to --file new.mp3, with distances."""
        from ..similar.search import similar as find_similar

        settings = settings_of(ctx)
        with json_mode(as_json), open_catalog(ctx, read_only=True) as cat, working("similar: nearest songs"):
            res = find_similar(cat, song=song, file=file, k=k, features="all" if all_features else "selected",
                               clip_kind=clip, metric=metric, sample_rate=settings.sample_rate,
                               clip_length_s=settings.clip_length_s, basis=basis, jobs=jobs,
                               cache_dir=settings.data_dir / "cache" / "similar")
        if as_json:
            emit_json({"query": res.query, "basis": res.basis, "feature_set": res.feature_set,
                       "clip_kind": res.clip_kind, "metric": res.metric, "neighbours": res.neighbours,
                       "notes": [{"item": i, "reason": r} for i, r in res.notes]})
            return
        if res.basis == "song":
            title = (f"nearest to {res.query} (compared over the {res.feature_set}; distance = mean over the "
                     "query's windows of the RMS z-score difference to the song's nearest window)")
        else:
            title = (f"nearest to {res.query} ({res.feature_set} features, {res.clip_kind} clip, "
                     f"{res.metric} metric; distance = RMS z-score difference)")
        t = Table(title=title)
        for c in ("#", "track_id", "title", "distance", "user_count", "rank", "same recording"):
            t.add_column(c)
        for r in res.neighbours.itertuples():
            t.add_row(str(r.rank), str(r.track_id), "" if pd.isna(r.title) else str(r.title), f"{r.distance:.3f}",
                      "" if pd.isna(r.user_count) else str(int(r.user_count)),
                      "" if pd.isna(r.chart_rank) else str(int(r.chart_rank)),
                      "yes" if r.same_recording else "")
        console.print(t)
        for item, reason in res.notes:
            console.print(f"[yellow]left out {item}: {reason}[/yellow]")
