"""Clustering songs with honest model selection (seed section 4.3.3 - 4.3.4, made checkable).

The study standardised the selected features, projected them to 2-D with PCA, ran KMeans and
MiniBatchKMeans for k = 5..13 and picked k = 10 by the silhouette (Calinski-Harabasz only rose with k).
:func:`cluster_songs` does the same sweep with four metrics per k, then says how far to trust the
chosen clustering: the mean adjusted Rand index between runs with other seeds and between fits on
bootstrap resamples of the songs, and HDBSCAN as a density-based view that needs no k (and may say
that most songs sit in no dense group at all). :func:`describe_clusters` turns each cluster's centroid
into words a creator understands, in English and Chinese.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from ..features.extract import encode_categorical
from .null import MIN_GROUP, Candidate, StructureTest, group_sizes, structure_test

# silhouette_gap: the silhouette minus its permuted-column null's mean (cluster/null.py), label-free
CRITERIA = {"silhouette_gap": "max", "silhouette": "max", "calinski_harabasz": "max", "davies_bouldin": "min"}


@dataclass
class ClusterOptions:
    """Knobs of the clustering study.

    ``n_components``: PCA components the clusters are found in; an int, or a float in (0, 1] for the
    share of variance to keep (default 0.9). ``choose_by``: silhouette_gap (default: the silhouette
    furthest above its permuted-column null among reproducible k, :mod:`.null`), silhouette (the
    study's), calinski_harabasz or davies_bouldin. ``null_permutations``: null data sets of the
    structure test (0 skips it; silhouette_gap needs >= 19). ``min_cluster_size``: HDBSCAN's (default
    max(5, n_songs // 40)).
    """

    k_min: int = 5
    k_max: int = 13
    n_components: float | int = 0.9
    choose_by: str = "silhouette_gap"
    null_permutations: int = 30
    null_n_init: int = 2  # KMeans restarts of every fit of the test (real and null alike)
    stability_seeds: int = 10
    bootstrap: int = 20
    min_cluster_size: int | None = None
    n_init: int = 10
    seed: int = 0
    threads: int | None = 1  # BLAS/OpenMP threads: on a shared machine more threads mostly contend

    def check(self) -> None:
        if self.k_min < 2 or self.k_max < self.k_min:
            raise ParameterError(f"need 2 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}")
        if self.choose_by not in CRITERIA:
            raise ParameterError(f"choose_by must be one of {', '.join(CRITERIA)}, got {self.choose_by!r}")
        nc = self.n_components
        if isinstance(nc, float) and not nc.is_integer() and not 0.0 < nc <= 1.0:
            raise ParameterError(f"n_components as a share of variance must be in (0, 1], got {nc}")
        if nc <= 0:
            raise ParameterError(f"n_components must be positive, got {nc}")
        if self.stability_seeds < 0 or self.bootstrap < 0:
            raise ParameterError("stability_seeds and bootstrap must be >= 0")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise ParameterError(f"min_cluster_size must be >= 2, got {self.min_cluster_size}")
        if self.n_init < 1 or self.null_n_init < 1:
            raise ParameterError(f"n_init and null_n_init must be >= 1, got {self.n_init}, {self.null_n_init}")
        if self.null_permutations != 0 and self.null_permutations < 19:
            raise ParameterError(f"null_permutations must be 0 (no test) or >= 19, got {self.null_permutations}")
        if self.choose_by == "silhouette_gap" and self.null_permutations == 0:
            raise ParameterError("choose_by='silhouette_gap' needs the null: null_permutations >= 19")


@dataclass
class ClusterResult:
    """Everything :func:`cluster_songs` found (row order = the input's)."""

    feature_names: list[str]
    Z: np.ndarray                    # imputed, standardised features (describe_clusters reads these)
    space: np.ndarray                # the PCA space the clusters were found in
    pcs2: np.ndarray                 # first two principal components (for plots)
    pca: pd.DataFrame                # component, explained_variance_ratio, cumulative, used, top_loadings
    sweep: pd.DataFrame              # algorithm, k, inertia, silhouette, calinski_harabasz, davies_bouldin, chosen
    chosen_k: int
    kmeans: np.ndarray
    minibatch: np.ndarray
    hdbscan: np.ndarray              # -1 = noise
    hdbscan_probability: np.ndarray
    stability: dict[str, float]
    hdbscan_summary: dict[str, float]
    seconds: float
    options: ClusterOptions = field(default_factory=ClusterOptions)
    # every fit of the sweep: (algorithm, k) -> labels, algorithm as in ``sweep`` (kmeans | minibatch)
    k_labels: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    test: StructureTest | None = None   # the permuted-column null (None when null_permutations = 0)
    feature_set: str = "input"          # which candidate set was clustered (cluster_candidates)

    @property
    def structure(self) -> bool | None:
        """True/False: the test found / did not find cluster structure; None: no test run."""
        return None if self.test is None else self.test.structure

    def summary(self) -> dict:
        best = self.sweep.query("algorithm == 'kmeans' and chosen").iloc[0]
        n_groups, n_outliers = group_sizes(self.kmeans)
        test = {}
        if self.test is not None:
            c = self.test.chosen
            t = self.test
            test = {"structure": t.structure, "structure_verdict": t.verdict(),
                    "null_permutations": t.permutations, "null_p_value": t.p_value,
                    **{f"null_p_value_{n}": v for n, v in t.p_values.items()},
                    **{f"null_max_z_{n}": v for n, v in t.max_z.items()},
                    **{f"null_max_z_p95_{n}": v for n, v in t.null_max_z_p95.items()},
                    "null_silhouette": float(c["silhouette"]), "null_silhouette_p95": float(c["silhouette_null_p95"]),
                    "null_silhouette_percentile": float(c["silhouette_percentile"]),
                    "null_calinski_harabasz_p95": float(c["calinski_harabasz_null_p95"])}
        return {"songs": len(self.kmeans), "features": len(self.feature_names), "feature_set": self.feature_set,
                "pca_components": self.space.shape[1],
                "explained_2d": float(self.pca["explained_variance_ratio"].iloc[:2].sum()),
                "explained_used": float(self.pca.loc[self.pca["used"], "explained_variance_ratio"].sum()),
                "criterion": self.options.choose_by, "k": self.chosen_k,
                "silhouette": float(best["silhouette"]), "groups": n_groups, "outlier_songs": n_outliers, **test,
                **self.stability, **self.hdbscan_summary,
                "seconds": round(self.seconds, 2)}


def _metrics(space: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    if len(np.unique(labels)) < 2:
        return float("nan"), float("nan"), float("nan")
    return (float(silhouette_score(space, labels)), float(calinski_harabasz_score(space, labels)),
            float(davies_bouldin_score(space, labels)))


def _top_loadings(component: np.ndarray, names: list[str], n: int = 4) -> str:
    order = np.argsort(-np.abs(component))[:n]
    return ", ".join(f"{names[i]}{component[i]:+.2f}" for i in order)


def cluster_songs(X: pd.DataFrame | np.ndarray, options: ClusterOptions | None = None,
                  feature_names: list[str] | None = None) -> ClusterResult:
    """Scale, project, sweep k for KMeans and MiniBatchKMeans, check stability, run HDBSCAN.

    Parameters
    ----------
    X : DataFrame or array, shape (n_songs, n_features)
        One row per song. Missing values (NaN) are imputed with the column median inside the
        pipeline (impute, standardise, PCA); the categorical key columns (``key_pc``, ``key_mode``)
        are encoded first (:func:`bgmscope.features.extract.encode_categorical`: the pitch class as
        sin/cos of its angle), so :attr:`ClusterResult.feature_names` holds the encoded names.
    options : ClusterOptions
    feature_names : list of str, optional (taken from the DataFrame when omitted)
    """
    opts = options or ClusterOptions()
    opts.check()
    with threadpool_limits(opts.threads):  # None leaves the limits alone
        return _cluster_songs(_prepare(X, opts, feature_names), opts)


def cluster_candidates(candidates: dict[str, pd.DataFrame], options: ClusterOptions | None = None, *,
                       jobs: int = 1) -> ClusterResult:
    """Cluster on the candidate feature set the structure test prefers (no labels involved).

    Every candidate (same songs, same row order) is scaled and projected; one permutation test runs
    over all (set, k) (:func:`bgmscope.cluster.null.structure_test`, family-wise over the grid), its
    choice picks the set and, with ``choose_by='silhouette_gap'``, the k. The result's ``test.table``
    holds every candidate's row, ``feature_set`` the winner's name. ``jobs``: workers for the
    test's null fits.
    """
    opts = options or ClusterOptions()
    opts.check()
    if not candidates:
        raise ParameterError("no candidate feature sets to choose from")
    if opts.null_permutations == 0:
        raise ParameterError("choosing a feature set needs the null: null_permutations >= 19")
    with threadpool_limits(opts.threads):
        preps = {name: _prepare(X, opts, None) for name, X in candidates.items()}
        ns = {len(p.Z) for p in preps.values()}
        if len(ns) != 1:
            raise ParameterError("candidate feature sets must hold the same songs")
        test = structure_test({name: Candidate(p.Z, p.space) for name, p in preps.items()}, _ks(opts, ns.pop()),
                              permutations=opts.null_permutations, n_init=opts.null_n_init, seed=opts.seed,
                              jobs=jobs)
        res = _cluster_songs(preps[test.feature_set], opts, test)
        res.feature_set = test.feature_set
        return res


@dataclass
class _Prepared:
    feature_names: list[str]
    Z: np.ndarray
    space: np.ndarray
    pcs2: np.ndarray
    pca: pd.DataFrame


def _ks(opts: ClusterOptions, n: int) -> list[int]:
    return list(range(opts.k_min, min(opts.k_max, n - 1) + 1))


def _prepare(X, opts: ClusterOptions, feature_names: list[str] | None) -> _Prepared:
    """Validate, encode the key, impute, standardise and project: the space the clusters are found in."""
    if feature_names is None:
        feature_names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"f{i}" for i in range(np.shape(X)[1])]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(feature_names) or X.shape[1] == 0:
        raise ParameterError(f"need a 2-D feature matrix with named columns, got shape {X.shape}")
    if np.isinf(X).any():
        raise ParameterError("features contain infinite values")
    empty = [c for c, ok in zip(feature_names, np.isfinite(X).any(axis=0), strict=True) if not ok]
    if empty:
        raise ParameterError(f"features {', '.join(empty[:5])} are NaN on every song: drop them first")
    E = encode_categorical(pd.DataFrame(X, columns=list(feature_names)))
    feature_names, X = list(E.columns), E.to_numpy(dtype=np.float64)
    n = X.shape[0]
    if n < opts.k_min + 1:
        raise ParameterError(f"{n} songs are too few to cluster into k >= {opts.k_min} groups")

    # missing values (e.g. the f0 of an unvoiced clip) get the column median, inside the pipeline
    prep = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(X)
    pair = [feature_names.index(c) for c in ("key_pc_sin", "key_pc_cos") if c in feature_names]
    if len(pair) == 2 and prep[-1].var_[pair].mean() > 0:  # one scale for the pair, or the circle is an ellipse
        prep[-1].scale_[pair] = np.sqrt(prep[-1].var_[pair].mean())
    Z = prep.transform(X)
    full = PCA(random_state=opts.seed).fit(Z)
    ratio = full.explained_variance_ratio_
    nc = opts.n_components
    if isinstance(nc, float) and not nc.is_integer():
        n_used = int(np.searchsorted(np.cumsum(ratio), nc - 1e-12) + 1)
    else:
        n_used = int(nc)
    n_used = max(1, min(n_used, len(ratio)))
    scores = full.transform(Z)
    space = scores[:, :n_used]
    pcs2 = scores[:, :2] if scores.shape[1] >= 2 else np.column_stack([scores[:, 0], np.zeros(n)])
    pca = pd.DataFrame({"component": np.arange(1, len(ratio) + 1), "explained_variance_ratio": ratio,
                        "cumulative": np.cumsum(ratio), "used": np.arange(len(ratio)) < n_used,
                        "top_loadings": [_top_loadings(c, feature_names) for c in full.components_]})
    return _Prepared(list(feature_names), Z, space, pcs2, pca)


def _cluster_songs(prep: _Prepared, opts: ClusterOptions, test: StructureTest | None = None) -> ClusterResult:
    t0 = time.perf_counter()
    Z, space = prep.Z, prep.space
    n = len(Z)
    ks = _ks(opts, n)
    if test is None and opts.null_permutations:
        test = structure_test({"input": Candidate(Z, space)}, ks, permutations=opts.null_permutations, n_init=opts.null_n_init,
                              seed=opts.seed)
    rows = []
    fits: dict[tuple[str, int], np.ndarray] = {}
    for k in ks:
        for name, model in (("kmeans", KMeans(n_clusters=k, n_init=opts.n_init, random_state=opts.seed)),
                            ("minibatch", MiniBatchKMeans(n_clusters=k, n_init=3, random_state=opts.seed,
                                                          batch_size=min(1024, n)))):
            labels = model.fit_predict(space)
            fits[(name, k)] = labels
            sil, ch, db = _metrics(space, labels)
            rows.append({"algorithm": name, "k": k, "inertia": float(model.inertia_), "silhouette": sil,
                         "calinski_harabasz": ch, "davies_bouldin": db})
    sweep = pd.DataFrame(rows)
    if test is not None:  # the null of each k (of the clustered feature set) beside its scores
        t = test.table[test.table["feature_set"] == test.feature_set].set_index("k")
        for c in ("silhouette_null_mean", "silhouette_null_p95", "silhouette_gap", "silhouette_z",
                  "calinski_harabasz_null_p95"):
            sweep[c] = np.where(sweep["algorithm"] == "kmeans", sweep["k"].map(t[c]), np.nan)
    km = sweep[sweep["algorithm"] == "kmeans"]
    if opts.choose_by == "silhouette_gap":
        chosen_k = test.k
    elif (col := km[opts.choose_by]).isna().all():
        chosen_k = int(km["k"].iloc[0])
    else:
        chosen_k = int(km.loc[col.idxmax() if CRITERIA[opts.choose_by] == "max" else col.idxmin(), "k"])
    sweep["chosen"] = sweep["k"] == chosen_k
    if test is not None and test.k != chosen_k:  # another criterion chose: report the null of its k
        test.k = chosen_k
        test.table["chosen"] = (test.table["feature_set"] == test.feature_set) & (test.table["k"] == chosen_k)
    kmeans_labels = fits[("kmeans", chosen_k)]
    minibatch_labels = fits[("minibatch", chosen_k)]

    stability = clustering_stability(space, kmeans_labels, chosen_k, seeds=opts.stability_seeds,
                                     bootstrap=opts.bootstrap, n_init=opts.n_init, seed=opts.seed)
    stability["ari_minibatch_vs_kmeans"] = float(adjusted_rand_score(kmeans_labels, minibatch_labels))

    mcs = opts.min_cluster_size or max(5, n // 40)
    hdb = HDBSCAN(min_cluster_size=min(mcs, n), copy=True).fit(space)
    hl = hdb.labels_
    clustered = hl >= 0
    n_hdb = len(np.unique(hl[clustered]))
    hsil = (float(silhouette_score(space[clustered], hl[clustered]))
            if n_hdb >= 2 and clustered.sum() > n_hdb else float("nan"))
    hdbscan_summary = {"hdbscan_clusters": n_hdb, "hdbscan_noise_share": float(1 - clustered.mean()),
                       "hdbscan_min_cluster_size": mcs, "hdbscan_silhouette": hsil}
    return ClusterResult(feature_names=prep.feature_names, Z=Z, space=space, pcs2=prep.pcs2, pca=prep.pca, sweep=sweep,
                         chosen_k=chosen_k, kmeans=kmeans_labels, minibatch=minibatch_labels, hdbscan=hl,
                         hdbscan_probability=hdb.probabilities_, stability=stability,
                         hdbscan_summary=hdbscan_summary, seconds=time.perf_counter() - t0, options=opts,
                         k_labels=fits, test=test)


def stability_verdict(ari_bootstrap: float) -> str:
    """Plain words for the bootstrap ARI (how much the grouping survives resampling the songs)."""
    if not np.isfinite(ari_bootstrap):
        return "unknown"
    if ari_bootstrap >= 0.8:
        return "stable"
    if ari_bootstrap >= 0.5:
        return "moderately stable"
    return "unstable: read the clusters as a rough grouping"


def clustering_stability(space: np.ndarray, labels: np.ndarray, k: int, *, seeds: int = 10, bootstrap: int = 20,
                         n_init: int = 10, seed: int = 0) -> dict[str, float]:
    """How reproducible a KMeans clustering is.

    ``ari_seeds``: mean adjusted Rand index between ``labels`` and KMeans runs with ``seeds`` other
    seeds. ``ari_bootstrap``: KMeans fitted on a bootstrap resample of the songs, every song then
    assigned to its nearest centre, compared with ``labels``. 1 = identical, about 0 = chance.
    """
    seed_ari = [adjusted_rand_score(labels, KMeans(n_clusters=k, n_init=n_init, random_state=seed + 1 + s)
                                    .fit_predict(space)) for s in range(seeds)]
    rng = np.random.default_rng(seed)
    boot_ari = []
    n = len(space)
    for b in range(bootstrap):
        idx = rng.integers(0, n, size=n)
        if len(np.unique(space[idx], axis=0)) < k:
            continue  # too few distinct songs drawn for k centres
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed + 1000 + b).fit(space[idx])
        boot_ari.append(adjusted_rand_score(labels, model.predict(space)))

    def stats(v: list[float]) -> tuple[float, float]:
        return (float(np.mean(v)), float(np.std(v))) if v else (float("nan"), float("nan"))

    (sm, ss), (bm, bs) = stats(seed_ari), stats(boot_ari)
    return {"ari_seeds_mean": sm, "ari_seeds_std": ss, "ari_seeds_n": len(seed_ari),
            "ari_bootstrap_mean": bm, "ari_bootstrap_std": bs, "ari_bootstrap_n": len(boot_ari)}


# ---------------------------------------------------------------------------------------------
# Plain-language descriptions
#
# Each rule: a pattern over descriptor names, a group (one phrase per group per cluster), and the
# words for "above average" and "below average" in English and Chinese. First match wins. The seed's
# 42 statistics come first: amp<w>* are moments of the waveform block-averaged over w samples
# (w = 1: the raw wave; larger w keeps only low frequencies), amp<w>d* of its first difference
# (which stresses high frequencies), power1..10 the share of spectrum in ten bands of the signal
# averaged by 5 (at 16 kHz: ten 160 Hz bands from 0 to 1.6 kHz).
_RULES: list[tuple[str, str, str, str, str, str]] = [
    (r"^amp(1|10)std$", "loud", "louder", "quieter", "更响", "更安静"),
    (r"^amp(100|1000)std$", "lowend", "heavier low end", "lighter low end", "低频更重", "低频更轻"),
    (r"^amp(1|10)dstd$", "bright", "brighter", "darker", "更明亮", "更暗沉"),
    (r"^amp(100|1000)dstd$", "lowmove", "more bass movement", "steadier bass",
     "低音起伏更大", "低音更平稳"),
    (r"^amp\d+kurt$", "peaky", "punchier (sharper peaks)", "smoother (fewer sharp peaks)",
     "更有冲击力（峰值更尖）", "更平滑（尖峰更少）"),
    (r"^amp\d+dkurt$", "attack", "sharper attacks", "softer attacks", "起音更尖锐", "起音更柔和"),
    (r"^amp\d+d?skew$", "skew", "more lopsided waveform", "more symmetric waveform",
     "波形更不对称", "波形更对称"),
    (r"^amp\d+d?mean$", "offset", "more DC offset (a recording artefact)", "less DC offset",
     "直流偏移更大（录音瑕疵）", "直流偏移更小"),
    (r"^power[12]$", "bass", "bass-heavier", "lighter on bass", "低音更多", "低音更少"),
    (r"^power[345]$", "lowmid", "fuller in the low mids", "thinner in the low mids", "中低频更饱满", "中低频更单薄"),
    (r"^power([6-9]|10)$", "presence", "more upper-mid presence (voice, lead)",
     "less upper-mid presence", "中高频（人声、主旋律）更突出", "中高频更弱"),
    # the extended descriptor set (docs/features.md): specific names first, then keywords
    (r"^rms_db_range$|dynamic|crest", "dynamic", "more dynamic", "more compressed", "动态更大", "动态更平"),
    (r"^f0_(std_st|range_st)$", "melrange", "wider melodic range", "narrower melodic range",
     "旋律音域更宽", "旋律音域更窄"),
    (r"^f0_change_rate$", "melmove", "busier melody", "smoother melody", "旋律变化更频繁", "旋律更平稳"),
    (r"^f0_confidence", "melclear", "clearer melody", "vaguer melody", "旋律更清晰", "旋律更模糊"),
    (r"^f0_voiced_ratio$|voic|vocal", "vocal", "more sung or held melody", "less melody",
     "旋律（人声）更多", "旋律（人声）更少"),
    (r"^key_strength$", "keyclear", "clearer key", "vaguer key", "调性更明确", "调性更模糊"),
    (r"^key_mode$|major", "mode", "more major-key", "more minor-key", "更偏大调", "更偏小调"),
    (r"^key_pc(_sin|_cos)?$", "key", "a different key", "a different key", "调不同", "调不同"),
    (r"tempo_bpm|bpm|beat_rate", "tempo", "faster", "slower", "节奏更快", "节奏更慢"),
    (r"tempo_conf|beat_(strength|regularity)|pulse", "pulse", "steadier, stronger beat", "looser beat",
     "节拍更稳更强", "节拍更松散"),
    (r"onset_rate", "busy", "busier (more note onsets)", "sparser (fewer note onsets)", "音符更密集", "音符更稀疏"),
    (r"onset|percuss|flux", "percussive", "more percussive", "less percussive", "打击感更强", "打击感更弱"),
    (r"centroid|rolloff|bright|bandwidth", "bright", "brighter", "darker", "更明亮", "更暗沉"),
    (r"flatness|zcr|zero_cross|noisi", "noisy", "noisier", "more tonal", "更嘈杂", "音调感更强"),
    (r"rms|loud|energy|wave_peak", "loud", "louder", "quieter", "更响", "更安静"),
    (r"contrast", "contrast", "punchier in timbre", "flatter in timbre", "音色对比更强", "音色对比更弱"),
    (r"f0|pitch|melod", "pitch", "higher-pitched melody", "lower-pitched melody", "旋律音高更高", "旋律音高更低"),
    (r"mfcc", "timbre", "distinct timbre", "distinct timbre", "音色有别", "音色有别"),
    (r"chroma", "harmony", "distinct note choice", "distinct note choice", "用音有别", "用音有别"),
    (r"harmonic", "tonal", "more tonal", "less tonal", "和声感更强", "和声感更弱"),
    (r"duration|length", "long", "longer", "shorter", "更长", "更短"),
]
# topics for "<curve>_std" (how much a descriptor moves within the clip)
_TOPICS = {"bright": ("brightness", "明亮度"), "loud": ("loudness", "响度"), "noisy": ("noisiness", "噪声感"),
           "percussive": ("attack strength", "打击感"), "contrast": ("timbre contrast", "音色对比")}
TECHNICAL_GROUPS = {"skew", "offset", "timbre", "harmony", "key"}
_COMPILED = [(re.compile(p, re.IGNORECASE), *rest) for p, *rest in _RULES]


def _match(name: str):
    for pattern, *rest in _COMPILED:
        if pattern.search(name):
            return rest
    return None


def feature_phrase(name: str, z: float) -> tuple[str, str, str]:
    """(group, English, Chinese) words for a feature ``z`` standard deviations from the mean."""
    if name.endswith("_std") and not name.startswith("f0_"):
        base = _match(name[: -len("_std")])
        if base is not None and base[0] in _TOPICS:
            en, zh = _TOPICS[base[0]]
            return ((base[0] + "_var", f"more changeable {en}", f"{zh}变化更大") if z > 0
                    else (base[0] + "_var", f"steadier {en}", f"{zh}更稳定"))
    rule = _match(name)
    if rule is not None:
        group, en_hi, en_lo, zh_hi, zh_lo = rule
        return (group, en_hi, zh_hi) if z > 0 else (group, en_lo, zh_lo)
    return (name, f"higher {name}", f"{name} 更高") if z > 0 else (name, f"lower {name}", f"{name} 更低")


def _join_en(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def describe_profile(z: pd.Series, *, top: int = 3, threshold: float = 0.5) -> tuple[str, str, list[tuple[str, float]]]:
    """Describe one centroid (mean z-score per feature) in English and Chinese.

    The features furthest from the overall mean (|z| >= ``threshold``) are put in words, at most
    ``top`` phrases and one per meaning (two bass bands make one "bass-heavier").
    """
    strong = z[z.abs() >= threshold]
    order = strong.abs().sort_values(ascending=False, kind="stable").index
    # words a creator can use first; waveform asymmetry and DC offset only when nothing else stands out
    order = [n for n in order if feature_phrase(str(n), 1.0)[0] not in TECHNICAL_GROUPS] + \
            [n for n in order if feature_phrase(str(n), 1.0)[0] in TECHNICAL_GROUPS]
    used: set[str] = set()
    en, zh, picked = [], [], []
    for name in order:
        v = float(z[name])
        if len(en) >= top:
            break
        group, e, c = feature_phrase(str(name), v)
        if group in used:
            continue
        used.add(group)
        en.append(e)
        zh.append(c)
        picked.append((str(name), v))
    if not en:
        return ("Close to the average song on every measured feature.", "各项特征都接近平均水平。", [])
    return ("Compared with the average song: " + _join_en(en) + ".", "与平均歌曲相比：" + "、".join(zh) + "。",
            picked)


def describe_clusters(Z: np.ndarray, labels: np.ndarray, feature_names: list[str], *, top: int = 3,
                      threshold: float = 0.5, structure: bool | None = None) -> pd.DataFrame:
    """One row per cluster (noise label -1 included as its own row): size, share, kind, centroid words.

    ``Z`` holds the standardised features (mean 0, sd 1 over all songs), so a centroid's values are
    directly "standard deviations above or below the average song". ``kind``: ``group`` (at least
    ``MIN_GROUP`` = 3 songs), ``outliers`` (fewer: never described as a group) or ``noise`` (label -1).
    ``structure=False`` (the permutation test found none) says so before every description.
    """
    Zdf = pd.DataFrame(Z, columns=feature_names)
    rows = []
    n = len(labels)
    for c in sorted(np.unique(labels)):
        members = labels == c
        prof = Zdf[members].mean(axis=0)
        en, zh, picked = describe_profile(prof, top=top, threshold=threshold)
        size = int(members.sum())
        kind = "noise" if c < 0 else "group" if size >= MIN_GROUP else "outliers"
        if c < 0:
            en = "Not in any dense group (HDBSCAN noise). " + en
            zh = "不属于任何密集群组（HDBSCAN 噪声点）。" + zh
        elif kind == "outliers":
            en = (f"Outlier{'s' if size > 1 else ''}, not a group ({size} song{'s' if size > 1 else ''} "
                  "unlike the rest). " + en)
            zh = f"离群点，不是一个群组（{size} 首与其他歌曲不同）。" + zh
        if structure is False and c >= 0:
            en = "No cluster structure (a split of the songs, not real groups). " + en
            zh = "没有聚类结构（只是对歌曲的划分，不是真正的群组）。" + zh
        rows.append({"cluster": int(c), "size": size, "share": float(members.mean()) if n else 0.0, "kind": kind,
                     "description_en": en, "description_zh": zh,
                     "top_features": ", ".join(f"{f}{v:+.2f}" for f, v in picked)})
    return pd.DataFrame(rows)
