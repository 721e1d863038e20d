"""The song's self-similarity as a mutual k-nearest-neighbour affinity matrix.

:func:`knn_affinity` returns what ``librosa.segment.recurrence_matrix(X, width=w, k=k,
mode="affinity", metric="cosine", sym=True)`` returns (dense), computed on one dense cosine-distance
matrix with numpy. librosa builds the same graph in a LIL sparse matrix and trims and measures it a
row at a time in Python: ~0.7 s of a 3-min song's 1.1 s hook search, on matrices of at most ~1,000
frames (a 8-min song at 0.5 s frames) where the dense n x n array is a few MB.
``tests/test_hook.py`` checks the two agree.
"""

from __future__ import annotations

import numpy as np


def knn_affinity(data: np.ndarray, *, width: int, k: int) -> np.ndarray:
    """Affinity ``exp(-d / bandwidth)`` between frames that are each other's ``k`` nearest neighbours.

    Parameters
    ----------
    data : np.ndarray, shape (n_features, n_frames)
        One column per frame.
    width : int
        Frames closer than ``width`` in time are never linked.
    k : int
        Neighbours kept per frame (after the ``width`` exclusion), as librosa's ``k``.

    Returns
    -------
    np.ndarray, shape (n_frames, n_frames)
        Symmetric, zero where two frames are not mutual neighbours. The bandwidth is librosa's
        ``"med_k_scalar"``: the median over frames of the distance to the k-th linked neighbour.
    """
    X = np.asarray(data, dtype=np.float64).T
    t = X.shape[0]
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    Xn = X / np.where(norm > 0, norm, 1.0)
    D = 1.0 - Xn @ Xn.T  # cosine distance, as scikit-learn's metric="cosine"
    np.clip(D, 0.0, 2.0, out=D)
    rows = np.arange(t)
    # the neighbour search: each frame's min(t - 1, k + 2 width) nearest other frames
    n_search = min(t - 1, k + 2 * width)
    order = np.argsort(np.where(rows[:, None] == rows[None, :], np.inf, D), axis=1, kind="stable")[:, :n_search]
    d_sel = np.take_along_axis(D, order, axis=1)
    # librosa drops links within `width` of the diagonal and links at distance 0 (a sparse zero),
    # then keeps each frame's k nearest remaining links
    keep = (np.abs(order - rows[:, None]) >= width) & (d_sel > 0)
    rank = np.cumsum(keep, axis=1)
    keep &= rank <= k
    link = np.zeros((t, t), dtype=bool)
    link[np.repeat(rows, n_search)[keep.ravel()], order[keep]] = True
    link &= link.T  # mutual neighbours only (sym=True: the minimum of the two directions)
    dist = np.where(link, np.minimum(D, D.T), 0.0)
    # bandwidth: per frame the distance to its k-th nearest link (its farthest, with fewer)
    n_links = link.sum(axis=1)
    ranked = np.sort(np.where(link, dist, np.inf), axis=1)
    kth = np.where(n_links > 0, ranked[rows, np.clip(np.minimum(n_links, k) - 1, 0, None)], np.nan)
    if not np.isfinite(kth).any():
        raise ValueError("cannot estimate the affinity bandwidth from an empty graph")
    bandwidth = float(np.nanmedian(kth))
    return np.where(link, np.exp(-dist / bandwidth), 0.0)
