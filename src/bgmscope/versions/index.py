"""Candidate pairs from a nearest-neighbour index over every song's window embeddings.

Each song has one embedding per 10 s window (:mod:`.signature`). All windows of all songs go into
one faiss index; each window asks for its ``k`` nearest windows, and two songs become a candidate
pair when their windows meet. A song keeps at most ``per_song`` partners (those its windows met most
often), so the number of pairs the aligner sees grows linearly with the chart, not with its square.
A cut of a song meets the windows of the part it was cut from; an unrelated song that merely sounds
alike may be a candidate too — the alignment (:mod:`.align`) decides.

The index is exact (faiss ``IndexFlatL2``: every distance, by BLAS; 1.1 s CPU for the ~22,000
windows of 400 songs) up to :data:`EXACT_MAX` windows, and a graph index (HNSW: ~n log n; 13 s for
the ~88,000 windows of 1,600 songs, where the exact search takes 15 s and grows with the square)
above, whose neighbour lists agree with the exact ones on 99.96 % of entries there. faiss runs on
one thread here, so a chart gives the same pairs on every run.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

K_NEIGHBOURS = 10     # nearest windows each window asks for
PER_SONG = 16         # partners a song keeps (most window hits first)
EXACT_MAX = 50_000    # windows (~900 songs) up to which every distance is computed
HNSW_LINKS = 32       # graph degree of the approximate index
HNSW_EF_BUILD = 80
HNSW_EF_SEARCH = 128  # candidates kept while searching (>= the neighbours asked for)


def nearest_windows(X: np.ndarray, kk: int, *, exact_max: int = EXACT_MAX) -> np.ndarray:
    """Indices (n, kk) of each row's ``kk`` nearest rows of ``X`` (itself included), nearest first."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # deterministic: the graph is built in one order
    try:
        if len(X) <= exact_max:
            index = faiss.IndexFlatL2(X.shape[1])
        else:
            index = faiss.IndexHNSWFlat(X.shape[1], HNSW_LINKS)
            index.hnsw.efConstruction = HNSW_EF_BUILD
            index.hnsw.efSearch = max(HNSW_EF_SEARCH, 2 * kk)
        index.add(X)
        _, nbr = index.search(X, kk)
    finally:
        faiss.omp_set_num_threads(threads)
    return nbr


def candidate_pairs(windows: dict[str, np.ndarray], *, k: int = K_NEIGHBOURS,
                    per_song: int = PER_SONG, exact_max: int = EXACT_MAX) -> list[tuple[str, str]]:
    """Sorted unordered pairs ``(a, b)``, ``a < b``, of songs whose windows are near neighbours.

    ``windows``: track_id -> (m, d) window embeddings (a song without windows gets no pairs)."""
    ids = sorted(t for t, w in windows.items() if len(w))
    if len(ids) < 2:
        return []
    X = np.ascontiguousarray(np.vstack([windows[t] for t in ids]), dtype=np.float32)
    owner = np.concatenate([np.full(len(windows[t]), i) for i, t in enumerate(ids)])
    kk = min(len(X), k + 1 + int(np.bincount(owner).max()) // 4)  # room for a song's own windows
    nbr = nearest_windows(X, kk, exact_max=exact_max)
    hits: list[Counter] = [Counter() for _ in ids]
    for w, row in enumerate(nbr):
        me = owner[w]
        others = [o for o in owner[row[row >= 0]] if o != me][:k]  # -1: fewer found (HNSW)
        for o in set(others):
            hits[me][o] += 1
            hits[o][me] += 1
    pairs: set[tuple[int, int]] = set()
    for i, c in enumerate(hits):
        for j, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:per_song]:
            pairs.add((min(i, j), max(i, j)))
    return sorted((ids[i], ids[j]) for i, j in pairs)
