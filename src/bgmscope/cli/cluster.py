"""Command ``cluster``: scaler, PCA, KMeans/MiniBatchKMeans over k, stability, HDBSCAN, descriptions."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from typing import Annotated, Literal

import typer


def register(app: typer.Typer) -> None:
    from .common import (
        ClipKind,
        Lang,
        console,
        either,
        emit_json,
        finite,
        hidden_alias,
        json_flag,
        json_mode,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
        working,
    )

    @app.command()
    def cluster(
        ctx: typer.Context,
        clip: Annotated[ClipKind | None, typer.Option("--clip", help="Which clip per song: first | offset | hook | two "
                                                      "(default: first).")] = None,
        clip_kind: Annotated[ClipKind | None, hidden_alias("--clip-kind")] = None,
        features: Annotated[str, typer.Option("--features", help="choose (the null test picks among the latest selection, the 42 and all; no labels), auto (the latest selection, else the 42), selected, stat42, all, or a,b,c.")] = "choose",
        k_min: Annotated[int | None, typer.Option("--k-min", min=2, help="Smallest k (default from settings: 5).")] = None,
        k_max: Annotated[int | None, typer.Option("--k-max", min=2, help="Largest k (default from settings: 13).")] = None,
        components: Annotated[float, typer.Option("--components", callback=finite(0.0, above=True), help="PCA components to cluster in: an integer, or a share of variance in (0, 1).")] = 0.9,
        choose_by: Annotated[Literal["silhouette_gap", "silhouette", "calinski_harabasz", "davies_bouldin"], typer.Option("--choose-by", help="silhouette_gap (the silhouette above its null, among k reproducible over seeds) | silhouette (the study's) | calinski_harabasz | davies_bouldin")] = "silhouette_gap",
        null_permutations: Annotated[int, typer.Option("--null", min=0, help="Null data sets per null (columns permuted; one Gaussian cloud) for the structure test; 0 skips it (then --choose-by must not be silhouette_gap).")] = 30,
        stability_seeds: Annotated[int, typer.Option("--stability-seeds", min=0, help="Other random seeds for the ARI check.")] = 10,
        bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the ARI check.")] = 20,
        min_cluster_size: Annotated[int | None, typer.Option("--min-cluster-size", min=2, help="HDBSCAN (default max(5, songs/40)).")] = None,
        lang: Annotated[Lang, typer.Option("--lang", help="Descriptions in en or zh.")] = "en",
        show: Annotated[int, typer.Option("--show", min=0, help="Member titles shown per cluster.")] = 5,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        as_json: Annotated[bool, json_flag()] = False,
    ) -> None:
        """Cluster the songs (scaler, PCA, KMeans/MiniBatchKMeans over k), check stability, describe each cluster."""
        from ..cluster.clustering import ClusterOptions
        from ..cluster.stage import run_cluster

        s = settings_of(ctx)
        kind = either(clip, clip_kind, "first")
        nc: float | int = int(components) if float(components).is_integer() else components
        opts = ClusterOptions(k_min=k_min if k_min is not None else s.k_min, k_max=k_max if k_max is not None else s.k_max,
                              n_components=nc, choose_by=choose_by, stability_seeds=stability_seeds,
                              null_permutations=null_permutations,
                              bootstrap=bootstrap, min_cluster_size=min_cluster_size, seed=seed)
        with json_mode(as_json):
            with open_catalog(ctx) as cat:
                with working(f"cluster: k {opts.k_min}..{opts.k_max}, stability, HDBSCAN"):
                    res, desc, run_id, notes = run_cluster(cat, s, options=opts, clip_kind=kind, features=features)
                members = cat.read_frame("cluster_members", "WHERE method = 'kmeans' ORDER BY cluster, member_rank")
            _show(res, desc, run_id, notes, members, choose_by=choose_by, lang=lang, show=show,
                  catalog=s.catalog_path, as_json=as_json)

    def _show(res, desc, run_id, notes, members, *, choose_by, lang, show, catalog, as_json) -> None:
        from rich.table import Table

        from ..cluster.clustering import stability_verdict

        summ = res.summary()
        tables = ["cluster_runs", "cluster_sweep", "cluster_pca", "cluster_assignments", "cluster_members",
                  "cluster_descriptions", "cluster_members_hdbscan", "cluster_descriptions_hdbscan",
                  "cluster_k_labels", "cluster_null"]
        if as_json:
            emit_json({"run": run_id, "chosen_k": res.chosen_k, "choose_by": choose_by, "structure": res.structure,
                       "feature_set": res.feature_set,
                       "null": res.test.table if res.test is not None else None,
                       "stability": stability_verdict(summ["ari_bootstrap_mean"]), "summary": summ,
                       "features": list(res.feature_names), "sweep": res.sweep, "descriptions": desc,
                       "members": members, "notes": [{"item": i, "reason": r} for i, r in notes],
                       "catalog": str(catalog), "tables": tables})
            print_failures(notes)
            console.print(f"tables: {', '.join(tables)} in {catalog}")
            return
        sweep = Table(title="k sweep (KMeans | MiniBatchKMeans)")
        null_cols = res.test is not None
        for c in ("k", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia",
                  *(("silhouette null p95", "gap") if null_cols else ())):
            sweep.add_column(c, justify="right")
        for k, g in res.sweep.groupby("k"):
            km, mb = g[g.algorithm == "kmeans"].iloc[0], g[g.algorithm == "minibatch"].iloc[0]
            mark = " *" if k == res.chosen_k else ""
            extra = (f"{km['silhouette_null_p95']:.3g}", f"{km['silhouette_gap']:+.3g}") if null_cols else ()
            sweep.add_row(f"{k}{mark}", *(f"{km[c]:.3g} | {mb[c]:.3g}" for c in
                                          ("silhouette", "calinski_harabasz", "davies_bouldin", "inertia")), *extra)
        console.print(sweep)
        console.print(summary_table("cluster", {
            "run": run_id, "songs": summ["songs"],
            "structure": summ.get("structure_verdict", "not tested (--null 0)"),
            "features": f"{summ['features']} ({', '.join(res.feature_names[:6])}"
            + (", ..." if len(res.feature_names) > 6 else "") + ")"
            + (f", chosen set: {res.feature_set}" if res.feature_set != "input" else ""),
            "PCA": f"{summ['pca_components']} components, {summ['explained_used']:.0%} of variance "
                   f"(2-D plot: {summ['explained_2d']:.0%})",
            f"k by {choose_by}": f"{res.chosen_k}: {summ['groups']} groups of >= 3 songs, "
                                 f"{summ['outlier_songs']} outlier songs (clusters of 1-2, not groups)",
            "stability (ARI)": f"other seeds {summ['ari_seeds_mean']:.2f} ± {summ['ari_seeds_std']:.2f}, "
                               f"bootstrap {summ['ari_bootstrap_mean']:.2f} ± {summ['ari_bootstrap_std']:.2f}, "
                               f"MiniBatch vs KMeans {summ['ari_minibatch_vs_kmeans']:.2f} "
                               f"-> {stability_verdict(summ['ari_bootstrap_mean'])}",
            "HDBSCAN": f"{summ['hdbscan_clusters']} clusters, {summ['hdbscan_noise_share']:.0%} noise "
                       f"(min cluster size {summ['hdbscan_min_cluster_size']})"}))
        title = f"KMeans clusters (k={res.chosen_k})"
        if res.structure is False:
            title += ": NO CLUSTER STRUCTURE, a split of the songs, not groups"
        table = Table(title=title, show_lines=True)
        table.add_column("cluster")
        table.add_column("kind")
        table.add_column("songs", justify="right")
        table.add_column("description", overflow="fold", ratio=3)
        table.add_column("most used", overflow="fold", ratio=2)
        km = desc[desc["method"] == "kmeans"]
        for _, row in km.iterrows():
            titles = members[members["cluster"] == row["cluster"]]["title"].dropna().head(show)
            table.add_row(str(row["cluster"]), str(row["kind"]), str(row["size"]), str(row[f"description_{lang}"]),
                          ", ".join(str(t) for t in titles))
        console.print(table)
        print_failures(notes)
        console.print(f"tables: {', '.join(tables)} in {catalog}")
