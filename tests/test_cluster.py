"""Clustering: k found on separated groups, stability, HDBSCAN, descriptions in words, catalog tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from bgmscope.catalog import Catalog
from bgmscope.cluster.clustering import (
    ClusterOptions,
    cluster_songs,
    describe_clusters,
    describe_profile,
    feature_phrase,
    stability_verdict,
)
from bgmscope.cluster.stage import run_cluster
from bgmscope.config import Settings
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.select.data import stat42_names

NAMES = ["tempo_bpm", "centroid_mean", "onset_strength_mean", "rms_mean", "power1", "amp1kurt"]


def blobs(n_per: int = 20, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four well separated groups: fast+bright, slow+dark, loud+bassy, quiet+soft."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3, 3, 0, 0, 0, 0], [-3, -3, 0, 0, 0, 0], [0, 0, 3, 3, 3, 0], [0, 0, -3, -3, -3, 0]], float)
    truth = np.repeat(np.arange(4), n_per)
    X = centres[truth] + 0.4 * rng.normal(size=(len(truth), 6))
    X[:, 0] = 100 + 10 * X[:, 0]  # bpm-like scale
    return pd.DataFrame(X, columns=NAMES), truth


def test_sweep_finds_the_four_groups_and_they_are_stable():
    X, truth = blobs()
    res = cluster_songs(X, ClusterOptions(k_min=2, k_max=8, stability_seeds=10, bootstrap=10))
    assert res.chosen_k == 4
    assert adjusted_rand_score(truth, res.kmeans) > 0.95
    assert adjusted_rand_score(truth, res.minibatch) > 0.9
    assert res.stability["ari_seeds_mean"] > 0.95 and res.stability["ari_seeds_n"] == 10
    assert res.stability["ari_bootstrap_mean"] > 0.9
    sweep = res.sweep
    assert set(sweep["algorithm"]) == {"kmeans", "minibatch"} and sorted(set(sweep["k"])) == list(range(2, 9))
    km = sweep[sweep.algorithm == "kmeans"].set_index("k")
    assert km["silhouette"].idxmax() == 4 and km["davies_bouldin"].loc[4] < km["davies_bouldin"].loc[2]
    assert km["inertia"].is_monotonic_decreasing
    assert res.hdbscan_summary["hdbscan_clusters"] == 4
    assert adjusted_rand_score(truth[res.hdbscan >= 0], res.hdbscan[res.hdbscan >= 0]) > 0.95
    assert res.pcs2.shape == (80, 2) and res.pca["explained_variance_ratio"].iloc[:2].sum() > 0.7


def test_noise_is_honestly_unstable():
    """Structureless data: the sweep still picks some k, but stability and HDBSCAN say not to trust it."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(120, 6)), columns=NAMES)
    res = cluster_songs(X, ClusterOptions(k_min=5, k_max=9, stability_seeds=10, bootstrap=10))
    blob = cluster_songs(blobs()[0], ClusterOptions(k_min=2, k_max=8, stability_seeds=10, bootstrap=10))
    assert res.stability["ari_bootstrap_mean"] < blob.stability["ari_bootstrap_mean"] - 0.2
    assert stability_verdict(blob.stability["ari_bootstrap_mean"]) == "stable"
    assert stability_verdict(res.stability["ari_bootstrap_mean"]) != "stable"
    assert res.hdbscan_summary["hdbscan_clusters"] <= 2 or res.hdbscan_summary["hdbscan_noise_share"] > 0.3
    assert res.structure is False and blob.structure is True  # and the null test says so outright


def test_same_input_same_output():
    X, _ = blobs(seed=1)
    a = cluster_songs(X, ClusterOptions(k_min=3, k_max=6, stability_seeds=3, bootstrap=3, seed=4))
    b = cluster_songs(X, ClusterOptions(k_min=3, k_max=6, stability_seeds=3, bootstrap=3, seed=4))
    assert np.array_equal(a.kmeans, b.kmeans) and np.array_equal(a.hdbscan, b.hdbscan)
    pd.testing.assert_frame_equal(a.sweep, b.sweep)
    assert a.stability == b.stability


def test_components_by_variance_share_or_count():
    X, _ = blobs()
    fast = {"stability_seeds": 0, "bootstrap": 0, "null_permutations": 0, "choose_by": "silhouette"}
    assert cluster_songs(X, ClusterOptions(k_min=2, k_max=4, n_components=3, **fast)).space.shape[1] == 3
    r = cluster_songs(X, ClusterOptions(k_min=2, k_max=4, n_components=0.99, **fast))
    used = r.pca[r.pca.used]
    assert used["cumulative"].iloc[-1] >= 0.99 and (len(used) == 1 or used["cumulative"].iloc[-2] < 0.99)


@pytest.mark.parametrize("kwargs", [{"k_min": 1}, {"k_min": 6, "k_max": 5}, {"choose_by": "elbow"},
                                    {"n_components": 1.5}, {"n_components": 0}, {"bootstrap": -1},
                                    {"min_cluster_size": 1}])
def test_bad_options_fail_fast(kwargs):
    with pytest.raises(ParameterError):
        cluster_songs(blobs()[0], ClusterOptions(**kwargs))


def test_missing_values_are_imputed_inside_the_pipeline():
    X, truth = blobs()
    X.iloc[[3, 25, 47], 2] = np.nan  # e.g. the f0 of an unvoiced clip
    X.iloc[60, 0] = np.nan
    res = cluster_songs(X, ClusterOptions(k_min=2, k_max=6, stability_seeds=2, bootstrap=2))
    assert res.chosen_k == 4 and adjusted_rand_score(truth, res.kmeans) > 0.95
    assert np.isfinite(res.Z).all() and np.isfinite(res.space).all()


def test_the_key_is_clustered_as_a_circle_not_a_number():
    """Songs in B or C against songs in F or F#: on the pitch-class circle B and C are neighbours, so
    the two groups separate; read as numbers 0..11, B (11) would be the farthest from C (0)."""
    rng = np.random.default_rng(1)
    pcs = np.r_[rng.choice([11.0, 0.0], size=30), rng.choice([5.0, 6.0], size=30)]
    truth = np.r_[np.zeros(30), np.ones(30)]
    opts = ClusterOptions(k_min=2, k_max=2, stability_seeds=0, bootstrap=0, null_permutations=0, choose_by="silhouette")
    res = cluster_songs(pd.DataFrame({"key_pc": pcs}), opts)
    assert res.feature_names == ["key_pc_sin", "key_pc_cos"]
    assert adjusted_rand_score(truth, res.kmeans) == 1.0
    as_numbers = cluster_songs(pd.DataFrame({"pc_number": pcs}), opts)
    assert adjusted_rand_score(truth, as_numbers.kmeans) < 0.5  # what the old numeric key did
    mixed = cluster_songs(pd.DataFrame({"key_pc": pcs, "key_mode": rng.integers(0, 2, 60).astype(float),
                                        "rms_mean": rng.normal(size=60)}), opts)
    assert mixed.feature_names == ["key_pc_sin", "key_pc_cos", "key_mode", "rms_mean"]


def test_bad_data_fail_fast():
    X, _ = blobs()
    X.iloc[:, 2] = np.nan
    with pytest.raises(ParameterError, match="NaN on every song"):
        cluster_songs(X)
    X, _ = blobs()
    X.iloc[3, 2] = np.inf
    with pytest.raises(ParameterError, match="infinite"):
        cluster_songs(X)
    with pytest.raises(ParameterError, match="too few"):
        cluster_songs(blobs()[0].iloc[:5])


def test_descriptions_say_what_sets_each_cluster_apart():
    X, truth = blobs()
    res = cluster_songs(X, ClusterOptions(k_min=2, k_max=8, stability_seeds=0, bootstrap=0, null_permutations=0,
                                          choose_by="silhouette"))
    d = describe_clusters(res.Z, res.kmeans, res.feature_names)
    assert d["size"].sum() == 80 and d["share"].sum() == pytest.approx(1.0)
    # find the cluster holding the fast+bright group and the slow+dark one
    fast = d.set_index("cluster").loc[np.bincount(res.kmeans[truth == 0]).argmax()]
    slow = d.set_index("cluster").loc[np.bincount(res.kmeans[truth == 1]).argmax()]
    assert "faster" in fast["description_en"] and "brighter" in fast["description_en"]
    assert "节奏更快" in fast["description_zh"] and "更明亮" in fast["description_zh"]
    assert "slower" in slow["description_en"] and "darker" in slow["description_en"]
    assert "tempo_bpm+" in fast["top_features"]


def test_profile_words_threshold_grouping_and_fallback():
    en, zh, picked = describe_profile(pd.Series({"tempo_bpm": 0.1, "rms_mean": -0.2}))
    assert en.startswith("Close to the average") and "接近平均" in zh and picked == []
    # two bass bands make one phrase; technical descriptors only after plain ones
    en, zh, picked = describe_profile(pd.Series({"power1": 2.0, "power2": 1.9, "amp1mean": 3.0, "tempo_bpm": -0.8}))
    assert en.count("bass") == 1 and "slower" in en and "DC offset" in en
    assert [p[0] for p in picked] == ["power1", "tempo_bpm", "amp1mean"]
    assert feature_phrase("mystery_x", 1.0)[1] == "higher mystery_x"
    assert feature_phrase("centroid_std", -1.0)[1:] == ("steadier brightness", "明亮度更稳定")


# -- through the catalog ----------------------------------------------------------------------------

def _catalog_with_features(path, n_songs: int = 40) -> Catalog:
    rng = np.random.default_rng(0)
    names = stat42_names()
    centres = rng.normal(size=(3, 42)) * 3
    group = np.arange(n_songs) % 3
    rows = []
    for i in range(n_songs):
        v = centres[group[i]] + rng.normal(size=42)
        for kind in ("first", "two"):
            rows.append({"clip_id": f"c{i}-{kind}", "track_id": f"t{i:03d}", "clip_kind": kind, "clip_index": 0,
                         **dict(zip(names, v, strict=True))})
    cat = Catalog(path)
    cat.write_frame("features", pd.DataFrame(rows))
    tracks = pd.DataFrame({"track_id": [f"t{i:03d}" for i in range(n_songs)],
                           "title": [f"热歌{i}" for i in range(n_songs)], "author": "歌手",
                           "user_count": rng.integers(1000, 10**7, n_songs), "rank": np.arange(1, n_songs + 1)})
    tracks.loc[3, "user_count"] = None  # a song the chart gave no count for
    cat.upsert_frame("tracks", tracks)
    return cat


def test_run_cluster_writes_every_table(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with _catalog_with_features(tmp_path / "c.duckdb") as cat:
        opts = ClusterOptions(k_min=2, k_max=6, stability_seeds=3, bootstrap=3)
        res, desc, run_id, notes = run_cluster(cat, settings, options=opts)
        assert res.chosen_k == 3 and notes == []
        a = cat.read_frame("cluster_assignments")
        assert len(a) == 40 and {"clip_id", "track_id", "kmeans", "minibatch", "hdbscan", "pc1", "pc2"} <= set(a.columns)
        assert a["clip_id"].str.endswith("-first").all()
        km = cat.read_frame("cluster_members")
        assert len(km) == 40 and km["title"].str.startswith("热歌").all()
        for _, g in km.groupby("cluster"):
            counts = g.sort_values("member_rank")["user_count"]
            known = counts.dropna().to_numpy()
            assert np.all(np.diff(known) <= 0)       # most used first
            assert counts.isna().sum() == 0 or counts.iloc[-1] is pd.NA or pd.isna(counts.iloc[-1])
        assert (a["cluster"] == a["kmeans"]).all()
        d = cat.read_frame("cluster_descriptions")
        assert set(d["method"]) == {"kmeans"} and sorted(d["cluster"]) == [0, 1, 2]
        assert d["size"].sum() == 40
        hd = cat.read_frame("cluster_descriptions_hdbscan")
        assert set(hd["method"]) == {"hdbscan"}
        assert len(cat.read_frame("cluster_members_hdbscan")) == 40
        assert d["description_en"].str.len().gt(10).all() and d["description_zh"].str.contains("平均").all()
        sweep = cat.read_frame("cluster_sweep")
        assert sweep["chosen"].sum() == 2 and len(sweep) == 10
        runs = cat.read_frame("cluster_runs")
        assert runs["features"].iloc[0] == "stat42" and runs["chosen_k"].iloc[0] == 3
        assert len(cat.read_frame("cluster_pca")) == 40  # min(songs, features) components
        assert bool(runs["structure"].iloc[0]) and runs["structure_verdict"].iloc[0].startswith("cluster structure found")
        assert runs["groups"].iloc[0] == 3 and runs["outlier_songs"].iloc[0] == 0
        null = cat.read_frame("cluster_null")
        assert sorted(null["k"]) == [2, 3, 4, 5, 6] and null["chosen"].sum() == 1 and (null["run_id"] == run_id).all()
        assert (d["kind"] == "group").all()
        kl = cat.read_frame("cluster_k_labels")
        assert len(kl) == 2 * 5 * 40 and set(kl["algorithm"]) == {"kmeans", "minibatch"}
        assert sorted(set(kl["k"])) == [2, 3, 4, 5, 6] and (kl["run_id"] == run_id).all()
        assert kl.groupby(["algorithm", "k"])["label"].nunique().to_dict() == {(a, k): k for a in
                                                                               ("kmeans", "minibatch") for k in range(2, 7)}
        chosen = kl[(kl.algorithm == "kmeans") & (kl.k == 3)].set_index("track_id")["label"]
        assert (chosen.loc[a["track_id"]].to_numpy() == a["kmeans"].to_numpy()).all()


def test_run_cluster_uses_the_selection_and_explains_missing_input(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with Catalog(tmp_path / "empty.duckdb") as cat:
        with pytest.raises(CatalogError, match="bgmscope features"):
            run_cluster(cat, settings)
    with _catalog_with_features(tmp_path / "c.duckdb") as cat:
        opts = ClusterOptions(k_min=2, k_max=4, stability_seeds=0, bootstrap=0)
        with pytest.raises(CatalogError, match="bgmscope select"):
            run_cluster(cat, settings, options=opts, features="selected")
        with pytest.raises(CatalogError, match="clip kind 'hook'"):
            run_cluster(cat, settings, options=opts, clip_kind="hook")
        chosen = ["power1", "power2", "amp1std"]
        cat.write_frame("select_features", pd.DataFrame({
            "feature": stat42_names(), "position": range(42), "selected": [n in chosen for n in stat42_names()],
            "feature_set": "stat42"}))
        res, _, _, _ = run_cluster(cat, settings, options=opts)
        assert res.feature_names == ["amp1std", "power1", "power2"]
        assert cat.read_frame("cluster_runs")["features"].iloc[-1].startswith("selected")
