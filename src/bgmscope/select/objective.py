"""The seed's selection objective: how often a song's two clips fail to be each other's nearest neighbour.

Section 4.3.2 of the study takes two 15 s samples per song and asks, for a subset of features, how many
samples have a nearest neighbour (Euclidean, on standardised features) that is not the other sample of
the same song. Every clip is a query, so the count is symmetrised: with all 42 features the study found
275 such misses among 400 songs (800 clips), 90 with the 18 features its genetic algorithm kept.

The evaluation is vectorised: one Gram matrix per subset, no Python loop over songs. Ties count as misses
(a clip at exactly the partner's distance is as near as the partner), so a subset that cannot tell clips
apart (e.g. the empty one) scores the worst, never the best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError


@dataclass(frozen=True)
class PairScore:
    """The objective for one feature subset.

    Attributes
    ----------
    mismatches : int
        Clips whose nearest other clip is not their own song's other clip (ties count as misses).
    n_clips : int
        Clips that were queries (two per song).
    mean_rank : float
        Mean, over clips, of the share of other clips at least as near as the partner (0 = always
        nearest, 1 = always farthest). A smooth tie-breaker for the count.
    """

    mismatches: int
    n_clips: int
    mean_rank: float

    @property
    def rate(self) -> float:
        """Share of clips whose nearest neighbour is not their partner (0..1)."""
        return self.mismatches / self.n_clips if self.n_clips else float("nan")


def standardise(X: np.ndarray, *, mean: np.ndarray | None = None, scale: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score the columns of ``X`` (constant columns become 0), returning ``(Z, mean, scale)``.

    Pass ``mean`` and ``scale`` learnt on training songs to transform held-out songs the same way.
    """
    X = np.asarray(X, dtype=np.float64)
    if mean is None or scale is None:
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    return (X - mean) / scale, mean, scale


class PairMatchObjective:
    """Counts pair mismatches of a fixed set of clips for any feature subset.

    Parameters
    ----------
    Z : ndarray, shape (n_clips, n_features)
        Standardised features, two rows per song.
    partner : ndarray of int, shape (n_clips,)
        ``partner[i]`` is the row of the other clip of row ``i``'s song.
    dtype : numpy dtype
        float32 (default) halves memory traffic; distances are only compared, so its precision is ample.

    Callers evaluating many subsets should limit BLAS to one thread around the loop
    (``threadpoolctl.threadpool_limits(1)``): these products are small and threads mostly contend.
    """

    def __init__(self, Z: np.ndarray, partner: np.ndarray, *, dtype=np.float32):
        Z = np.asarray(Z)
        partner = np.asarray(partner, dtype=np.int64)
        if Z.ndim != 2:
            raise ParameterError(f"features must be a 2-D array, got shape {Z.shape}")
        n = Z.shape[0]
        if n < 4 or n % 2:
            raise ParameterError(f"need an even number (>= 4) of clips, two per song; got {n}")
        if partner.shape != (n,) or partner.min() < 0 or partner.max() >= n:
            raise ParameterError("partner must give, for every clip, the row of its song's other clip")
        if np.any(partner[partner] != np.arange(n)) or np.any(partner == np.arange(n)):
            raise ParameterError("partner must pair every clip with exactly one other clip")
        if not np.all(np.isfinite(Z)):
            raise ParameterError("features contain NaN or infinite values; drop or impute them first")
        self.n_clips, self.n_features = Z.shape
        self.partner = partner
        self.dtype = np.dtype(dtype)
        # Augmented rows: E[i, k] = z_i . z_k - |z_k|^2 / 2, so D[i, k] <= D[i, p] <=> E[i, k] >= E[i, p]
        # (|z_i|^2 cancels). One GEMM gives E; no full distance matrix is formed.
        self._Z = np.ascontiguousarray(Z, dtype=self.dtype)
        self._sq_half = 0.5 * self._Z.astype(np.float64) ** 2  # per-feature halves of |z_k|^2
        self._rows = np.arange(n)
        self._diag = self._rows * n + self._rows
        self.n_evaluations = 0

    def score(self, mask: np.ndarray) -> PairScore:
        """The objective for one boolean feature mask."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_features,):
            raise ParameterError(f"mask must have {self.n_features} entries, got shape {mask.shape}")
        self.n_evaluations += 1
        n = self.n_clips
        if not mask.any():
            return PairScore(n, n, 1.0)
        Zs = self._Z[:, mask]
        left = np.empty((n, Zs.shape[1] + 1), dtype=self.dtype)
        left[:, :-1] = Zs
        left[:, -1] = 1.0
        right = np.empty_like(left)
        right[:, :-1] = Zs
        right[:, -1] = -self._sq_half[:, mask].sum(axis=1)
        E = left @ right.T
        E.ravel()[self._diag] = -np.inf  # a clip is not its own neighbour
        at_partner = E[self._rows, self.partner]
        # other clips at least as near as the partner (the partner itself is counted once, removed)
        closer = np.count_nonzero(E >= at_partner[:, None], axis=1) - 1
        return PairScore(int(np.count_nonzero(closer)), n, float(closer.mean() / max(n - 2, 1)))

    def score_many(self, masks: np.ndarray) -> list[PairScore]:
        """The objective for each row of a boolean mask matrix."""
        return [self.score(m) for m in np.atleast_2d(np.asarray(masks, dtype=bool))]


def pair_partners(song_ids: np.ndarray) -> np.ndarray:
    """Partner rows for clips given their song ids (each song must appear exactly twice)."""
    song_ids = np.asarray(song_ids)
    order = np.argsort(song_ids, kind="stable")
    sorted_ids = song_ids[order]
    if len(song_ids) % 2 or np.any(sorted_ids[0::2] != sorted_ids[1::2]) or (
            len(sorted_ids) > 2 and np.any(sorted_ids[2::2] == sorted_ids[1:-1:2])):
        raise ParameterError("every song must have exactly two clips")
    partner = np.empty(len(song_ids), dtype=np.int64)
    partner[order[0::2]] = order[1::2]
    partner[order[1::2]] = order[0::2]
    return partner
