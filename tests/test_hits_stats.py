"""The statistics of `bgmscope hits` on synthetic tables with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bgmscope.errors import ParameterError
from bgmscope.hits import stats


def _table(n: int, p: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i:02d}" for i in range(p)])


def test_planted_effect_is_found_with_q_below_005():
    X = _table(48, 40, seed=1)
    rng = np.random.default_rng(2)
    log_count = 11 + 0.8 * X["f07"] + rng.normal(0, 0.6, len(X))
    tab = stats.spearman_table(X, np.exp(log_count), n_boot=300, random_state=0)
    top = tab.iloc[0]
    assert top["feature"] == "f07"
    assert top["q"] < 0.05
    assert top["ci_low"] > 0 and top["ci_low"] < top["rho"] < top["ci_high"]
    # the other 39 features are noise: at most a stray false discovery
    assert (tab.loc[tab["feature"] != "f07", "q"] < 0.05).sum() <= 1


def test_null_table_gives_no_discoveries_in_90_percent_of_seeds():
    clean = 0
    seeds = range(40)
    for seed in seeds:
        X = _table(40, 30, seed=100 + seed)
        y = np.random.default_rng(900 + seed).lognormal(10, 1, 40)
        tab = stats.spearman_table(X, y, n_boot=20, random_state=seed)
        clean += int((tab["q"] >= 0.05).all())
    assert clean / len(seeds) >= 0.9


def test_spearman_matches_scipy_and_ignores_constant_columns():
    from scipy.stats import spearmanr

    X = _table(30, 3, seed=3)
    X["const"] = 1.0
    y = X["f00"] * 2 + np.random.default_rng(4).normal(size=30)
    tab = stats.spearman_table(X, y, n_boot=50).set_index("feature")
    assert "const" not in tab.index
    ref = spearmanr(X["f00"], y)
    assert tab.loc["f00", "rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert tab.loc["f00", "p"] == pytest.approx(ref.pvalue, rel=1e-6)


def test_bad_inputs_fail_fast():
    X = _table(5, 3, seed=0)
    with pytest.raises(ParameterError, match="at least"):
        stats.spearman_table(X, np.arange(5.0))
    with pytest.raises(ParameterError, match="one value per row"):
        stats.spearman_table(_table(20, 3, 0), np.arange(5.0))
    with pytest.raises(ParameterError, match="varies"):
        stats.spearman_table(pd.DataFrame({"a": np.ones(20)}), np.arange(20.0))
    with pytest.raises(ParameterError, match="model"):
        stats.cv_regression(_table(30, 3, 0), np.arange(30.0), model="magic")


def test_cliffs_delta_and_bh():
    assert stats.cliffs_delta([3, 4, 5], [0, 1, 2]) == 1.0
    assert stats.cliffs_delta([0, 1, 2], [3, 4, 5]) == -1.0
    assert stats.cliffs_delta([1, 2], [1, 2]) == 0.0
    assert stats.delta_magnitude(0.5) == "large" and stats.delta_magnitude(0.1) == "negligible"
    q = stats.bh_qvalues([0.01, 0.04, np.nan, 0.03])
    assert np.isnan(q[2]) and q[0] == pytest.approx(0.03) and q[1] == pytest.approx(0.04)


def test_compare_groups_finds_a_shifted_feature():
    a, b = _table(30, 10, seed=5), _table(40, 10, seed=6)
    a["f03"] += 1.5
    tab = stats.compare_groups(a, b)
    assert tab.iloc[0]["feature"] == "f03"
    assert tab.iloc[0]["q"] < 0.05 and tab.iloc[0]["cliffs_delta"] > 0.474


def test_cv_regression_is_honest():
    X = _table(60, 20, seed=7)
    y = 2 * X["f02"] + np.random.default_rng(8).normal(0, 1, 60)
    res = stats.cv_regression(X, y, n_repeats=1, n_permutations=3)
    assert res.r2 > 0.5
    assert res.importances.iloc[0]["feature"] == "f02"
    # pure noise: held-out R² stays at or below zero (one seed can show chance structure, so take 3)
    noise = [stats.cv_regression(X, np.random.default_rng(s).normal(size=60), n_repeats=1, n_permutations=1)
             for s in (20, 21, 22)]
    assert np.median([r.r2 for r in noise]) < 0.05
    assert sum("no predictive signal" in r.verdict for r in noise) >= 2


def test_cv_auc_separates_shifted_groups_and_not_null_ones():
    X = _table(60, 8, seed=10)
    lab = np.r_[np.ones(30), np.zeros(30)]
    X.loc[lab == 1, "f01"] += 2.0
    auc, _sd, folds = stats.cv_auc(X, lab)
    assert auc > 0.85 and len(folds) == 5
    auc0, *_ = stats.cv_auc(_table(60, 8, seed=11), lab)
    assert auc0 < 0.75
    with pytest.raises(ParameterError, match="each class"):
        stats.cv_auc(X, np.r_[np.ones(59), np.zeros(1)])


def test_missing_values_drop_only_their_pairs_and_the_key_is_not_ranked():
    from scipy.stats import kruskal, spearmanr

    rng = np.random.default_rng(5)
    n = 40
    X = _table(n, 3, seed=7)
    y = np.exp(10 + X["f00"] + rng.normal(0, 0.5, n))
    X.loc[:9, "f00"] = np.nan  # ten unvoiced songs: no f0
    X["key_pc"] = rng.integers(0, 12, n).astype(float)
    X["key_mode"] = (y > np.median(y)).astype(float)  # planted: hits are major
    tab = stats.spearman_table(X, y, n_boot=50, random_state=0).set_index("feature")
    assert "key_pc" not in tab.index and "key_mode" not in tab.index
    ok = X["f00"].notna()
    assert tab.loc["f00", "n"] == 30 and tab.loc["f01", "n"] == 40
    assert tab.loc["f00", "rho"] == pytest.approx(spearmanr(X.loc[ok, "f00"], y[ok]).statistic)
    kw = stats.kruskal_table(X, y).set_index("feature")
    assert list(kw.index) == ["key_mode", "key_pc"] and kw.loc["key_mode", "groups"] == 2
    major = X["key_mode"] == 1
    assert kw.loc["key_mode", "p"] == pytest.approx(kruskal(y[major], y[~major]).pvalue)
    assert kw.loc["key_mode", "q"] < 0.05
    # the model takes the rows with a missing value (imputed in the fold) and the key encoded
    fit = stats.cv_regression(X, np.log(y), n_splits=4, n_repeats=1, random_state=0)
    assert fit.n == 40 and {"key_pc_sin", "key_pc_cos", "key_mode"} <= set(fit.importances["feature"])
    assert "key_pc" not in set(fit.importances["feature"])


@pytest.mark.parametrize("block_resamples", [None, 7])
def test_bootstrap_spearman_equals_ranking_each_resample_afresh(block_resamples, monkeypatch):
    """The multiplicity form gives the rho of the resampled rows re-ranked (ties averaged), NaN
    where a resample leaves a column constant; processing the resamples in blocks (7 per block
    here, not dividing 300) changes nothing."""
    from scipy.stats import rankdata

    if block_resamples is not None:
        monkeypatch.setattr(stats, "_BOOT_BLOCK_CELLS", 40 * block_resamples)
    rng = np.random.default_rng(3)
    m = 40
    a = np.column_stack([rng.normal(size=m), np.round(rng.normal(size=m)), np.r_[np.ones(m - 2), 2.0, 3.0]])
    y = np.round(rng.lognormal(size=m), 1)
    got = stats.bootstrap_spearman(a, y, 300, np.random.default_rng(7))
    draw = np.random.default_rng(7)
    want = np.empty_like(got)
    for b in range(300):
        idx = draw.integers(0, m, m)
        want[b] = [np.corrcoef(rankdata(a[idx, j]), rankdata(y[idx]))[0, 1] if np.ptp(a[idx, j]) else np.nan
                   for j in range(a.shape[1])]
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(want[:, 2]).any()
    assert np.allclose(got, want, equal_nan=True, atol=1e-12)


@pytest.mark.parametrize("model", ["elasticnet", "gbr"])
def test_batched_permutation_importance_equals_shuffling_the_raw_columns(model, monkeypatch):
    """Shuffling in the transformed space, a block of columns per call, gives what shuffling each
    raw column and predicting it through the whole pipeline gives, the same draws in the same
    order; a column missing on every training song (dropped by the imputer) changes nothing."""
    from sklearn.metrics import r2_score

    monkeypatch.setattr(stats, "_PERM_BLOCK_CELLS", 3 * 5 * 20 * 7)  # 3 columns per call, 7 = 6 + 1 left
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 7))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nansum(X[:, :3], axis=1) + rng.normal(scale=0.5, size=80)
    X[:60, 4] = np.nan  # no training song has column 4
    est = stats._make_regressor(model, 0, 60).fit(X[:60], y[:60])
    Xte, yte = X[60:], y[60:]
    got = stats.batched_permutation_importance(est, Xte, yte, n_repeats=5, random_state=3)
    draw = np.random.default_rng(3)
    base = r2_score(yte, est.predict(Xte))
    want = np.empty(7)
    for j in range(7):
        drops = []
        for _ in range(5):
            Xp = Xte.copy()
            Xp[:, j] = Xte[draw.permutation(20), j]
            drops.append(base - r2_score(yte, est.predict(Xp)))
        want[j] = np.mean(drops)
    assert want[4] == 0.0 and abs(got[4]) < 1e-12
    assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_wilcoxon_p_is_scipys_p_also_where_scipy_enumerates_sign_flips():
    """The hook-vs-first table's paired test: scipy's number on small samples with ties and zeros
    (its permutation branch), on tie-free ones (its exact branch) and on large ones (normal)."""
    from scipy import stats as sps

    from bgmscope.hits.stats import wilcoxon_p

    rng = np.random.default_rng(7)
    # scipy's own permutation branch is the slow reference (0.8 s at n = 13): one case at the boundary
    cases = [rng.integers(-3, 4, n).astype(float) for n in (4, 7, 13, 14, 30)]
    cases += [np.round(rng.standard_normal(n), 1) for n in (5, 10)]
    cases += [rng.standard_normal(n) for n in (6, 13, 60)]
    cases += [np.array([0.0, 0.0, 1.0, -1.0, 2.0, 2.0, 2.0, -3.0, 0.5])]
    for d in cases:
        if np.any(d != 0):
            assert wilcoxon_p(d) == pytest.approx(sps.wilcoxon(d, zero_method="wilcox").pvalue, abs=1e-12), d
    assert wilcoxon_p(np.array([1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 5.0, 5.0])) < 0.05  # all positive: a shift
