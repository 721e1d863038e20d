"""Hit analysis commands: ``hits`` (statistics), ``versions`` (duplicate edits + hook positions) and
``similar`` (nearest catalog songs)."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    import pandas as pd
    from rich.table import Table

    from .common import (
        ClipKind,
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
    def hits(
        ctx: typer.Context,
        reference: Annotated[Path | None, typer.Option(
            "--reference", help="Non-chart songs to compare with: a folder of audio, a catalog.duckdb "
                                "or a bgmscope data dir.")] = None,
        clip: Annotated[ClipKind | None, typer.Option("--clip", help="Clip kind to analyse (default: first).")] = None,
        model: Annotated[Literal["elasticnet", "gbr"], typer.Option("--model", help="elasticnet | gbr")] = "elasticnet",
        count_edits: Annotated[bool, typer.Option(
            "--count-edits/--group-edits",
            help="Count each edit of a song separately (default: a version group counts once).")] = False,
        boot: Annotated[int, typer.Option("--boot", min=0, help="Bootstrap resamples for the CIs.")] = 1000,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        jobs: Annotated[int, jobs_option("Workers for describing reference audio.")] = default_jobs(),
    ) -> None:
        """Features against popularity (Spearman + bootstrap CI + FDR), a CV model, chart vs reference."""
        from ..hits.popularity import HitsOptions, analyse, load_reference, write_tables

        settings = settings_of(ctx)
        failures: list[tuple[str, str]] = []
        opts = HitsOptions(clip_kind=clip, count_groups_once=not count_edits, model=model, n_boot=boot,
                           reference=reference, seed=seed)

        def loader(path: Path, kind: str):
            return load_reference(path, kind, sample_rate=settings.sample_rate,
                                  clip_length_s=settings.clip_length_s, jobs=jobs, failures=failures)

        with open_catalog(ctx) as cat:
            res = analyse(cat, opts, reference_loader=loader)
            names = write_tables(cat, res)
            if failures:
                run_id = cat.start_run("hits", {"reference": str(reference)})
                for item, reason in failures:
                    cat.record_failure(run_id, "hits", item, reason)
                cat.finish_run(run_id, 0, len(failures), 0)
        console.print(summary_table("hits", {"songs": res.n_songs, "clip kind": res.clip_kind,
                                             "edits grouped": "no" if count_edits else "yes"}))
        corr = res.tables["hits_correlations"]
        t = Table(title="strongest correlations (BH q over all features of a target)")
        for c in ("target", "feature", "rho", "95% CI", "q"):
            t.add_column(c)
        for target, g in corr.groupby("target", sort=False):
            for r in g.head(5).itertuples():
                t.add_row(target, r.feature, f"{r.rho:+.2f}", f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]", f"{r.q:.3g}")
        console.print(t)
        for r in res.tables["hits_summary"].itertuples():
            console.print(f"  [bold]{r.topic}[/bold]: {r.finding}", highlight=False)
        print_failures(failures)
        console.print(f"tables: {', '.join(names)} in {settings.catalog_path}")
        finish(failed=len(failures), produced=res.n_songs)

    @app.command()
    def versions(
        ctx: typer.Context,
        threshold: Annotated[float, typer.Option("--threshold", min=0.0, max=1.0,
                                                 help="Aligned similarity (0..1) that makes two songs "
                                                      "versions of one recording.")] = 0.85,
        min_overlap: Annotated[float, typer.Option("--min-overlap", callback=finite(0.0, above=True),
                                                   help="Seconds two songs must share.")] = 8.0,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Find duplicate edits (cuts, re-encodes, gain changes) and each song's hook position."""
        from ..versions.stage import scan_songs

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            s = scan_songs(cat, settings, jobs=jobs, threshold=threshold, min_overlap_s=min_overlap)
        console.print(summary_table("versions", {"songs scanned": s.songs, "from cache": s.cached,
                                                 "failed": s.failed, "groups with edits": s.groups,
                                                 "edits folded": s.edits}))
        multi = s.versions[s.versions["group_size"] > 1]
        if not multi.empty:
            t = Table(title="version groups")
            for c in ("group", "track_id", "title", "score", "offset (s)"):
                t.add_column(c)
            for r in multi.itertuples():
                mark = "*" if r.is_representative else ""
                t.add_row(str(r.group_id), f"{r.track_id}{mark}", "" if pd.isna(r.title) else str(r.title),
                          f"{r.best_score:.3f}", "" if pd.isna(r.offset_s) else f"{r.offset_s:+.1f}")
            console.print(t)
            console.print("  * the group's full version (the longest file)")
        print_failures(s.failures)
        console.print(f"tables: versions, version_pairs, hook_positions in {settings.catalog_path}")
        finish(failed=s.failed, produced=s.songs)

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
    ) -> None:
        """The nearest catalog songs to SONG or to --file new.mp3, with distances."""
        from ..similar.search import similar as find_similar

        settings = settings_of(ctx)
        with open_catalog(ctx, read_only=True) as cat:
            res = find_similar(cat, song=song, file=file, k=k, features="all" if all_features else "selected",
                               clip_kind=clip, metric=metric, sample_rate=settings.sample_rate,
                               clip_length_s=settings.clip_length_s)
        t = Table(title=f"nearest to {res.query} ({res.feature_set} features, {res.clip_kind} clip, "
                        f"{res.metric} metric; distance = RMS z-score difference)")
        for c in ("#", "track_id", "title", "distance", "user_count", "rank", "same recording"):
            t.add_column(c)
        for r in res.neighbours.itertuples():
            t.add_row(str(r.rank), str(r.track_id), "" if pd.isna(r.title) else str(r.title), f"{r.distance:.3f}",
                      "" if pd.isna(r.user_count) else str(int(r.user_count)),
                      "" if pd.isna(r.chart_rank) else str(int(r.chart_rank)),
                      "yes" if r.same_recording else "")
        console.print(t)
