"""Statistics that hold up on a small chart: rank correlations with bootstrap intervals and
Benjamini–Hochberg FDR, group comparisons with Cliff's delta, and cross-validated models whose
R² and ROC AUC are measured on songs the model never saw.

Every function takes plain frames (rows = songs, columns = features) and a seed; none touches the
catalog, so the same code serves the demo, a real chart and the synthetic tests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from ..features.extract import CATEGORICAL, encode_categorical

MIN_SONGS = 8  # below this a rank correlation or a 5-fold CV says nothing


def _check_xy(X: pd.DataFrame, y: pd.Series | np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise ParameterError("X must be a pandas DataFrame (rows = songs, columns = features)")
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or len(y) != len(X):
        raise ParameterError(f"y must be 1-D with one value per row of X ({len(X)}), got shape {y.shape}")
    return X, y


def usable_columns(X: pd.DataFrame) -> list[str]:
    """Numeric columns with at least 3 distinct finite values (a constant has no rank correlation);
    a categorical one (``key_mode`` is 0/1) needs 2."""
    cols = []
    for c in X.columns:
        v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        need = 2 if c in CATEGORICAL else 3
        if v.size >= 3 and np.unique(v).size >= need:
            cols.append(c)
    return cols


def bh_qvalues(p: np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q); NaN p-values stay NaN and do not count as tests."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return q


SIGN_FLIP_MAX_N = 13  # scipy's wilcoxon runs its exact sign-flip permutation test up to this n


def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test on paired differences ``d`` (zeros dropped):
    ``scipy.stats.wilcoxon(d, zero_method="wilcox").pvalue``, the same number.

    Where scipy runs its exact permutation test (``n <= 13`` with ties or zeros) it evaluates all
    ``2**n`` sign flips one by one in Python (~0.8 s a test at n = 12; 80 s for the hook-vs-first
    table of a 12-song chart); here that null distribution is one product of the sign-flip matrix
    with the ranks, which sign flips leave unchanged."""
    d = np.asarray(d, dtype=float)
    nz = d[d != 0]
    ties = np.unique(np.abs(nz)).size < nz.size
    if d.size > SIGN_FLIP_MAX_N or not (ties or nz.size < d.size) or nz.size == 0:
        return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)
    ranks = stats.rankdata(np.abs(nz))
    observed = float(ranks[nz > 0].sum())
    flips = (np.arange(2 ** nz.size)[:, None] >> np.arange(nz.size)) & 1  # every sign pattern once
    null = flips @ ranks  # each pattern stands for 2**zeros equal ones: the same proportions
    gamma = abs(1e-14 * observed)  # permutation_test's tolerance for ties with the observed value
    less = np.mean(null <= observed + gamma)
    greater = np.mean(null >= observed - gamma)
    return float(np.clip(2 * min(less, greater), 0.0, 1.0))


def _rank_cols(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=0)


def _resample_midranks(v: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Midranks of each song in every resample, given as multiplicities ``W`` (B, m) of ``v``'s m songs.

    A song drawn ``w`` times ranks, within the resample, after the draws of all smaller values and
    in the middle of the draws equal to it: ``below + (equal + 1) / 2``, the rank
    :func:`scipy.stats.rankdata` gives each of its copies. One sort of ``v`` serves every resample,
    so the cost is O(B·m) instead of a sort per resample."""
    order = np.argsort(v, kind="stable")
    vs = v[order]
    new_run = np.r_[True, vs[1:] != vs[:-1]]
    if new_run.all():  # no ties (most continuous descriptors): each song is its own run
        equal = W[:, order]
        below = np.cumsum(equal, axis=1) - equal
        R = np.empty(W.shape)
        R[:, order] = below + (equal + 1) / 2
        return R
    first = np.flatnonzero(new_run)                                # start of each run of ties
    tie = np.cumsum(new_run) - 1                                   # sorted position -> its run
    equal = np.add.reduceat(W[:, order], first, axis=1)            # (B, runs) draws per run
    below = np.cumsum(equal, axis=1) - equal
    R = np.empty(W.shape)
    R[:, order] = (below + (equal + 1) / 2)[:, tie]
    return R


def _weighted_centred(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (B, m) minus its row means with each song counted ``W`` times, and ``W`` times that."""
    d = x - (W * x).sum(axis=1, keepdims=True) / W.sum(axis=1, keepdims=True)
    return d, W * d


def _weighted_pearson_rows(x: np.ndarray, y: np.ndarray, W: np.ndarray,
                           yc: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` (B, m) row by row, each song counted ``W`` times: the
    correlation over the expanded resample. ``yc`` is ``_weighted_centred(y, W)`` when the caller
    correlates many ``x`` with one ``y`` (it is then computed once)."""
    dx, wdx = _weighted_centred(x, W)
    dy, wdy = yc if yc is not None else _weighted_centred(y, W)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (wdx * dy).sum(axis=1) / np.sqrt((wdx * dx).sum(axis=1) * (wdy * dy).sum(axis=1))


# Resamples are processed this many (resample, song) cells at a time: the ~10 (B, m) temporaries of
# one feature then stay in the L2 cache. All 1000 resamples at once (3.2 MB per temporary at 400
# songs) ran from main memory and made the bootstrap grow faster than the number of songs.
_BOOT_BLOCK_CELLS = 50_000


def bootstrap_spearman(a: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Spearman's rho of every column of ``a`` (m, p) with ``y`` in ``n_boot`` resamples of the m songs
    (drawn with replacement): (n_boot, p). Exactly the rho of the resampled rows ranked afresh (ties
    averaged), computed from each song's multiplicity (:func:`_resample_midranks`), linear in m."""
    m = len(y)
    W = np.stack([np.bincount(rng.integers(0, m, m), minlength=m) for _ in range(n_boot)]).astype(float)
    out = np.empty((n_boot, a.shape[1]))
    step = max(1, _BOOT_BLOCK_CELLS // m)
    for s in range(0, n_boot, step):  # every operation is row by row, so blocks change no number
        Wb = W[s:s + step]
        ry = _resample_midranks(y, Wb)
        yc = _weighted_centred(ry, Wb)
        for j in range(a.shape[1]):
            out[s:s + step, j] = _weighted_pearson_rows(_resample_midranks(a[:, j], Wb), ry, Wb, yc)
    return out


def _pearson_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` (n, p) with ``b`` (n,)."""
    a = a - a.mean(axis=0)
    b = b - b.mean()
    den = np.sqrt((a**2).sum(axis=0) * (b**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b[:, None]).sum(axis=0) / den


def spearman_table(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int = 0,
) -> pd.DataFrame:
    """Spearman's rho of every numeric feature with ``y``, a percentile bootstrap CI and BH q-values.

    Songs with a missing ``y`` are dropped; for each feature, so are the songs where it is missing
    (NaN: e.g. the f0 of an unvoiced clip), so ``n`` is per feature. Categorical descriptors
    (``key_pc``, ``key_mode``) are not ranks and are left out: see :func:`kruskal_table`.

    Returns
    -------
    DataFrame with columns ``feature, rho, ci_low, ci_high, p, q, n`` sorted by p. ``p`` is the
    two-sided asymptotic p-value of :func:`scipy.stats.spearmanr`; ``q`` is BH over this table.
    """
    X, yv = _check_xy(X, y)
    keep = np.isfinite(yv)
    X, yv = X.loc[keep], yv[keep]
    n = len(yv)
    if n < MIN_SONGS:
        raise ParameterError(f"need at least {MIN_SONGS} songs with a value to correlate, got {n}")
    if not 0 < ci < 1:
        raise ParameterError(f"ci must be in (0, 1), got {ci}")
    cols = [c for c in usable_columns(X) if c not in CATEGORICAL]
    if not cols:
        raise ParameterError("no numeric feature column varies across the songs")
    A = X[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    present = np.isfinite(A)
    p_ = len(cols)
    rho, pval, lo, hi = (np.full(p_, np.nan) for _ in range(4))
    ns = present.sum(axis=0)
    alpha = (1 - ci) / 2
    # features missing on the same songs are tested together (one matrix of ranks per pattern)
    patterns: dict[bytes, list[int]] = {}
    for j in range(p_):
        patterns.setdefault(present[:, j].tobytes(), []).append(j)
    for js in patterns.values():
        rows = present[:, js[0]]
        m = int(rows.sum())
        if m < MIN_SONGS:
            continue  # too few songs have this feature to say anything
        a, ya = A[rows][:, js], yv[rows]
        r = _pearson_cols(_rank_cols(a), stats.rankdata(ya))
        # asymptotic t test, as scipy.stats.spearmanr does
        with np.errstate(divide="ignore", invalid="ignore"):
            t = r * np.sqrt((m - 2) / np.clip(1 - r**2, 1e-300, None))
        rho[js], pval[js] = r, 2 * stats.t.sf(np.abs(t), m - 2)
        rng = np.random.default_rng(random_state)
        boots = bootstrap_spearman(a, ya, n_boot, rng)
        with warnings.catch_warnings():  # a resample where a feature is constant gives NaN: ignored
            warnings.simplefilter("ignore", RuntimeWarning)
            lo[js], hi[js] = np.nanquantile(boots, [alpha, 1 - alpha], axis=0)
    out = pd.DataFrame({"feature": cols, "rho": rho, "ci_low": lo, "ci_high": hi, "p": pval})
    out["q"] = bh_qvalues(out["p"])
    out["n"] = ns
    return out.sort_values(["p", "feature"], kind="stable", na_position="last").reset_index(drop=True)


def kruskal_table(X: pd.DataFrame, y: pd.Series | np.ndarray) -> pd.DataFrame:
    """Categorical descriptors against ``y``: Kruskal-Wallis H across the categories, BH q-values.

    For ``key_pc`` (twelve tonics) and ``key_mode`` (major/minor), the rank test a category needs:
    does ``y`` differ between the groups at all (no order among the groups is assumed). Songs with
    a missing value or ``y`` are dropped; categories with fewer than 2 songs are left out.
    ``epsilon_sq`` = H / (n - 1) is the effect size (0 = no difference, 1 = the groups explain all
    rank variance).

    Returns
    -------
    DataFrame with columns ``feature, groups, h, p, q, epsilon_sq, n`` (empty when nothing is testable).
    """
    X, yv = _check_xy(X, y)
    rows = []
    for c in [c for c in X.columns if c in CATEGORICAL]:
        v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v) & np.isfinite(yv)
        groups = [yv[ok][v[ok] == g] for g in np.unique(v[ok])]
        groups = [g for g in groups if g.size >= 2]
        m = int(sum(g.size for g in groups))
        if len(groups) < 2 or m < MIN_SONGS or np.ptp(np.concatenate(groups)) == 0:
            continue
        h, p = stats.kruskal(*groups)
        rows.append({"feature": c, "groups": len(groups), "h": float(h), "p": float(p),
                     "epsilon_sq": float(h / (m - 1)), "n": m})
    out = pd.DataFrame(rows, columns=["feature", "groups", "h", "p", "epsilon_sq", "n"])
    out.insert(4, "q", bh_qvalues(out["p"]))
    return out.sort_values(["p", "feature"], kind="stable").reset_index(drop=True)


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """Cliff's delta: P(a > b) - P(a < b) over all pairs, in [-1, 1] (0 = the groups overlap fully)."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    bs = np.sort(b)
    less = np.searchsorted(bs, a, side="left")  # b values below each a
    greater = bs.size - np.searchsorted(bs, a, side="right")
    return float((less.sum() - greater.sum()) / (a.size * b.size))


def delta_magnitude(d: float) -> str:
    """Romano et al. (2006) thresholds: negligible < .147 <= small < .33 <= medium < .474 <= large."""
    d = abs(d)
    if not np.isfinite(d):
        return "n/a"
    return "negligible" if d < 0.147 else "small" if d < 0.33 else "medium" if d < 0.474 else "large"


def compare_groups(chart: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Feature by feature: chart songs against reference songs.

    Mann–Whitney U (two-sided) p-values, BH q-values over the table and Cliff's delta (positive:
    chart songs tend to have higher values). Only columns present in both frames are compared, and
    not the categorical key columns (a rank test of a pitch class means nothing).
    """
    cols = [c for c in usable_columns(pd.concat([chart, reference], ignore_index=True))
            if c in chart.columns and c in reference.columns and c not in CATEGORICAL]
    if len(chart) < 3 or len(reference) < 3:
        raise ParameterError(f"need >= 3 songs in each group, got chart={len(chart)}, reference={len(reference)}")
    if not cols:
        raise ParameterError("the chart and the reference share no varying feature column")
    rows = []
    for c in cols:
        a = pd.to_numeric(chart[c], errors="coerce").dropna().to_numpy(float)
        b = pd.to_numeric(reference[c], errors="coerce").dropna().to_numpy(float)
        if a.size < 3 or b.size < 3:
            continue
        p = stats.mannwhitneyu(a, b, alternative="two-sided").pvalue
        d = cliffs_delta(a, b)
        rows.append({"feature": c, "n_chart": a.size, "n_reference": b.size,
                     "median_chart": float(np.median(a)), "median_reference": float(np.median(b)),
                     "cliffs_delta": d, "magnitude": delta_magnitude(d), "p": float(p)})
    out = pd.DataFrame(rows)
    out["q"] = bh_qvalues(out["p"])
    return out.sort_values(["p", "feature"], kind="stable").reset_index(drop=True)


@dataclass
class RegressionResult:
    """Held-out performance of a regularised model and its permutation importances."""

    model: str
    r2: float                     # pooled out-of-fold R², averaged over repeats (honest)
    r2_folds: list[float]         # R² of each held-out fold
    spearman: float               # rank correlation of out-of-fold predictions with y
    n: int
    n_features: int
    importances: pd.DataFrame     # feature, importance_mean, importance_std, importance_se, within_noise, rank
    predictions: np.ndarray       # out-of-fold predictions of the first repeat
    params: dict = field(default_factory=dict)
    r2_ci: tuple[float, float] = (float("nan"), float("nan"))  # 95 % bootstrap over held-out songs

    @property
    def predicts(self) -> bool:
        """The rule for showing importances: the held-out R²'s 95 % CI lies above 0, i.e. the model
        predicts songs it has not seen better than their mean does, beyond resampling noise."""
        return bool(np.isfinite(self.r2_ci[0]) and self.r2_ci[0] > 0)

    @property
    def verdict(self) -> str:
        ci = f"held-out R² = {self.r2:.2f} [95 % CI {self.r2_ci[0]:.2f}, {self.r2_ci[1]:.2f}]"
        if self.r2 < 0.05 or not self.predicts:
            return (f"no predictive signal: {ci}; the features do not predict "
                    f"popularity on songs the model has not seen")
        if self.r2 < 0.2:
            return f"weak: {ci} (the features explain little of popularity)"
        return f"{ci} on songs the model had not seen"


def r2_bootstrap_ci(y: np.ndarray, preds: np.ndarray, *, n_boot: int = 2000, ci: float = 0.95,
                    random_state: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the pooled held-out R² (songs resampled with replacement).

    ``preds`` is (repeats, n): each repeat's out-of-fold predictions; a resample takes the same
    songs from every repeat and averages their R², as :func:`cv_regression` reports it. The
    models are not refitted, so the interval reflects which songs happened to be on the chart,
    not the refitting noise (the fold spread, ``r2_std``, shows that).
    """
    y = np.asarray(y, float)
    P = np.atleast_2d(np.asarray(preds, float))
    rng = np.random.default_rng(random_state)
    n = y.size
    idx = rng.integers(0, n, (n_boot, n))
    yb = y[idx]                                               # (B, n)
    ss_tot = ((yb - yb.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    ss_res = ((P[:, idx] - yb[None]) ** 2).sum(axis=2)       # (R, B)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = (1 - ss_res / ss_tot[None]).mean(axis=0)
    r2 = r2[np.isfinite(r2)]  # a resample of one repeated song has no variance
    a = (1 - ci) / 2
    return (float(np.quantile(r2, a)), float(np.quantile(r2, 1 - a))) if r2.size else (np.nan, np.nan)


def rank_importances(features: list[str], per_fold: np.ndarray, *, z: float = 2.0) -> pd.DataFrame:
    """Importances with an honest rank: only features whose mean importance exceeds ``z`` standard
    errors (over the held-out folds) get a rank; the rest are ``within_noise`` with rank NaN, so an
    exact tie at 0 is never ordered alphabetically and read as a ranking."""
    k = per_fold.shape[0]
    mean = per_fold.mean(axis=0)
    sd = per_fold.std(axis=0, ddof=1) if k > 1 else np.zeros(per_fold.shape[1])
    se = sd / np.sqrt(max(k, 1))
    noise = ~(mean - z * se > 0)
    imps = pd.DataFrame({"feature": features, "importance_mean": mean, "importance_std": sd,
                         "importance_se": se, "within_noise": noise})
    imps = imps.sort_values(["within_noise", "importance_mean", "feature"], ascending=[True, False, True],
                            kind="stable").reset_index(drop=True)
    imps["rank"] = np.where(imps["within_noise"], np.nan, np.arange(1, len(imps) + 1, dtype=float))
    return imps


def _make_regressor(model: str, random_state: int, n: int):
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import ElasticNetCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "elasticnet":
        # eps=1e-2: with more features than songs the tiny-alpha end of the path only overfits
        # and is where coordinate descent fails to converge.
        # precompute=True: coordinate descent on the Gram matrix X'X makes the same updates as on X
        # (same iterations, coefficients equal to ~1e-15) but costs O(features) per changed
        # coefficient instead of O(songs) per coefficient. 'auto' uses it only with more songs than
        # features; below that it halved the fit at 200-300 songs (211 features), and cost 7 % at 100.
        est = ElasticNetCV(l1_ratio=[0.1, 0.5, 0.9, 1.0], cv=min(5, max(2, n // 8)), alphas=30, eps=1e-2,
                           max_iter=3000, tol=1e-3, precompute=True, random_state=random_state)
    elif model == "gbr":
        est = GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.05,
                                        subsample=0.8, random_state=random_state)
    else:
        raise ParameterError(f"model must be 'elasticnet' or 'gbr', got {model!r}")
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), est)


# Shuffled copies are predicted about this many cells at a time: one matrix for every column at
# once, (p·repeats·n, p), was 140 MB at 400 songs and ran from main memory.
_PERM_BLOCK_CELLS = 1_000_000


def batched_permutation_importance(est, X: np.ndarray, y: np.ndarray, *, n_repeats: int = 5,
                                   random_state: int = 0) -> np.ndarray:
    """Mean drop in R² when each column is shuffled (as sklearn's permutation_importance with
    scoring='r2'), with the shuffled copies of many columns predicted in one call: per-call
    validation overhead, not arithmetic, dominates on a chart-sized table.

    ``est`` is a pipeline of :func:`_make_regressor` (imputer, scaler, model). Both preprocessing
    steps work column by column, so shuffling a raw column and transforming gives exactly the
    transformed column shuffled: ``X`` is transformed once and the model alone predicts the
    copies (transforming every shuffled copy was most of the cost)."""
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(random_state)
    n, p = X.shape
    base = r2_score(y, est.predict(X))
    Xt = est[:-1].transform(X)
    # raw column -> transformed column; the imputer drops a column missing on every training song
    # (statistic NaN), and shuffling such a column changes no prediction
    kept = ~np.isnan(est[0].statistics_)
    col = np.where(kept, np.cumsum(kept) - 1, -1)
    q = Xt.shape[1]
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    per_block = max(1, _PERM_BLOCK_CELLS // (n_repeats * n * q))  # raw columns shuffled per predict call
    drop = np.empty(p)
    for j0 in range(0, p, per_block):
        js = range(j0, min(j0 + per_block, p))
        big = np.repeat(Xt[None, :, :], len(js) * n_repeats, axis=0)  # (columns * repeats, n, q)
        for k, j in enumerate(js):  # the same draws, in the same order, for every column
            for r in range(n_repeats):
                perm = rng.permutation(n)
                if col[j] >= 0:
                    big[k * n_repeats + r, :, col[j]] = Xt[perm, col[j]]
        pred = est[-1].predict(big.reshape(-1, q)).reshape(len(js), n_repeats, n)
        r2 = 1 - ((pred - y[None, None, :]) ** 2).sum(axis=2) / ss_tot
        drop[j0:j0 + len(js)] = base - r2.mean(axis=1)
    return drop


def cv_regression(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    model: str = "elasticnet",
    n_splits: int = 5,
    n_repeats: int = 2,
    n_permutations: int = 5,
    random_state: int = 0,
) -> RegressionResult:
    """Cross-validated regularised regression with permutation importances on held-out folds.

    The regularisation strength is chosen inside each training fold (ElasticNetCV's inner CV), so
    the reported R² is measured on songs that played no part in fitting or tuning. Importances
    are the mean drop in held-out R² when a feature's column is shuffled, ranked only where they
    exceed their fold noise (:func:`rank_importances`); ``r2_ci`` is :func:`r2_bootstrap_ci` over the
    held-out predictions of every repeat. Missing values are
    imputed (median of the training fold) inside the pipeline; the categorical key columns enter
    encoded (``key_pc_sin``, ``key_pc_cos``, ``key_mode``), and the importances use those names.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    X, yv = _check_xy(X, y)
    keep = np.isfinite(yv)
    X, yv = X.loc[keep], yv[keep]
    n = len(yv)
    if n < max(MIN_SONGS, n_splits * 2):
        raise ParameterError(f"need at least {max(MIN_SONGS, n_splits * 2)} songs for {n_splits}-fold CV, got {n}")
    cols = usable_columns(X)
    if not cols:
        raise ParameterError("no feature column varies across the songs")
    E = encode_categorical(X[cols])  # the key as sin/cos of its pitch class (fixed, no fitting)
    cols = list(E.columns)
    A = E.to_numpy(dtype=float)  # NaN stays: the pipeline's imputer fills it from the training fold
    r2s, fold_r2, rhos = [], [], []
    imp = np.zeros((0, len(cols)))
    all_pred: list[np.ndarray] = []
    for rep in range(n_repeats):
        pred = np.empty(n)
        kf = KFold(n_splits=n_splits, shuffle=True, random_state=random_state + rep)
        for tr, te in kf.split(A):
            with warnings.catch_warnings():  # a non-converged path point is reported by the R², not a warning
                warnings.simplefilter("ignore", ConvergenceWarning)
                est = _make_regressor(model, random_state, len(tr)).fit(A[tr], yv[tr])
            pred[te] = est.predict(A[te])
            fold_r2.append(float(r2_score(yv[te], pred[te])))
            pi = batched_permutation_importance(est, A[te], yv[te], n_repeats=n_permutations,
                                                random_state=random_state + rep)
            imp = np.vstack([imp, pi[None, :]])
        r2s.append(float(r2_score(yv, pred)))
        rhos.append(float(stats.spearmanr(pred, yv).statistic) if np.ptp(pred) > 0 else 0.0)
        all_pred.append(pred.copy())
    return RegressionResult(model=model, r2=float(np.mean(r2s)), r2_folds=fold_r2,
                            spearman=float(np.mean(rhos)), n=n, n_features=len(cols),
                            importances=rank_importances(cols, imp), predictions=all_pred[0],
                            params={"n_splits": n_splits, "n_repeats": n_repeats,
                                    "n_permutations": n_permutations, "random_state": random_state},
                            r2_ci=r2_bootstrap_ci(yv, np.asarray(all_pred), random_state=random_state))


def cv_auc(
    X: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    n_splits: int = 5,
    random_state: int = 0,
) -> tuple[float, float, list[float]]:
    """Cross-validated ROC AUC of an L2 logistic regression telling label 1 from label 0.

    Returns ``(mean, std, per_fold)``. 0.5 means the groups cannot be told apart.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, lab = _check_xy(X, labels)
    lab = lab.astype(int)
    counts = np.bincount(lab, minlength=2)
    if len(counts) != 2 or counts.min() < 2:
        raise ParameterError(f"need >= 2 songs of each class for a ROC AUC, got {counts.tolist()}")
    n_splits = int(min(n_splits, counts.min()))
    cols = usable_columns(X)
    if not cols:
        raise ParameterError("no feature column varies across the songs")
    A = encode_categorical(X[cols]).to_numpy(dtype=float)  # NaN stays for the imputer
    aucs = []
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    for tr, te in skf.split(A, lab):
        inner = int(min(3, np.bincount(lab[tr]).min()))
        clf = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                            LogisticRegressionCV(Cs=8, cv=max(2, inner), max_iter=2000, l1_ratios=(0.0,),
                                                 scoring="neg_log_loss", use_legacy_attributes=False))
        clf.fit(A[tr], lab[tr])
        aucs.append(float(roc_auc_score(lab[te], clf.predict_proba(A[te])[:, 1])))
    return float(np.mean(aucs)), float(np.std(aucs)), aucs
