"""The ``cluster`` stage: one clip per song, the selected features, the sweep, and words per cluster.

Tables written (documented in docs/select-cluster.md): ``cluster_runs`` (history kept), and for the
latest run ``cluster_sweep``, ``cluster_pca``, ``cluster_assignments``, ``cluster_members`` and
``cluster_descriptions`` (the chosen KMeans clustering), ``cluster_members_hdbscan``,
``cluster_descriptions_hdbscan``, ``cluster_k_labels`` (every fit of the sweep, so a report can draw
each k without refitting) and ``cluster_null`` (the permutation test per feature set and k).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pandas as pd

from ..catalog import Catalog, now
from ..config import Settings
from ..errors import CatalogError
from ..features.extract import descriptor_columns, source_columns
from ..select.data import (
    FeatureMatrix,
    one_clip_matrix,
    read_features,
    stat42_names,
    storable,
)
from .clustering import (
    ClusterOptions,
    ClusterResult,
    cluster_candidates,
    cluster_songs,
    describe_clusters,
    stability_verdict,
)

STAGE = "cluster"


def choose_features(catalog: Catalog, features: str, clip_kind: str) -> tuple[list[str], str]:
    """The columns to cluster on and where they came from.

    ``features``: ``'auto'`` (the latest selection when there is one, else the study's 42),
    ``'choose'`` (see :func:`candidate_sets`: the caller lets the structure test pick),
    ``'selected'`` (the latest selection, required), ``'stat42'``, ``'all'`` (every descriptor; the
    categorical key columns are encoded by the clustering) or comma-separated names.
    """
    df = read_features(catalog)
    if features in ("auto", "selected"):
        from ..select.stage import latest_selection

        sel = latest_selection(catalog)
        if sel is not None:
            names, feature_set = sel
            names = source_columns(names)  # a selected key_pc_sin / key_pc_cos is the stored key_pc
            missing = [c for c in names if c not in df.columns]
            if not missing:
                return names, f"selected ({feature_set}, {len(names)} features)"
            if features == "selected":
                raise CatalogError(f"the selected features {', '.join(missing[:5])} are not in the features table")
        elif features == "selected":
            raise CatalogError("no feature selection in the catalog: run 'bgmscope select' first")
        features = "stat42" if all(c in df.columns for c in stat42_names()) else "all"
    if features == "stat42":
        return stat42_names(), "stat42"
    if features == "all":
        return descriptor_columns(df[df["clip_kind"] == clip_kind] if "clip_kind" in df else df), "all"
    return [c.strip() for c in features.split(",") if c.strip()], "list"


def candidate_sets(catalog: Catalog, clip_kind: str) -> dict[str, tuple[list[str], str]]:
    """The feature sets ``features='choose'`` picks from: the latest selection (when there is one
    and its columns are stored), the study's 42 (when stored) and every descriptor. Duplicates go."""
    df = read_features(catalog)
    out: dict[str, tuple[list[str], str]] = {}
    from ..select.stage import latest_selection

    sel = latest_selection(catalog)
    if sel is not None:
        names = source_columns(sel[0])
        if names and all(c in df.columns for c in names):
            out["selected"] = (names, f"selected ({sel[1]}, {len(names)} features)")
    if all(c in df.columns for c in stat42_names()):
        out["stat42"] = (stat42_names(), "stat42")
    every = descriptor_columns(df[df["clip_kind"] == clip_kind] if "clip_kind" in df else df)
    if every:
        out["all"] = (every, f"all ({len(every)} features)")
    seen: set[tuple[str, ...]] = set()
    for name in list(out):
        key = tuple(sorted(out[name][0]))
        if key in seen:
            del out[name]
        seen.add(key)
    return out


def _chosen_matrix(catalog: Catalog, clip_kind: str, opts: ClusterOptions, jobs: int = 1
                   ) -> tuple[ClusterResult, FeatureMatrix, str]:
    """The structure test over every candidate set (on the songs every set keeps), and its choice."""
    cands = candidate_sets(catalog, clip_kind)
    if not cands:
        raise CatalogError("no descriptor columns in the features table: run 'bgmscope features'")
    fms = {name: one_clip_matrix(catalog, names, clip_kind) for name, (names, _) in cands.items()}
    common = set.intersection(*(set(fm.ids["clip_id"]) for fm in fms.values()))
    for name, fm in fms.items():
        keep = fm.ids["clip_id"].isin(common).to_numpy()
        dropped = [(str(c), "missing features in another candidate set") for c in fm.ids["clip_id"][~keep]]
        fms[name] = FeatureMatrix(fm.X[keep].reset_index(drop=True), fm.ids[keep].reset_index(drop=True),
                                  fm.dropped_features, fm.notes + dropped)
    ref = next(iter(fms.values())).ids["clip_id"].tolist()
    for name in fms:  # one row order for all
        order = pd.Series(range(len(ref)), index=ref)[fms[name].ids["clip_id"]].argsort().to_numpy()
        fms[name] = FeatureMatrix(fms[name].X.iloc[order].reset_index(drop=True),
                                  fms[name].ids.iloc[order].reset_index(drop=True),
                                  fms[name].dropped_features, fms[name].notes)
    n = len(ref)
    if n < opts.k_min + 1:
        raise CatalogError(f"only {n} songs have usable {clip_kind!r} features; "
                           f"clustering into k >= {opts.k_min} needs at least {opts.k_min + 1}")
    res = cluster_candidates({name: fm.X for name, fm in fms.items()}, opts, jobs=jobs)
    fm = fms[res.feature_set]
    notes = sorted(set().union(*(set(f.notes) for f in fms.values())))
    source = f"chosen: {cands[res.feature_set][1]} of {', '.join(cands)}"
    return res, FeatureMatrix(fm.X, fm.ids, fm.dropped_features, notes), source


def run_cluster(catalog: Catalog, settings: Settings, *, options: ClusterOptions | None = None,
                clip_kind: str = "first", features: str = "auto", jobs: int = 1
                ) -> tuple[ClusterResult, pd.DataFrame, str, list[tuple[str, str]]]:
    """Cluster the songs and store the results. Returns (result, descriptions, run_id, notes).
    ``jobs``: workers for the structure test's null fits (``features='choose'``)."""
    opts = options or ClusterOptions(k_min=settings.k_min, k_max=settings.k_max, seed=settings.seed)
    opts.check()
    if features == "choose":
        res, fm, source = _chosen_matrix(catalog, clip_kind, opts, jobs)
    else:
        names, source = choose_features(catalog, features, clip_kind)
        fm = one_clip_matrix(catalog, names, clip_kind)
        if len(fm.X) < opts.k_min + 1:
            raise CatalogError(f"only {len(fm.X)} songs have usable {clip_kind!r} features; "
                               f"clustering into k >= {opts.k_min} needs at least {opts.k_min + 1}")
        res = cluster_songs(fm.X, opts)
    run_id = catalog.start_run(STAGE, {"clip_kind": clip_kind, "features": source, **asdict(opts)})
    for item, reason in fm.notes:
        catalog.record_failure(run_id, STAGE, item, reason)
    desc = _store(catalog, run_id, res, fm, clip_kind, source)
    catalog.finish_run(run_id, ok=len(fm.X), failed=len(fm.notes), skipped=0)
    return res, desc, run_id, fm.notes


def _store(catalog: Catalog, run_id: str, res: ClusterResult, fm: FeatureMatrix, clip_kind: str,
           source: str) -> pd.DataFrame:
    base = {"run_id": run_id}
    # `cluster` repeats the chosen (KMeans) label under the name generic readers look for
    assign = pd.DataFrame({"clip_id": fm.ids["clip_id"], "track_id": fm.ids["track_id"],
                           "cluster": res.kmeans.astype(int), "kmeans": res.kmeans.astype(int),
                           "minibatch": res.minibatch.astype(int), "hdbscan": res.hdbscan.astype(int),
                           "hdbscan_probability": res.hdbscan_probability,
                           "pc1": res.pcs2[:, 0], "pc2": res.pcs2[:, 1]}).assign(**base)

    tracks = catalog.tracks()
    info_cols = ["track_id", "title", "author", "user_count", "user_incr", "rank"]
    info = tracks[info_cols] if not tracks.empty else pd.DataFrame(columns=info_cols)
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for method, labels in (("kmeans", res.kmeans), ("hdbscan", res.hdbscan)):
        m = assign[["clip_id", "track_id"]].assign(method=method, cluster=labels.astype(int))
        m = m.merge(info, on="track_id", how="left")
        m = m.sort_values(["cluster", "user_count", "rank", "track_id"], ascending=[True, False, True, True],
                          na_position="last")
        m["member_rank"] = m.groupby("cluster").cumcount() + 1
        d = describe_clusters(res.Z, labels, res.feature_names,
                              structure=res.structure if method == "kmeans" else None)
        stats = m.groupby("cluster").agg(mean_user_count=("user_count", "mean"),
                                         median_user_count=("user_count", "median"),
                                         examples=("title", lambda s: " | ".join(str(t) for t in s.dropna()[:3])))
        d = d.merge(stats.reset_index(), on="cluster", how="left")
        d.insert(0, "method", method)
        m = m[["method", "cluster", "member_rank", "track_id", "clip_id", "title", "author", "user_count",
               "user_incr", "rank"]].assign(**base)
        m = storable(m, text=("method", "track_id", "clip_id", "title", "author", "run_id"))
        m[["user_count", "user_incr", "rank"]] = m[["user_count", "user_incr", "rank"]].astype("Int64")
        d = storable(d.assign(**base), text=("method", "kind", "description_en", "description_zh", "top_features",
                                             "examples", "run_id"))
        tables[method] = (m.reset_index(drop=True), d)
    members_df, desc_df = tables["kmeans"]

    s = res.summary()
    row = {**base, "created_at": now(), "clip_kind": clip_kind, "features": source,
           "feature_names": ",".join(res.feature_names), "n_songs": s["songs"], "n_features": s["features"],
           "n_components": s["pca_components"], "explained_2d": s["explained_2d"],
           "explained_used": s["explained_used"], "criterion": s["criterion"], "chosen_k": s["k"],
           "silhouette": s["silhouette"], "groups": s["groups"], "outlier_songs": s["outlier_songs"],
           "structure": s.get("structure"), "structure_verdict": s.get("structure_verdict", "not tested"),
           **{k: v for k, v in s.items() if k.startswith(("ari_", "hdbscan_", "null_"))},
           "stability_verdict": stability_verdict(s["ari_bootstrap_mean"]),
           "seconds": res.seconds, "params": json.dumps(asdict(res.options))}
    runs = storable(pd.DataFrame([row]), text=("run_id", "clip_kind", "features", "feature_names", "criterion",
                                                "params", "stability_verdict",
                                                "structure_verdict"))
    old = catalog.read_frame("cluster_runs")
    if not old.empty:
        runs = pd.concat([old, runs], ignore_index=True)
    catalog.write_frame("cluster_runs", runs)
    catalog.write_frame("cluster_sweep", res.sweep.assign(**base))
    catalog.write_frame("cluster_pca", res.pca.assign(**base))
    catalog.write_frame("cluster_k_labels", k_labels_frame(res, fm).assign(**base))
    null = res.test.table if res.test is not None else pd.DataFrame(columns=["feature_set", "k"])
    catalog.write_frame("cluster_null", storable(null.assign(**base), text=("feature_set", "run_id")))
    catalog.write_frame("cluster_assignments", assign)
    catalog.write_frame("cluster_members", members_df)
    catalog.write_frame("cluster_descriptions", desc_df)
    catalog.write_frame("cluster_members_hdbscan", tables["hdbscan"][0])
    catalog.write_frame("cluster_descriptions_hdbscan", tables["hdbscan"][1])
    return desc_df


def k_labels_frame(res: ClusterResult, fm: FeatureMatrix) -> pd.DataFrame:
    """One row per (algorithm, k, song) of the sweep: the labels each fit gave (long format)."""
    parts = [pd.DataFrame({"algorithm": algo, "k": k, "track_id": fm.ids["track_id"].to_numpy(),
                           "clip_id": fm.ids["clip_id"].to_numpy(), "label": labels.astype(int)})
             for (algo, k), labels in sorted(res.k_labels.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    cols = ["algorithm", "k", "track_id", "clip_id", "label"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out[["k", "label"]] = out[["k", "label"]].astype("int64")
    return storable(out, text=("algorithm", "track_id", "clip_id"))


OUTPUT_TABLES = ["cluster_runs", "cluster_sweep", "cluster_pca", "cluster_k_labels", "cluster_null",
                 "cluster_assignments", "cluster_members", "cluster_descriptions", "cluster_members_hdbscan",
                 "cluster_descriptions_hdbscan"]


def stage_cache(ctx, opts: ClusterOptions):
    from ..select.stagecache import StageCache

    return StageCache(ctx.catalog, ctx.settings.data_dir, STAGE,
                      inputs=["features", "select_features", "tracks", "clips"], outputs=OUTPUT_TABLES,
                      params={"clip_kind": "first", "features": "choose", **asdict(opts)},
                      code=["cluster", "select", "features/extract", "features/names"])


def run_stage(ctx, force: bool = False) -> dict:
    """Pipeline entry: the 'first' clips, the latest selection (else the 42), k from the settings.
    Skipped when its inputs, options and code are those of the stored run (``select.stagecache``)."""
    from ..select.stagecache import cached_stage

    s = ctx.settings
    opts = ClusterOptions(k_min=s.k_min, k_max=s.k_max, seed=ctx.seed)
    return cached_stage(stage_cache(ctx, opts), lambda: _compute(ctx, opts), force=force, console=ctx.console)


def _compute(ctx, opts: ClusterOptions) -> dict:
    res, desc, _, notes = run_cluster(ctx.catalog, ctx.settings, options=replace(opts), clip_kind="first",
                                      features="choose", jobs=ctx.jobs)
    st = res.stability
    km = desc[(desc["method"] == "kmeans") & (desc["kind"] == "group")]
    summ = res.summary()
    out = {"songs": len(res.kmeans), "features": f"{len(res.feature_names)} ({res.feature_set})",
           "structure": summ.get("structure_verdict", "not tested"),
           f"k ({opts.choose_by})": f"{res.chosen_k}: {summ['groups']} groups of >= 3 songs, "
                                    f"{summ['outlier_songs']} outlier songs",
           "ARI seeds/bootstrap": f"{st['ari_seeds_mean']:.2f}/{st['ari_bootstrap_mean']:.2f} "
                                  f"({stability_verdict(st['ari_bootstrap_mean']).split(':')[0]})",
           "HDBSCAN clusters/noise": f"{res.hdbscan_summary['hdbscan_clusters']}/"
                                     f"{res.hdbscan_summary['hdbscan_noise_share']:.0%}",
           "largest group": "none (no cluster structure)" if res.structure is False or km.empty else
           str(km.sort_values("size", ascending=False)["description_en"].iloc[0])
           .removeprefix("Compared with the average song: ")}
    if notes:
        out["skipped"] = len(notes)
    return out

