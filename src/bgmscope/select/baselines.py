"""Baselines the GA must beat: all features, random subsets of the same size, greedy forward selection."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from .objective import PairMatchObjective, PairScore


def _key(s: PairScore) -> tuple[int, float]:
    return (s.mismatches, s.mean_rank)


def greedy_forward(objective: PairMatchObjective, *, max_features: int | None = None,
                   blas_threads: int | None = 1) -> tuple[np.ndarray, PairScore, list[int]]:
    """Add, one at a time, the feature that lowers the objective most; stop when none lowers it.

    Returns the support mask, its score and the order in which features were added.
    Deterministic: ties go to the lower column index.
    """
    p = objective.n_features
    limit = p if max_features is None else max_features
    if limit < 1:
        raise ParameterError(f"max_features must be >= 1, got {max_features}")
    mask = np.zeros(p, dtype=bool)
    best = PairScore(objective.n_clips, objective.n_clips, 1.0)  # the empty subset
    order: list[int] = []
    with threadpool_limits(blas_threads, user_api="blas"):
        while len(order) < limit:
            candidates = np.flatnonzero(~mask)
            if candidates.size == 0:
                break
            trials = []
            for j in candidates:
                m = mask.copy()
                m[j] = True
                trials.append((_key(objective.score(m)), j))
            (key, j) = min(trials)
            if key >= _key(best):
                break
            mask[j] = True
            order.append(int(j))
            best = objective.score(mask)
    return mask, best, order


def random_subsets(objective: PairMatchObjective, size: int, *, n: int = 100, seed: int = 0,
                   blas_threads: int | None = 1) -> list[PairScore]:
    """Scores of ``n`` random feature subsets of ``size`` features (seeded)."""
    p = objective.n_features
    if not 1 <= size <= p:
        raise ParameterError(f"subset size must be within [1, {p}], got {size}")
    if n < 1:
        raise ParameterError(f"need at least one random subset, got n={n}")
    rng = np.random.default_rng(seed)
    out = []
    with threadpool_limits(blas_threads, user_api="blas"):
        for _ in range(n):
            m = np.zeros(p, dtype=bool)
            m[rng.choice(p, size=size, replace=False)] = True
            out.append(objective.score(m))
    return out
