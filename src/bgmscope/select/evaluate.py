"""The whole selection study: the GA on every song, and a k-fold check on songs the GA never saw.

The study reported only the in-sample count (275 -> 90). A subset searched for on the very songs it
is scored on flatters itself, so :func:`select_features` also splits the *songs* into k folds, runs the
GA (and greedy forward selection) on k-1 folds, and scores the chosen subsets on the held-out fold
beside the baselines: all features, and random subsets of the GA's size (mean of ``n_random``).
Held-out rates are pooled over folds (misses summed over clips summed). :func:`gain_table` says what
the GA's held-out gain over each baseline means: its mean and spread over the folds, and whether the
gain exceeds the spread.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from ..errors import ParameterError
from .baselines import greedy_forward, random_subsets
from .ga import run_ga
from .objective import PairMatchObjective, PairScore, pair_partners, standardise

METHODS = ("ga", "all", "random", "greedy")
GAIN_COLUMNS = ["baseline", "n_folds", "gain", "fold_sd", "folds_better", "gain_pooled", "exceeds_spread",
                "verdict", "sentence"]
BASELINE_NAMES = {"all": "all features", "random": "random subsets of its size", "greedy": "greedy forward"}


@dataclass
class SelectOptions:
    """Knobs of the selection study (the defaults follow the study: 100 generations)."""

    population: int = 50
    generations: int = 100
    cxpb: float = 0.8
    mutpb: float = 1.0
    indpb: float | None = None
    elite: int = 2
    tournament: int = 3
    folds: int = 5          # 0 skips the held-out check
    n_random: int = 100     # random subsets per comparison
    greedy: bool = True
    seed: int = 0

    def check(self, n_songs: int) -> None:
        """Fail fast on settings that cannot work for ``n_songs`` songs."""
        if n_songs < 3:
            raise ParameterError(f"need at least 3 songs with two clips each, got {n_songs}")
        if self.folds == 1 or self.folds < 0:
            raise ParameterError(f"folds must be 0 (no held-out check) or >= 2, got {self.folds}")
        if self.folds and n_songs < 3 * self.folds:
            raise ParameterError(f"{self.folds} folds need at least {3 * self.folds} songs, got {n_songs}")
        if self.n_random < 1:
            raise ParameterError(f"the random baseline needs at least one subset, got {self.n_random}")

    def ga_kwargs(self) -> dict:
        return {k: getattr(self, k) for k in ("population", "generations", "cxpb", "mutpb", "indpb",
                                                "elite", "tournament")}


@dataclass
class SelectionReport:
    """What :func:`select_features` found; the frames are the catalog tables of the same names."""

    feature_names: list[str]
    support: np.ndarray
    insample: dict[str, float]                 # method -> in-sample rate on every song
    heldout: dict[str, float]                  # method -> pooled held-out rate (empty when folds=0)
    cv_train: dict[str, float]                 # method -> pooled in-sample rate inside the folds
    convergence: pd.DataFrame                  # select_convergence
    baselines: pd.DataFrame                    # select_baselines
    features: pd.DataFrame                     # select_features
    n_songs: int
    n_evaluations: int
    seconds: float
    options: SelectOptions = field(default_factory=SelectOptions)
    gain: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GAIN_COLUMNS))  # select_gain

    @property
    def selected(self) -> list[str]:
        return [n for n, s in zip(self.feature_names, self.support, strict=True) if s]

    def summary(self) -> dict:
        out = {"songs": self.n_songs, "features_in": len(self.feature_names),
               "features_selected": int(self.support.sum()), "seconds": round(self.seconds, 2),
               "evaluations": self.n_evaluations}
        for m in METHODS:
            if m in self.insample:
                out[f"insample_rate_{m}"] = self.insample[m]
            if m in self.heldout:
                out[f"heldout_rate_{m}"] = self.heldout[m]
        return out


def _row(fold: int, method: str, split: str, s: PairScore | list[PairScore], n_features: int) -> dict:
    if isinstance(s, list):  # random subsets: mean over them
        mism = np.array([x.mismatches for x in s], dtype=float)
        return {"fold": fold, "method": method, "split": split, "mismatches": float(mism.mean()),
                "n_clips": s[0].n_clips, "rate": float(mism.mean() / s[0].n_clips),
                "rate_std": float(mism.std() / s[0].n_clips), "n_features": n_features, "n_subsets": len(s)}
    return {"fold": fold, "method": method, "split": split, "mismatches": float(s.mismatches),
            "n_clips": s.n_clips, "rate": s.rate, "rate_std": 0.0, "n_features": n_features, "n_subsets": 1}


def _study(Z_fit: np.ndarray, songs_fit: np.ndarray, opts: SelectOptions, seed: int, fold: int,
           split: str) -> tuple[PairMatchObjective, np.ndarray, np.ndarray | None, list[int], list[dict],
                                pd.DataFrame, int]:
    """GA, greedy, all and random on one set of songs (scored in-sample)."""
    obj = PairMatchObjective(Z_fit, pair_partners(songs_fit))
    p = Z_fit.shape[1]
    ga = run_ga(obj, p, seed=seed, **opts.ga_kwargs())
    rows = [_row(fold, "ga", split, ga.score, int(ga.support.sum())),
            _row(fold, "all", split, obj.score(np.ones(p, dtype=bool)), p)]
    k = int(ga.support.sum())
    rows.append(_row(fold, "random", split, random_subsets(obj, k, n=opts.n_random, seed=seed), k))
    greedy_support, order = None, []
    if opts.greedy:
        greedy_support, g_score, order = greedy_forward(obj)
        rows.append(_row(fold, "greedy", split, g_score, int(greedy_support.sum())))
    conv = ga.convergence.assign(fold=fold)
    return obj, ga.support, greedy_support, order, rows, conv, obj.n_evaluations


def select_features(X: np.ndarray | pd.DataFrame, song_ids, feature_names: list[str] | None = None,
                    options: SelectOptions | None = None) -> SelectionReport:
    """Run the GA on every song and the k-fold held-out comparison against the baselines.

    Parameters
    ----------
    X : array or DataFrame, shape (n_clips, n_features)
        Raw (unscaled) features, two rows per song; must be finite.
    song_ids : array-like
        The song of each row.
    feature_names : list of str, optional
        Column names (taken from the DataFrame when omitted).
    options : SelectOptions
    """
    opts = options or SelectOptions()
    if feature_names is None:
        feature_names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"f{i}" for i in range(np.shape(X)[1])]
    X = np.asarray(X, dtype=np.float64)
    song_ids = np.asarray(song_ids)
    if X.ndim != 2 or X.shape[1] != len(feature_names):
        raise ParameterError(f"X has shape {X.shape} but {len(feature_names)} feature names were given")
    if len(song_ids) != X.shape[0]:
        raise ParameterError(f"{len(song_ids)} song ids for {X.shape[0]} rows")
    pair_partners(song_ids)  # validates two clips per song
    songs = np.unique(song_ids)
    opts.check(len(songs))
    t0 = time.perf_counter()

    # 1. every song: the subset the tool stores
    Z, _, _ = standardise(X)
    obj, support, greedy_support, greedy_order, rows, conv, n_eval = _study(
        Z, song_ids, opts, opts.seed, -1, "insample")
    convs = [conv]
    insample = {r["method"]: r["rate"] for r in rows}

    # 2. k folds over songs: search on k-1 folds, score on the songs never seen
    fold_hits = np.zeros(X.shape[1], dtype=int)
    heldout: dict[str, float] = {}
    cv_train: dict[str, float] = {}
    if opts.folds:
        kf = KFold(n_splits=opts.folds, shuffle=True, random_state=opts.seed)
        for fold, (tr_songs, _te_songs) in enumerate(kf.split(songs)):
            tr = np.isin(song_ids, songs[tr_songs])
            te = ~tr
            Ztr, mean, scale = standardise(X[tr])
            Zte, _, _ = standardise(X[te], mean=mean, scale=scale)
            _, f_support, f_greedy, _, f_rows, f_conv, f_eval = _study(
                Ztr, song_ids[tr], opts, opts.seed + 1 + fold, fold, "train")
            fold_hits += f_support
            n_eval += f_eval
            rows += f_rows
            convs.append(f_conv)
            test = PairMatchObjective(Zte, pair_partners(song_ids[te]))
            p = X.shape[1]
            k = int(f_support.sum())
            rows.append(_row(fold, "ga", "test", test.score(f_support), k))
            rows.append(_row(fold, "all", "test", test.score(np.ones(p, dtype=bool)), p))
            rows.append(_row(fold, "random", "test",
                             random_subsets(test, k, n=opts.n_random, seed=opts.seed + 1 + fold), k))
            if f_greedy is not None:
                rows.append(_row(fold, "greedy", "test", test.score(f_greedy), int(f_greedy.sum())))
        b = pd.DataFrame(rows)
        for split, out in (("test", heldout), ("train", cv_train)):
            part = b[b["split"] == split]
            for m, g in part.groupby("method", sort=False):
                out[m] = float(g["mismatches"].sum() / g["n_clips"].sum())

    baselines = pd.DataFrame(rows)
    features = pd.DataFrame({
        "feature": feature_names,
        "position": np.arange(len(feature_names)),
        "selected": support.astype(bool),
        "fold_selected": fold_hits,
        "fold_share": fold_hits / opts.folds if opts.folds else np.full(len(feature_names), np.nan),
        "greedy_selected": greedy_support.astype(bool) if greedy_support is not None else False,
        "greedy_order": pd.array([greedy_order.index(i) + 1 if i in greedy_order else None
                                  for i in range(len(feature_names))], dtype="Int64"),
    })
    convergence = pd.concat(convs, ignore_index=True)
    convergence = convergence[["fold"] + [c for c in convergence.columns if c != "fold"]]
    return SelectionReport(feature_names=list(feature_names), support=support, insample=insample,
                           heldout=heldout, cv_train=cv_train, convergence=convergence, baselines=baselines,
                           features=features, n_songs=len(songs), n_evaluations=n_eval,
                           seconds=time.perf_counter() - t0, options=opts, gain=gain_table(baselines))


def gain_table(baselines: pd.DataFrame) -> pd.DataFrame:
    """The GA's held-out gain over each baseline, per fold and in words (``select_gain``).

    ``gain`` is the mean over folds of (baseline's held-out miss rate − the GA's), so positive means
    the GA subset misses fewer clips of songs it never saw; ``fold_sd`` is the standard deviation of
    the per-fold gains (ddof 1). The rule: the gain **exceeds the spread** when
    ``|gain| > fold_sd`` (the ± band printed beside it excludes 0); otherwise it is "within noise"
    -- another split of the songs could reverse it. ``gain_pooled`` is the difference of the pooled
    held-out rates (the figures ``select_runs`` stores).
    """
    test = baselines[baselines["split"] == "test"] if not baselines.empty else baselines
    if test.empty or "ga" not in set(test["method"]):
        return pd.DataFrame(columns=GAIN_COLUMNS)
    rate = test.pivot_table(index="fold", columns="method", values="rate")
    pooled = test.groupby("method")[["mismatches", "n_clips"]].sum()
    pooled = pooled["mismatches"] / pooled["n_clips"]
    rows = []
    for b in ("all", "random", "greedy"):
        if b not in rate.columns:
            continue
        d = (rate[b] - rate["ga"]).to_numpy(float)
        k = d.size
        gain = float(d.mean())
        sd = float(d.std(ddof=1)) if k > 1 else float("nan")
        exceeds = bool(np.isfinite(sd) and abs(gain) > sd)
        if exceeds:
            verdict = "beyond the fold spread" + ("" if gain > 0 else ": the baseline does better")
        else:
            verdict = "within noise"
        better = int((d > 0).sum())
        verb = "beats" if gain >= 0 else "trails"
        sentence = (f"GA subset {verb} {BASELINE_NAMES[b]} by {abs(gain):.3f} ± {sd:.3f} held-out miss rate "
                    f"(mean ± sd over {k} folds; better in {better} of {k}): {verdict}")
        rows.append({"baseline": b, "n_folds": k, "gain": gain, "fold_sd": sd, "folds_better": better,
                     "gain_pooled": float(pooled[b] - pooled["ga"]), "exceeds_spread": exceeds,
                     "verdict": verdict, "sentence": sentence})
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)


def options_dict(opts: SelectOptions) -> dict:
    return asdict(opts)
