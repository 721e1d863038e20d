"""Candidate pairs from a nearest-neighbour index over every song's window embeddings.

Each song has one embedding per 10 s window (:mod:`.signature`). All windows of all songs go into
one scikit-learn :class:`~sklearn.neighbors.NearestNeighbors` index; each window asks for its
``k`` nearest windows, and two songs become a candidate pair when their windows meet. A song keeps
at most ``per_song`` partners (those its windows met most often), so the number of pairs the aligner
sees grows linearly with the chart, not with its square. A cut of a song meets the windows of the
part it was cut from; an unrelated song that merely sounds alike may be a candidate too — the
alignment (:mod:`.align`) decides.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

K_NEIGHBOURS = 10     # nearest windows each window asks for
PER_SONG = 16         # partners a song keeps (most window hits first)


def candidate_pairs(windows: dict[str, np.ndarray], *, k: int = K_NEIGHBOURS,
                    per_song: int = PER_SONG) -> list[tuple[str, str]]:
    """Sorted unordered pairs ``(a, b)``, ``a < b``, of songs whose windows are near neighbours.

    ``windows``: track_id -> (m, d) window embeddings (a song without windows gets no pairs)."""
    from sklearn.neighbors import NearestNeighbors

    ids = sorted(t for t, w in windows.items() if len(w))
    if len(ids) < 2:
        return []
    X = np.vstack([windows[t] for t in ids]).astype(np.float32)
    owner = np.concatenate([np.full(len(windows[t]), i) for i, t in enumerate(ids)])
    kk = min(len(X), k + 1 + int(np.bincount(owner).max()) // 4)  # room for a song's own windows
    nn = NearestNeighbors(n_neighbors=kk, algorithm="ball_tree").fit(X)  # a tree: no all-pairs matrix
    _, nbr = nn.kneighbors(X)
    hits: list[Counter] = [Counter() for _ in ids]
    for w, row in enumerate(nbr):
        me = owner[w]
        others = [o for o in owner[row] if o != me][:k]
        for o in set(others):
            hits[me][o] += 1
            hits[o][me] += 1
    pairs: set[tuple[int, int]] = set()
    for i, c in enumerate(hits):
        for j, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:per_song]:
            pairs.add((min(i, j), max(i, j)))
    return sorted((ids[i], ids[j]) for i, j in pairs)
