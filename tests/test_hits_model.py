"""The popularity model says what its numbers mean: a CI on held-out R², importances only for a
model that predicts, and no rank for importances within noise of zero."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bgmscope.catalog import Catalog
from bgmscope.hits import stats
from bgmscope.hits.popularity import HitsOptions, analyse, write_tables


def _table(n: int, p: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i:02d}" for i in range(p)])


def test_a_predicting_model_has_a_positive_r2_ci_and_ranks_only_what_matters():
    X = _table(80, 12, seed=3)
    y = 1.0 * X["f05"] + 0.6 * X["f09"] + np.random.default_rng(4).normal(0, 0.5, 80)
    fit = stats.cv_regression(X, y, n_splits=5, n_repeats=2, random_state=0)
    lo, hi = fit.r2_ci
    assert 0 < lo < fit.r2 < hi <= 1 and fit.predicts
    imp = fit.importances
    ranked = imp[imp["rank"].notna()]
    assert list(ranked["feature"][:2]) == ["f05", "f09"] and list(ranked["rank"][:2]) == [1.0, 2.0]
    # noise features the elastic net zeroes have importance exactly 0: unranked, not alphabetical
    zero = imp[imp["importance_mean"] == 0]
    assert zero["within_noise"].all() and zero["rank"].isna().all()
    assert (imp.loc[imp["within_noise"], "rank"].isna()).all()
    assert (imp.loc[~imp["within_noise"], "importance_mean"] > 2 * imp.loc[~imp["within_noise"], "importance_se"]).all()


def test_rank_importances_leaves_ties_at_zero_unranked():
    per_fold = np.zeros((10, 4))
    per_fold[:, 2] = np.linspace(0.1, 0.2, 10)   # clearly positive in every fold
    per_fold[:, 3] = np.r_[0.3, -0.3] .repeat(5)  # large but swings around 0: noise
    imp = stats.rank_importances(["a", "b", "c", "d"], per_fold)
    assert imp.iloc[0]["feature"] == "c" and imp.iloc[0]["rank"] == 1
    assert imp.set_index("feature").loc[["a", "b", "d"], "rank"].isna().all()


def test_r2_bootstrap_ci_brackets_the_pooled_r2():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    good = y + rng.normal(0, 0.5, 200)
    P = np.vstack([good, good + rng.normal(0, 0.1, 200)])
    point = np.mean([1 - ((p - y) ** 2).sum() / ((y - y.mean()) ** 2).sum() for p in P])
    lo, hi = stats.r2_bootstrap_ci(y, P)
    assert 0.5 < lo < point < hi < 0.95 and hi - lo < 0.2
    lo, hi = stats.r2_bootstrap_ci(y, rng.normal(size=(2, 200)))  # predictions unrelated to y
    assert hi < 0


def _noise_catalog(path, n=40, seed=0) -> Catalog:
    rng = np.random.default_rng(seed)
    counts = np.round(rng.lognormal(10, 1, n)).astype(int)
    ranks = np.empty(n, int)
    ranks[np.argsort(-counts)] = np.arange(1, n + 1)
    cat = Catalog(path)
    cat.upsert_frame("tracks", pd.DataFrame({
        "track_id": [f"t{i}" for i in range(n)], "music_id": [f"t{i}" for i in range(n)],
        "title": [f"歌{i}" for i in range(n)], "user_count": counts, "user_incr": counts // 10, "rank": ranks,
        "chart": "test", "source": "test", "is_demo": False}))
    cat.write_frame("features", pd.DataFrame({
        "clip_id": [f"c{i}" for i in range(n)], "track_id": [f"t{i}" for i in range(n)], "clip_kind": "first",
        "clip_index": 0, **{f"d{j}": rng.normal(size=n) for j in range(8)}}))
    return cat


def test_a_model_that_does_not_predict_stores_no_importances_and_says_why(tmp_path):
    with _noise_catalog(tmp_path / "c.duckdb") as cat:
        res = analyse(cat, HitsOptions(n_boot=50, n_repeats=2))
        write_tables(cat, res)
        stored_imp = cat.read_frame("hits_importance")
        stored_model = cat.read_frame("hits_model")
    m = stored_model.iloc[0]
    assert m["r2_ci_low"] <= 0 and m["r2_ci_low"] <= m["r2_ci_high"] and not m["importances_shown"]
    assert stored_imp.empty and "within_noise" in stored_imp.columns
    summary = res.tables["hits_summary"].set_index("topic")
    assert "importances not shown" in summary.loc["importance", "finding"]
    assert "most important" not in " ".join(res.tables["hits_summary"]["finding"])
