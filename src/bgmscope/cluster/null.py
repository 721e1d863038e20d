"""Is there any cluster structure at all? Null data for the k sweep, and a label-free choice.

KMeans always returns k clusters, and the silhouette of structureless data is not zero (0.2 - 0.4 in a
few dimensions), so the silhouette of the chosen k says nothing by itself. :func:`structure_test`
clusters null data sets of the same songs exactly as the real ones and claims structure only when
the real data beat **both** nulls (an intersection-union test: each at level 0.05, so the claim is
too):

* ``permuted`` — the standardised feature columns, each permuted independently, projected again with
  PCA to as many components as the real space. Keeps every feature's distribution (a skewed
  descriptor with a long tail is not a cluster), destroys how features go together.
* ``gaussian`` — one Gaussian cloud with the real space's mean and covariance. Keeps the features'
  correlations (an elongated cloud is not a cluster either), destroys any shape beyond them.

Either null alone is fooled: correlated features beat the first, skewed features the second.

Per (feature set, k): the real silhouette; for each null its mean, sd, 95th percentile and
``z = (real - mean) / sd``; the table's ``silhouette_null_*`` columns hold the stricter null of the
row (larger mean and 95th percentile, smaller z and percentile). Calinski-Harabasz the same way, for
reference. Family-wise over the grid (max-T): per null, the statistic is the largest z over every
(feature set, k) tried and its null the largest z of each null data set over the same grid, so trying
many k and several feature sets does not by itself make a "structure found".

The choice of feature set and k needs no labels: among the (set, k) whose KMeans solution is
reproducible across seeds (mean ARI >= ``STABLE_ARI``) and whose silhouette beats the stricter
null's 95th percentile, the one standing furthest above that null's mean (the largest
``silhouette_gap``, as the gap statistic does with the inertia); when none qualifies, the same
among those beating their null, then among the reproducible ones, then overall. (The gap, not z: the null's sd is
estimated from a few dozen data sets and makes z jumpy between neighbouring k.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    pairwise_distances,
    silhouette_score,
)

from ..engine import run_map
from ..errors import BgmscopeError, ParameterError

STABLE_ARI = 0.8   # seeds ARI a (set, k) needs to be preferred in the choice
ALPHA = 0.05       # each null's level: structure when the real max z beats both nulls' 95th percentile
MIN_GROUP = 3      # a cluster of fewer songs is outliers, never described as a group
NULLS = ("permuted", "gaussian")


@dataclass
class Candidate:
    """One feature set as the test needs it: standardised features and the space clustered in."""

    Z: np.ndarray       # imputed, standardised features (n_songs, n_features)
    space: np.ndarray   # its first principal components (n_songs, n_used)


@dataclass
class StructureTest:
    """The null test over a grid of (feature set, k).

    ``table``: one row per (feature_set, k): ``silhouette, calinski_harabasz, ari_seeds``; per null
    ``n`` in permuted, gaussian: ``silhouette_<n>_mean, _sd, _p95, _z``; the stricter of the two as
    ``silhouette_null_mean, silhouette_null_p95, silhouette_z, silhouette_percentile`` (share of the
    stricter null's silhouettes below the real one), ``silhouette_gap`` (real - null mean),
    ``calinski_harabasz_null_p95, calinski_harabasz_z`` and ``chosen``.
    """

    table: pd.DataFrame
    feature_set: str
    k: int
    max_z: dict[str, float]           # per null: the real statistic (largest z on the grid)
    null_max_z_p95: dict[str, float]  # per null: the 95th percentile of the null data's maxima
    p_values: dict[str, float]        # per null: (1 + #null maxima >= real) / (1 + data sets)
    permutations: int                 # null data sets per null

    @property
    def p_value(self) -> float:
        """The intersection-union p-value: structure needs both nulls beaten, so the larger one."""
        return max(self.p_values.values())

    @property
    def structure(self) -> bool:
        return bool(self.p_value < ALPHA)

    @property
    def chosen(self) -> pd.Series:
        t = self.table
        return t[(t["feature_set"] == self.feature_set) & (t["k"] == self.k)].iloc[0]

    def verdict(self) -> str:
        """Plain words: structure or none, with the chosen (set, k)'s silhouette against its null."""
        c = self.chosen
        nums = (f"silhouette {c['silhouette']:.2f} vs {c['silhouette_null_p95']:.2f} at the null's 95th "
                f"percentile; family-wise p = {self.p_values['permuted']:.3f} (columns permuted), "
                f"{self.p_values['gaussian']:.3f} (one Gaussian cloud); {self.permutations} null data sets each")
        if self.structure:
            return f"cluster structure found ({nums})"
        return f"no cluster structure: the songs split no better than structureless data like them ({nums})"


def _scores(space: np.ndarray, dist: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    if len(np.unique(labels)) < 2:
        return float("nan"), float("nan")
    return (float(silhouette_score(dist, labels, metric="precomputed")),
            float(calinski_harabasz_score(space, labels)))


def _fit(space: np.ndarray, k: int, seed: int, n_init: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(space)


def _null_space(kind: str, c: Candidate, rng: np.random.Generator) -> np.ndarray:
    d = c.space.shape[1]
    if kind == "permuted":
        Zp = rng.permuted(c.Z, axis=0)  # every column shuffled on its own
        return PCA(n_components=d, random_state=0).fit_transform(Zp)
    cov = np.atleast_2d(np.cov(c.space, rowvar=False))
    return rng.multivariate_normal(c.space.mean(axis=0), cov, size=len(c.space), method="eigh")


@dataclass
class NullTask:
    """One null data set: its spaces (one per candidate set) and how to fit them."""

    kind: str
    index: int
    spaces: list[np.ndarray]
    ks: list[int]
    seed: int
    n_init: int


def null_scores(task: NullTask) -> tuple[np.ndarray, np.ndarray]:
    """Worker: silhouette and Calinski-Harabasz of every (candidate set, k) fit on one null data set."""
    sil, ch = [], []
    for space in task.spaces:
        dist = pairwise_distances(space)
        for k in task.ks:
            a, b = _scores(space, dist, _fit(space, k, task.seed, task.n_init))
            sil.append(a)
            ch.append(b)
    return np.array(sil), np.array(ch)


def structure_test(candidates: dict[str, Candidate], ks: list[int], *, permutations: int = 50, n_init: int = 2,
                   seeds: int = 2, seed: int = 0, jobs: int = 1) -> StructureTest:
    """Null test and label-free choice over feature sets (``candidates``) and ``ks``.

    Parameters
    ----------
    candidates : dict of str to Candidate
        Each candidate feature set (same songs, same row order).
    ks : list of int
    permutations : int
        Null data sets per null; >= 19 for a 95th percentile.
    n_init, seeds : int
        KMeans restarts for every fit of the test (real and null alike, so they compare), and the
        other seeds the real fits are repeated with for ``ari_seeds``.
    seed : int
    jobs : int
        Workers for the null fits (the figures are the same for any number).
    """
    if permutations < 19:
        raise ParameterError("the null test needs at least 19 data sets per null")
    if not ks:
        raise ParameterError("no k to test")
    rows = []
    for name, c in candidates.items():
        dist = pairwise_distances(c.space)  # once per data set, shared by every k's silhouette
        for k in ks:
            labels = _fit(c.space, k, seed, n_init)
            sil, ch = _scores(c.space, dist, labels)
            ari = [adjusted_rand_score(labels, _fit(c.space, k, seed + 1 + s, n_init)) for s in range(seeds)]
            rows.append({"feature_set": name, "k": k, "silhouette": sil, "calinski_harabasz": ch,
                         "ari_seeds": float(np.mean(ari)) if ari else float("nan")})
    table = pd.DataFrame(rows)
    real_sil, real_ch = table["silhouette"].to_numpy(), table["calinski_harabasz"].to_numpy()
    # The null data sets are drawn here, in order, from each null's own generator; their fits
    # (every candidate set x k, with seeds fixed per data set) are mapped over ``jobs`` workers,
    # so the figures do not depend on how many ran them.
    tasks = []
    for kind in NULLS:
        rng = np.random.default_rng([seed, NULLS.index(kind)])
        for p in range(permutations):
            tasks.append(NullTask(kind, p, [_null_space(kind, c, rng) for c in candidates.values()], list(ks),
                                  seed + 7919 * (p + 1), n_init))
    sil = {kind: np.full((permutations, len(table)), np.nan) for kind in NULLS}
    ch = {kind: np.full_like(sil[kind], np.nan) for kind in NULLS}
    for o in run_map(null_scores, tasks, jobs=jobs, desc="cluster null", show_progress=False):
        if o.error:
            raise BgmscopeError(f"cluster null test, {o.item.kind} data set {o.item.index}: {o.error}")
        sil[o.item.kind][o.item.index], ch[o.item.kind][o.item.index] = o.result
    max_z, null_p95, p_values, z_of, pct_of = {}, {}, {}, {}, {}
    for kind in NULLS:
        mean, sd = np.nanmean(sil[kind], axis=0), np.nanstd(sil[kind], axis=0)
        sd = np.where(sd > 0, sd, np.nan)
        z = (real_sil - mean) / sd
        table[f"silhouette_{kind}_mean"] = mean
        table[f"silhouette_{kind}_sd"] = sd
        table[f"silhouette_{kind}_p95"] = np.nanpercentile(sil[kind], 95, axis=0)
        table[f"silhouette_{kind}_z"] = z
        z_of[kind], pct_of[kind] = z, (sil[kind] < real_sil).mean(axis=0)
        null_z = (sil[kind] - mean) / sd
        null_max = np.nanmax(np.where(np.isfinite(null_z), null_z, -np.inf), axis=1)
        max_z[kind] = float(np.nanmax(z)) if np.isfinite(z).any() else float("nan")
        null_p95[kind] = float(np.percentile(null_max, 95))
        p_values[kind] = (float((1 + np.sum(null_max >= max_z[kind])) / (1 + permutations))
                          if np.isfinite(max_z[kind]) else 1.0)
        cm, csd = np.nanmean(ch[kind], axis=0), np.nanstd(ch[kind], axis=0)
        table[f"calinski_harabasz_{kind}_p95"] = np.nanpercentile(ch[kind], 95, axis=0)
        table[f"calinski_harabasz_{kind}_z"] = (real_ch - cm) / np.where(csd > 0, csd, np.nan)
    # the stricter null per row
    table["silhouette_null_mean"] = np.fmax(table["silhouette_permuted_mean"], table["silhouette_gaussian_mean"])
    table["silhouette_null_p95"] = np.fmax(table["silhouette_permuted_p95"], table["silhouette_gaussian_p95"])
    table["silhouette_z"] = np.fmin(z_of["permuted"], z_of["gaussian"])
    table["silhouette_percentile"] = np.fmin(pct_of["permuted"], pct_of["gaussian"])
    table["silhouette_gap"] = table["silhouette"] - table["silhouette_null_mean"]
    table["calinski_harabasz_null_p95"] = np.fmax(table["calinski_harabasz_permuted_p95"],
                                                  table["calinski_harabasz_gaussian_p95"])
    table["calinski_harabasz_z"] = np.fmin(table["calinski_harabasz_permuted_z"], table["calinski_harabasz_gaussian_z"])
    gap = table["silhouette_gap"].to_numpy()
    stable = table["ari_seeds"].fillna(0).to_numpy() >= STABLE_ARI
    ok = np.isfinite(gap)
    beats = ok & (table["silhouette"].to_numpy() > table["silhouette_null_p95"].to_numpy())
    # prefer what is both reproducible and above its own null, then either, then anything scored
    pool = next((np.flatnonzero(m) for m in (stable & beats, beats, stable & ok, ok) if m.any()), np.array([], int))
    best = int(pool[np.argmax(gap[pool])]) if pool.size else 0
    table["chosen"] = np.arange(len(table)) == best
    return StructureTest(table=table, feature_set=str(table["feature_set"].iloc[best]), k=int(table["k"].iloc[best]),
                         max_z=max_z, null_max_z_p95=null_p95, p_values=p_values, permutations=permutations)


def group_sizes(labels: np.ndarray) -> tuple[int, int]:
    """(clusters of at least ``MIN_GROUP`` songs, songs in smaller clusters = outliers); -1 is not a cluster."""
    _, counts = np.unique(labels[labels >= 0], return_counts=True)
    return int((counts >= MIN_GROUP).sum()), int(counts[counts < MIN_GROUP].sum())
