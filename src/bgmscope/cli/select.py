"""Commands ``select`` (GA feature selection) and ``cluster`` (k sweep, stability, HDBSCAN, descriptions)."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from typing import Annotated, Literal

import typer


def register(app: typer.Typer) -> None:
    from .common import (
        ClipKind,
        Lang,
        console,
        finite,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
    )

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
        folds: Annotated[int, typer.Option("--folds", help="k-fold over songs for the held-out check (0 = skip).")] = 5,
        n_random: Annotated[int, typer.Option("--random", min=1, help="Random subsets in the random baseline.")] = 100,
        greedy: Annotated[bool, typer.Option("--greedy/--no-greedy", help="Greedy forward baseline.")] = True,
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Pick the features that best match each song's two clips (the study's GA), checked on held-out songs."""
        from ..select.evaluate import METHODS, SelectOptions
        from ..select.stage import run_select

        opts = SelectOptions(population=population, generations=generations, cxpb=cxpb, mutpb=mutpb, indpb=indpb,
                             elite=elite, folds=folds, n_random=n_random, greedy=greedy, seed=seed)
        with open_catalog(ctx) as cat:
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
        kept = report.selected
        rows["kept"] = ", ".join(kept[:24]) + (f", … ({len(kept) - 24} more in select_features)" if len(kept) > 24 else "")
        rows["search"] = (f"{generations} generations x {population}, {report.n_evaluations} evaluations, "
                          f"{report.seconds:.1f} s")
        console.print(summary_table("select", rows))
        print_failures(notes)
        console.print(f"tables: select_runs, select_convergence, select_fold_convergence, select_baselines, select_features in "
                      f"{settings_of(ctx).catalog_path}")

    @app.command()
    def cluster(
        ctx: typer.Context,
        clip_kind: Annotated[ClipKind, typer.Option("--clip", "--clip-kind",
                                                    help="Which clip per song: first | offset | hook | two.")] = "first",
        features: Annotated[str, typer.Option("--features", help="auto (the latest selection, else the 42), selected, stat42, all, or a,b,c.")] = "auto",
        k_min: Annotated[int | None, typer.Option("--k-min", min=2, help="Smallest k (default from settings: 5).")] = None,
        k_max: Annotated[int | None, typer.Option("--k-max", min=2, help="Largest k (default from settings: 13).")] = None,
        components: Annotated[float, typer.Option("--components", callback=finite(0.0, above=True), help="PCA components to cluster in: an integer, or a share of variance in (0, 1).")] = 0.9,
        choose_by: Annotated[Literal["silhouette", "calinski_harabasz", "davies_bouldin"], typer.Option("--choose-by", help="silhouette | calinski_harabasz | davies_bouldin")] = "silhouette",
        stability_seeds: Annotated[int, typer.Option("--stability-seeds", min=0, help="Other seeds for the ARI check.")] = 10,
        bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the ARI check.")] = 20,
        min_cluster_size: Annotated[int | None, typer.Option("--min-cluster-size", min=2, help="HDBSCAN (default max(5, songs/40)).")] = None,
        lang: Annotated[Lang, typer.Option("--lang", help="Descriptions in en or zh.")] = "en",
        show: Annotated[int, typer.Option("--show", min=0, help="Member titles shown per cluster.")] = 5,
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Cluster the songs (scaler, PCA, KMeans/MiniBatchKMeans over k), check stability, describe each cluster."""
        from rich.table import Table

        from ..cluster.clustering import ClusterOptions, stability_verdict
        from ..cluster.stage import run_cluster

        s = settings_of(ctx)
        nc: float | int = int(components) if float(components).is_integer() else components
        opts = ClusterOptions(k_min=k_min if k_min is not None else s.k_min, k_max=k_max if k_max is not None else s.k_max,
                              n_components=nc, choose_by=choose_by, stability_seeds=stability_seeds,
                              bootstrap=bootstrap, min_cluster_size=min_cluster_size, seed=seed)
        with open_catalog(ctx) as cat:
            res, desc, run_id, notes = run_cluster(cat, s, options=opts, clip_kind=clip_kind, features=features)
            members = cat.read_frame("cluster_members", "WHERE method = 'kmeans' ORDER BY cluster, member_rank")
        summ = res.summary()
        sweep = Table(title="k sweep (KMeans | MiniBatchKMeans)")
        for c in ("k", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia"):
            sweep.add_column(c, justify="right")
        for k, g in res.sweep.groupby("k"):
            km, mb = g[g.algorithm == "kmeans"].iloc[0], g[g.algorithm == "minibatch"].iloc[0]
            mark = " *" if k == res.chosen_k else ""
            sweep.add_row(f"{k}{mark}", *(f"{km[c]:.3g} | {mb[c]:.3g}" for c in
                                          ("silhouette", "calinski_harabasz", "davies_bouldin", "inertia")))
        console.print(sweep)
        console.print(summary_table("cluster", {
            "run": run_id, "songs": summ["songs"], "features": f"{summ['features']} ({', '.join(res.feature_names[:6])}"
            + (", ..." if len(res.feature_names) > 6 else "") + ")",
            "PCA": f"{summ['pca_components']} components, {summ['explained_used']:.0%} of variance "
                   f"(2-D plot: {summ['explained_2d']:.0%})",
            f"k by {choose_by}": res.chosen_k,
            "stability (ARI)": f"other seeds {summ['ari_seeds_mean']:.2f} ± {summ['ari_seeds_std']:.2f}, "
                               f"bootstrap {summ['ari_bootstrap_mean']:.2f} ± {summ['ari_bootstrap_std']:.2f}, "
                               f"MiniBatch vs KMeans {summ['ari_minibatch_vs_kmeans']:.2f} "
                               f"-> {stability_verdict(summ['ari_bootstrap_mean'])}",
            "HDBSCAN": f"{summ['hdbscan_clusters']} clusters, {summ['hdbscan_noise_share']:.0%} noise "
                       f"(min cluster size {summ['hdbscan_min_cluster_size']})"}))
        table = Table(title=f"KMeans clusters (k={res.chosen_k})", show_lines=True)
        table.add_column("cluster")
        table.add_column("songs", justify="right")
        table.add_column("description", overflow="fold", ratio=3)
        table.add_column("most used", overflow="fold", ratio=2)
        km = desc[desc["method"] == "kmeans"]
        for _, row in km.iterrows():
            titles = members[members["cluster"] == row["cluster"]]["title"].dropna().head(show)
            table.add_row(str(row["cluster"]), str(row["size"]), str(row[f"description_{lang}"]),
                          ", ".join(str(t) for t in titles))
        console.print(table)
        print_failures(notes)
        console.print("tables: cluster_runs, cluster_sweep, cluster_pca, cluster_assignments, cluster_members, "
                      f"cluster_descriptions, cluster_members_hdbscan, cluster_descriptions_hdbscan in {s.catalog_path}")
