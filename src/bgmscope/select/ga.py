"""Genetic feature selection (DEAP) on the two-clip pair-matching objective, as a scikit-learn selector.

The study used R's genalg: a bit per feature, 100 generations, minimise the pair mismatches. Here the
same search runs on DEAP (tournament selection, two-point crossover, bit-flip mutation, a few elites
carried over unchanged). Fitness is lexicographic: the mismatch count first, then the mean rank of the
partner clip, which separates the many subsets with equal counts and gives the search a slope to follow.
Evaluations are cached by mask, so the population's many repeats cost nothing.
"""

from __future__ import annotations

import numbers
import random
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from deap import algorithms, base, creator, tools
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from .objective import PairMatchObjective, PairScore, pair_partners, standardise

# DEAP's creator makes module-level classes; create them once per process.
if not hasattr(creator, "BgmPairFitness"):
    creator.create("BgmPairFitness", base.Fitness, weights=(-1.0, -1.0))
if not hasattr(creator, "BgmFeatureMask"):
    creator.create("BgmFeatureMask", list, fitness=creator.BgmPairFitness)


class CachedObjective:
    """A :class:`PairMatchObjective` that remembers every mask it has scored."""

    def __init__(self, objective: PairMatchObjective):
        self.objective = objective
        self._cache: dict[bytes, PairScore] = {}

    def __call__(self, mask) -> PairScore:
        key = np.packbits(np.asarray(mask, dtype=bool)).tobytes()
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self.objective.score(np.asarray(mask, dtype=bool))
        return hit

    @property
    def n_unique(self) -> int:
        return len(self._cache)


@dataclass
class GAResult:
    support: np.ndarray
    score: PairScore
    convergence: pd.DataFrame
    n_evaluations: int
    seconds: float


def run_ga(objective: PairMatchObjective | CachedObjective, n_features: int, *, population: int = 50,
           generations: int = 100, cxpb: float = 0.8, mutpb: float = 1.0, indpb: float | None = None,
           elite: int = 2, tournament: int = 3, init_prob: float = 0.5, seed: int = 0,
           blas_threads: int | None = 1) -> GAResult:
    """Minimise pair mismatches over feature subsets with a generational GA.

    Parameters
    ----------
    objective : PairMatchObjective or CachedObjective
        Scores a boolean mask.
    population, generations : int
        Individuals per generation and generations after the initial one.
    cxpb : float
        Probability that a pair of offspring is crossed over (two-point; none with one feature).
    mutpb : float
        Probability that an offspring is mutated; each bit then flips with probability ``indpb``
        (default ``1 / n_features``: about one flip per mutation, genalg's rate).
    elite : int
        Best individuals copied unchanged into the next generation.
    seed : int
        Seeds DEAP's operators (Python's ``random``; its global state is restored afterwards).
    blas_threads : int or None
        BLAS threads while the search runs (one is fastest for these small products).
    """
    _check_ga_args(population, generations, cxpb, mutpb, indpb, elite, tournament, init_prob)
    if n_features < 1:
        raise ParameterError("need at least one feature to select from")
    indpb = 1.0 / n_features if indpb is None else indpb
    if n_features < 2:
        cxpb = 0.0  # two-point crossover needs two bits; one feature is only ever mutated
    score = objective if isinstance(objective, CachedObjective) else CachedObjective(objective)

    toolbox = base.Toolbox()
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutFlipBit, indpb=indpb)
    toolbox.register("select", tools.selTournament, tournsize=tournament)

    def evaluate(individuals) -> int:
        fresh = [ind for ind in individuals if not ind.fitness.valid]
        for ind in fresh:
            s = score(ind)
            ind.fitness.values = (s.mismatches, s.mean_rank)
        return len(fresh)

    rows = []

    def record(gen: int, pop, n_eval: int) -> None:
        mism = np.array([ind.fitness.values[0] for ind in pop])
        best = tools.selBest(pop, 1)[0]
        n_clips = score.objective.n_clips
        rows.append({"generation": gen, "best_mismatches": int(best.fitness.values[0]),
                     "mean_mismatches": float(mism.mean()), "best_rate": best.fitness.values[0] / n_clips,
                     "mean_rate": float(mism.mean()) / n_clips, "best_mean_rank": best.fitness.values[1],
                     "best_n_features": int(sum(best)), "evaluations": n_eval,
                     "unique_evaluations": score.n_unique})

    state = random.getstate()
    random.seed(seed)
    t0 = time.perf_counter()
    try:
        with threadpool_limits(blas_threads, user_api="blas"):  # None leaves the limits alone
            pop = []
            for _ in range(population):
                bits = [int(random.random() < init_prob) for _ in range(n_features)]
                if not any(bits):
                    bits[random.randrange(n_features)] = 1
                pop.append(creator.BgmFeatureMask(bits))
            n_eval = evaluate(pop)
            record(0, pop, n_eval)
            for gen in range(1, generations + 1):
                elites = [toolbox.clone(ind) for ind in tools.selBest(pop, elite)]
                offspring = toolbox.select(pop, population - elite)
                offspring = algorithms.varAnd(offspring, toolbox, cxpb, mutpb)
                n_eval += evaluate(offspring)
                pop = elites + offspring
                record(gen, pop, n_eval)
    finally:
        random.setstate(state)
    best = tools.selBest(pop, 1)[0]
    support = np.array(best, dtype=bool)
    return GAResult(support, score(support), pd.DataFrame(rows), n_eval, time.perf_counter() - t0)


def _check_ga_args(population, generations, cxpb, mutpb, indpb, elite, tournament, init_prob) -> None:
    if population < 2:
        raise ParameterError(f"population must be >= 2, got {population}")
    if generations < 0:
        raise ParameterError(f"generations must be >= 0, got {generations}")
    for name, v in (("cxpb", cxpb), ("mutpb", mutpb), ("init_prob", init_prob)):
        if not 0.0 <= v <= 1.0:
            raise ParameterError(f"{name} must be within [0, 1], got {v}")
    if indpb is not None and not 0.0 < indpb <= 1.0:
        raise ParameterError(f"indpb must be within (0, 1], got {indpb}")
    if not 0 <= elite < population:
        raise ParameterError(f"elite must be within [0, population), got {elite}")
    if tournament < 1:
        raise ParameterError(f"tournament size must be >= 1, got {tournament}")


def _seed(random_state) -> int:
    """An int seed for DEAP's ``random`` from an int, None or a RandomState."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class GeneticPairSelector(SelectorMixin, BaseEstimator):
    """Select the features that best match each song's two clips to each other (the seed's GA).

    ``fit(X, y)`` takes one row per clip and ``y`` the song id of each row (every song exactly twice);
    with ``pairs='consecutive'`` rows ``2k`` and ``2k + 1`` are one song's clips and ``y`` is ignored,
    so the selector can sit in a ``Pipeline`` whose ``y`` is the final model's target.
    Features are standardised on the rows given, then a GA minimises the pair mismatches.

    Parameters
    ----------
    population, generations, cxpb, mutpb, indpb, elite, tournament, init_prob
        See :func:`run_ga`.
    pairs : {'y', 'consecutive'}
        Where the pairing comes from: the song ids in ``y`` (default) or the row order.
    random_state : int, RandomState or None
        Seed of the search (None: a fresh one each fit).

    Attributes
    ----------
    support_ : ndarray of bool
        The chosen subset.
    score_ : PairScore
        Its in-sample objective.
    convergence_ : DataFrame
        Best and mean mismatches per generation.
    mean_, scale_ : ndarray
        The standardisation learnt in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> song = rng.normal(size=(30, 2))                       # two informative features
    >>> X = np.hstack([np.repeat(song, 2, axis=0) + 0.05 * rng.normal(size=(60, 2)),
    ...                rng.normal(size=(60, 6))])              # six noise features
    >>> sel = GeneticPairSelector(population=20, generations=15).fit(X, np.repeat(np.arange(30), 2))
    >>> bool(sel.support_[:2].all())
    True
    """

    def __init__(self, population: int = 50, generations: int = 100, cxpb: float = 0.8, mutpb: float = 1.0,
                 indpb: float | None = None, elite: int = 2, tournament: int = 3, init_prob: float = 0.5,
                 pairs: str = "y", random_state: int | None = 0):
        self.pairs = pairs
        self.population = population
        self.generations = generations
        self.cxpb = cxpb
        self.mutpb = mutpb
        self.indpb = indpb
        self.elite = elite
        self.tournament = tournament
        self.init_prob = init_prob
        self.random_state = random_state

    def fit(self, X, y):
        """Search the subset; ``y`` is the song id of each row of ``X`` (every song exactly twice).

        Validation is scikit-learn's (``validate_data``: finite, dense, 2-D, >= 4 rows); the
        pairing is checked by :func:`~.objective.pair_partners` (ParameterError, a ValueError).
        """
        _check_ga_args(self.population, self.generations, self.cxpb, self.mutpb, self.indpb, self.elite,
                       self.tournament, self.init_prob)
        if self.pairs not in ("y", "consecutive"):
            raise ParameterError(f"pairs must be 'y' or 'consecutive', got {self.pairs!r}")
        if self.pairs == "y":
            X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=4, y_numeric=False)
            songs = y
        else:  # y is the downstream target (e.g. inside a Pipeline); rows 2k, 2k+1 are one song
            X = validate_data(self, X, dtype=np.float64, ensure_min_samples=4)
            if len(X) % 2:
                raise ParameterError(f"pairs='consecutive' needs an even number of rows, got {len(X)}")
            songs = np.arange(len(X)) // 2
        Z, self.mean_, self.scale_ = standardise(X)
        objective = PairMatchObjective(Z, pair_partners(songs))
        res = run_ga(objective, X.shape[1], population=self.population, generations=self.generations,
                     cxpb=self.cxpb, mutpb=self.mutpb, indpb=self.indpb, elite=self.elite,
                     tournament=self.tournament, init_prob=self.init_prob, seed=_seed(self.random_state))
        self.support_ = res.support
        self.score_ = res.score
        self.convergence_ = res.convergence
        self.n_evaluations_ = res.n_evaluations
        self.seconds_ = res.seconds
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.pairs == "y"  # the song ids pair the rows
        return tags

    def _get_support_mask(self):
        return self.support_
