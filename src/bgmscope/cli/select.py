"""Command ``select``: GA feature selection over the song pairs, checked on held-out songs."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from .common import console, open_catalog, print_failures, settings_of, summary_table, working

    @app.command()
    def select(
        ctx: typer.Context,
        features: Annotated[str, typer.Option("--features", help="stat42 (the study's 42), all, or a,b,c.")] = "stat42",
        population: Annotated[int, typer.Option("--population", min=2, help="GA individuals per generation.")] = 50,
        generations: Annotated[int, typer.Option("--generations", min=0, help="GA generations.")] = 100,
        cxpb: Annotated[float, typer.Option("--cxpb", min=0.0, max=1.0, help="Crossover probability.")] = 0.8,
        mutpb: Annotated[float, typer.Option("--mutpb", min=0.0, max=1.0, help="Probability an offspring is mutated.")] = 1.0,
        indpb: Annotated[float | None, typer.Option("--indpb", min=0.0, max=1.0, help="Bit-flip probability (default 1/n_features).")] = None,
        elite: Annotated[int, typer.Option("--elite", min=0, help="Best individuals kept unchanged.")] = 2,
        folds: Annotated[int, typer.Option("--folds", min=0, help="k-fold over songs for the held-out check (0 = skip).")] = 5,
        n_random: Annotated[int, typer.Option("--random", min=1, help="Random subsets in the random baseline.")] = 100,
        greedy: Annotated[bool, typer.Option("--greedy/--no-greedy", help="Greedy forward baseline.")] = True,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    ) -> None:
        """Pick the features that best match each song's two clips (the study's GA), checked on held-out songs."""
        from ..select.evaluate import METHODS, SelectOptions
        from ..select.stage import run_select

        opts = SelectOptions(population=population, generations=generations, cxpb=cxpb, mutpb=mutpb, indpb=indpb,
                             elite=elite, folds=folds, n_random=n_random, greedy=greedy, seed=seed)
        with open_catalog(ctx) as cat, working(f"select: GA, {generations} generations x {population}"):
            report, run_id, notes = run_select(cat, feature_set=features, options=opts)
        rows: dict[str, object] = {"run": run_id, "songs (two clips each)": report.n_songs,
                                   "features kept": f"{int(report.support.sum())} of {len(report.feature_names)}"}
        header = "miss rate: in-sample" + (f" | held-out ({folds}-fold over songs)" if report.heldout else "")
        rows[header] = ""
        names = {"ga": "GA subset", "all": "all features", "random": "random subsets, same size (mean)",
                 "greedy": "greedy forward"}
        for m in METHODS:
            if m in report.insample:
                text = f"{report.insample[m]:.3f}"
                if m in report.heldout:
                    text += f" | {report.heldout[m]:.3f}"
                rows[f"  {names[m]}"] = text
        if not report.gain.empty:
            rows["held-out gain of the GA subset"] = "baseline miss rate − GA's; + = GA misses fewer"
            for r in report.gain.itertuples():
                rows[f"  vs {r.baseline}"] = r.sentence
        elif report.heldout == {}:
            rows["held-out gain of the GA subset"] = "not measured (--folds 0)"
        kept = report.selected
        rows["kept"] = ", ".join(kept[:24]) + (f", … ({len(kept) - 24} more in select_features)" if len(kept) > 24 else "")
        rows["search"] = (f"{generations} generations x {population}, {report.n_evaluations} evaluations, "
                          f"{report.seconds:.1f} s")
        console.print(summary_table("select", rows))
        print_failures(notes)
        console.print(f"tables: select_runs, select_convergence, select_fold_convergence, select_baselines, select_features, select_gain in "
                      f"{settings_of(ctx).catalog_path}")
