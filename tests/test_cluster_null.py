"""Structure or none: the null test says "no cluster structure" on structureless data, finds planted
groups (and the feature set that carries them, without labels), and never calls < 3 songs a group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import hadamard
from sklearn.metrics import adjusted_mutual_info_score

from bgmscope.cluster.clustering import (
    ClusterOptions,
    cluster_candidates,
    cluster_songs,
    describe_clusters,
)
from bgmscope.cluster.null import group_sizes
from bgmscope.errors import ParameterError

FAST = {"k_min": 2, "k_max": 6, "stability_seeds": 0, "bootstrap": 0, "null_permutations": 30}


def planted(n_per: int = 20, groups: int = 4, signal: int = 8, noise: int = 4, seed: int = 0):
    """``groups`` well separated centres in ``signal`` columns, plus ``noise`` pure-noise columns."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * hadamard(signal)[1: groups + 1]  # every two centres differ by 6 in half the columns
    truth = np.repeat(np.arange(groups), n_per)
    S = centres[truth] + rng.normal(size=(len(truth), signal))
    N = rng.normal(size=(len(truth), noise))
    return (pd.DataFrame(S, columns=[f"s{i}" for i in range(signal)]),
            pd.DataFrame(N, columns=[f"n{i}" for i in range(noise)]), truth)


def _structureless(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    if kind == "permuted":  # the planted groups with every column shuffled on its own
        S, N, _ = planted()
        X = pd.concat([S, N], axis=1)
        return X.apply(lambda c: rng.permutation(c.to_numpy()))
    if kind == "correlated":  # one elongated Gaussian cloud (fools a column-permutation null alone)
        return pd.DataFrame(rng.normal(size=(90, 5)) @ rng.normal(size=(5, 5)))
    return pd.DataFrame(rng.lognormal(size=(90, 5)))  # skewed, independent (fools a Gaussian null alone)


@pytest.mark.parametrize("kind", ["permuted", "correlated", "skewed"])
def test_structureless_data_get_no_cluster_structure(kind):
    res = cluster_songs(_structureless(kind), ClusterOptions(**FAST))
    assert res.structure is False
    s = res.summary()
    assert s["structure"] is False and s["structure_verdict"].startswith("no cluster structure")
    assert s["null_p_value"] >= 0.05
    d = describe_clusters(res.Z, res.kmeans, res.feature_names, structure=res.structure)
    assert d["description_en"].str.startswith("No cluster structure").all()
    assert d["description_zh"].str.startswith("没有聚类结构").all()


def test_planted_groups_are_found_with_the_set_that_carries_them():
    S, N, truth = planted()
    res = cluster_songs(pd.concat([S, N], axis=1), ClusterOptions(**FAST))
    assert res.structure is True and res.summary()["structure_verdict"].startswith("cluster structure found")
    assert res.chosen_k == 4 and adjusted_mutual_info_score(truth, res.kmeans) > 0.9
    t = res.test.table
    assert t.loc[t["chosen"], "silhouette"].iloc[0] > t.loc[t["chosen"], "silhouette_null_p95"].iloc[0]
    # no labels: the structure test prefers the signal columns to the same plus noise, and to noise alone
    many = pd.concat([S, pd.DataFrame(np.random.default_rng(1).normal(size=(len(S), 12)))], axis=1)
    many.columns = [str(c) for c in many.columns]
    pick = cluster_candidates({"noise": N, "signal+noise": many, "signal": S}, ClusterOptions(**FAST))
    assert pick.feature_set == "signal" and pick.structure is True
    assert adjusted_mutual_info_score(truth, pick.kmeans) > 0.95
    assert set(pick.test.table["feature_set"]) == {"noise", "signal+noise", "signal"}


def test_clusters_of_fewer_than_three_songs_are_outliers_not_groups():
    S, _, truth = planted(groups=3)
    labels = truth.copy()
    labels[0] = 7           # a singleton
    labels[[1, 2]] = 8      # a pair
    d = describe_clusters(S.to_numpy(), labels, list(S.columns)).set_index("cluster")
    assert d.loc[[7, 8], "kind"].tolist() == ["outliers", "outliers"]
    assert (d.loc[[0, 1, 2], "kind"] == "group").all()
    assert d.loc[7, "description_en"].startswith("Outlier, not a group (1 song")
    assert d.loc[8, "description_en"].startswith("Outliers, not a group (2 songs")
    assert d.loc[8, "description_zh"].startswith("离群点")
    assert "group" not in d.loc[0, "description_en"].lower()
    assert group_sizes(labels) == (3, 3)
    assert group_sizes(np.array([-1, -1, 0, 0, 0])) == (1, 0)  # HDBSCAN noise is neither


def test_the_null_is_seeded_and_checked():
    S, N, _ = planted(n_per=10)
    X = pd.concat([S, N], axis=1)
    a = cluster_songs(X, ClusterOptions(**FAST, seed=3))
    b = cluster_songs(X, ClusterOptions(**FAST, seed=3))
    pd.testing.assert_frame_equal(a.test.table, b.test.table)
    with pytest.raises(ParameterError, match="null_permutations"):
        cluster_songs(X, ClusterOptions(**{**FAST, "null_permutations": 5}))
    with pytest.raises(ParameterError, match="silhouette_gap"):
        cluster_songs(X, ClusterOptions(**{**FAST, "null_permutations": 0}))
    # the study's own criterion still runs, the null reported for its k
    c = cluster_songs(X, ClusterOptions(**{**FAST, "choose_by": "silhouette"}))
    assert c.test.k == c.chosen_k and c.test.table["chosen"].sum() == 1


def test_the_stage_chooses_the_feature_set_and_stores_the_null(tmp_path):
    from test_cluster import _catalog_with_features

    from bgmscope.cluster.stage import candidate_sets, run_cluster
    from bgmscope.config import Settings

    with _catalog_with_features(tmp_path / "c.duckdb") as cat:
        f = cat.read_frame("features")
        rng = np.random.default_rng(4)
        for i in range(60):  # descriptors that carry nothing: 'all' is mostly noise
            f[f"noise_{i}_mean"] = rng.normal(size=len(f))
        cat.write_frame("features", f)
        assert list(candidate_sets(cat, "first")) == ["stat42", "all"]
        res, desc, run_id, _ = run_cluster(cat, Settings(data_dir=tmp_path), features="choose",
                                           options=ClusterOptions(**FAST))
        assert res.feature_set == "stat42" and res.chosen_k == 3 and res.structure is True
        runs = cat.read_frame("cluster_runs")
        assert runs["features"].iloc[-1] == "chosen: stat42 of stat42, all"
        null = cat.read_frame("cluster_null")
        assert set(null["feature_set"]) == {"stat42", "all"} and len(null) == 10


def test_the_pipeline_summary_says_structure_or_none(tmp_path):
    from rich.console import Console
    from test_cluster import _catalog_with_features

    from bgmscope.cluster.stage import run_stage
    from bgmscope.config import Settings
    from bgmscope.context import PipelineContext

    with _catalog_with_features(tmp_path / "c.duckdb", n_songs=30) as cat:
        ctx = PipelineContext(catalog=cat, settings=Settings(data_dir=tmp_path, k_min=2, k_max=5), jobs=1,
                              console=Console(quiet=True), seed=0)
        out = run_stage(ctx)
        assert out["structure"].startswith("cluster structure found")
        assert out["k (silhouette_gap)"].startswith("3: 3 groups of >= 3 songs, 0 outlier songs")
        assert out["largest group"] != "none (no cluster structure)"
        f = cat.read_frame("features")  # the same songs with every descriptor shuffled: no structure
        rng = np.random.default_rng(0)
        first = f["clip_kind"] == "first"
        for c in [c for c in f.columns if c not in ("clip_id", "track_id", "clip_kind", "clip_index")]:
            f.loc[first, c] = rng.permutation(f.loc[first, c].to_numpy())
        cat.write_frame("features", f)
        out = run_stage(ctx)
        assert out["structure"].startswith("no cluster structure")
        assert out["largest group"] == "none (no cluster structure)"


def test_the_null_fits_mapped_over_two_workers_give_the_same_table():
    """The null data sets are drawn in the caller, in order; only their fits go to the workers."""
    S, N, _ = planted(n_per=10)
    sets = {"signal": S, "signal+noise": pd.concat([S, N], axis=1)}
    one = cluster_candidates(sets, ClusterOptions(**FAST), jobs=1)
    two = cluster_candidates(sets, ClusterOptions(**FAST), jobs=2)
    pd.testing.assert_frame_equal(one.test.table, two.test.table)
    assert one.feature_set == two.feature_set and (one.kmeans == two.kmeans).all()
