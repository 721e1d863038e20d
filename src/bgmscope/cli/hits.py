"""Command ``hits``: features against popularity (Spearman, bootstrap CIs, FDR), a CV model, chart vs reference."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    from rich.table import Table

    from .common import (
        ClipKind,
        console,
        either,
        emit_json,
        finish,
        hidden_alias,
        jobs_option,
        json_flag,
        json_mode,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
        working,
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
        bootstrap: Annotated[int | None, typer.Option("--bootstrap", min=0,
                                                      help="Bootstrap resamples for the CIs (default 1000).")] = None,
        boot: Annotated[int | None, hidden_alias("--boot", min=0)] = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        jobs: Annotated[int, jobs_option("Workers for describing reference audio and hook clips.")] = default_jobs(),
        as_json: Annotated[bool, json_flag()] = False,
    ) -> None:
        """Features against popularity (Spearman + bootstrap CI + FDR), a CV model, chart vs reference."""
        from ..hits.popularity import HitsOptions, analyse, load_reference, write_tables
        from ..hits.stage import hook_features

        settings = settings_of(ctx)
        failures: list[tuple[str, str]] = []
        opts = HitsOptions(clip_kind=clip, count_groups_once=not count_edits, model=model,
                           n_boot=int(either(bootstrap, boot, 1000)), reference=reference, seed=seed)

        def loader(path: Path, kind: str):
            return load_reference(path, kind, sample_rate=settings.sample_rate,
                                  clip_length_s=settings.clip_length_s, jobs=jobs, failures=failures)

        with json_mode(as_json):
            with open_catalog(ctx) as cat:
                with working("hits: correlations, bootstrap CIs, model" + (", reference" if reference else "")):
                    hooks = hook_features(cat, settings, jobs, failures)
                    res = analyse(cat, opts, reference_loader=loader, hook_features=hooks)
                names = write_tables(cat, res)
                if failures:
                    run_id = cat.start_run("hits", {"reference": str(reference)})
                    for item, reason in failures:
                        cat.record_failure(run_id, "hits", item, reason)
                    cat.finish_run(run_id, 0, len(failures), 0)
            if as_json:
                emit_json({"songs": res.n_songs, "clip_kind": res.clip_kind, "edits_grouped": not count_edits,
                           "tables": dict(res.tables), "failures": [{"item": i, "reason": r} for i, r in failures],
                           "catalog": str(settings.catalog_path)})
            else:
                _show(res, count_edits=count_edits)
            print_failures(failures)
            console.print(f"tables: {', '.join(names)} in {settings.catalog_path}")
            finish(failed=len(failures), produced=res.n_songs)

    def _show(res, *, count_edits: bool) -> None:
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
