"""Command ``tag``: musicnn tag scores for every chart song (first 15 s, hook, middle)."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from typing import Annotated, Literal

import typer

from ..config import default_jobs

Model = Literal["MSD", "MTT"]  # a click choice of MODELS (tests/test_tags.py checks they agree)


def register(app: typer.Typer) -> None:
    from rich.table import Table

    from .common import (
        console,
        emit_json,
        finish,
        jobs_option,
        json_flag,
        json_mode,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
    )

    @app.command()
    def tag(
        ctx: typer.Context,
        model: Annotated[Model, typer.Option("--model",
                                           help="musicnn model: MSD (genres, moods, vocals) or MTT "
                                                "(instruments, vocals, tempo).")] = "MSD",
        top: Annotated[int, typer.Option("--top", min=1, help="Tags shown per song.")] = 3,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
        as_json: Annotated[bool, json_flag()] = False,
    ) -> None:
        """Label every chart song with the musicnn tagger's scores (mean and spread over its clips)."""
        from ..tags.stage import tag_catalog, top_by_song

        settings = settings_of(ctx)
        with json_mode(as_json), open_catalog(ctx) as cat:
            s = tag_catalog(cat, settings, jobs=jobs, model=model, show_progress=not as_json)
            titles = dict(zip(cat.tracks()["track_id"].astype(str), cat.tracks()["title"], strict=True))
        if as_json:
            emit_json({"model": s.model, "songs": s.songs, "from_cache": s.cached, "failed": s.failed,
                       "catalog": str(settings.catalog_path), "table": "tags",
                       "tags": s.table.to_dict(orient="records"),
                       "failures": [{"item": i, "reason": r} for i, r in s.failures]})
            finish(failed=s.failed, produced=s.songs)
            return
        console.print(summary_table("tag", {"model": f"musicnn-{s.model}", "songs tagged": s.songs,
                                            "from cache": s.cached, "failed": s.failed}))
        if s.songs:
            t = Table(title=f"top {top} tags per song (mean over clips ± spread)")
            t.add_column("track_id")
            t.add_column("title")
            t.add_column("tags")
            tb = s.table.set_index(["track_id", "tag"])
            for track_id, g in top_by_song(s.table, k=top).groupby("track_id", sort=True):
                title = titles.get(str(track_id))
                t.add_row(str(track_id), title if isinstance(title, str) else "", ", ".join(
                    f"{r.tag} {r.mean:.2f}±{tb.loc[(track_id, r.tag), 'std']:.2f}" for r in g.itertuples()))
            console.print(t)
        print_failures(s.failures)
        console.print(f"table: tags in {settings.catalog_path}")
        finish(failed=s.failed, produced=s.songs)
