"""The versions index: candidate pairs from nearest window embeddings (exact and HNSW)."""

import numpy as np
import pytest

from bgmscope.versions.index import candidate_pairs, nearest_windows


def _chart(n_songs: int, seed: int = 0) -> tuple[dict[str, np.ndarray], set[tuple[str, str]]]:
    """Songs of 20-60 random windows; every 5th song is a noisy cut of the song before it."""
    rng = np.random.default_rng(seed)
    songs, truth = {}, set()
    for i in range(n_songs):
        tid = f"s{i:04d}"
        if i % 5 == 4:
            src = songs[f"s{i - 1:04d}"]
            start = rng.integers(0, len(src) // 2)
            songs[tid] = (src[start: start + len(src) // 2]
                          + rng.normal(0, 0.05, (len(src) // 2, src.shape[1]))).astype(np.float32)
            truth.add((f"s{i - 1:04d}", tid))
        else:
            # a slowly varying song: neighbouring windows alike, songs apart
            walk = np.cumsum(rng.normal(0, 0.3, (int(rng.integers(20, 60)), 36)), axis=0)
            songs[tid] = (walk + rng.normal(0, 2.0, 36)).astype(np.float32)
    return songs, truth


def test_cuts_are_candidates_and_partners_are_bounded():
    songs, truth = _chart(60)
    pairs = candidate_pairs(songs, per_song=4)
    assert truth <= set(pairs)
    assert all(a < b for a, b in pairs) and pairs == sorted(set(pairs))
    # a song keeps its 4 best partners (it can be kept by others too): the pairs grow linearly
    assert len(pairs) <= 4 * len(songs)
    assert candidate_pairs(songs, per_song=4) == pairs  # deterministic


def test_hnsw_index_agrees_with_the_exact_one():
    songs, truth = _chart(120, seed=1)
    X = np.ascontiguousarray(np.vstack(list(songs.values())), dtype=np.float32)
    exact = nearest_windows(X, 12)
    approx = nearest_windows(X, 12, exact_max=0)
    assert exact.shape == approx.shape == (len(X), 12)
    assert (exact[:, 0] == np.arange(len(X))).all()  # each window is its own nearest
    recall = np.mean([len(set(e) & set(a)) / 12 for e, a in zip(exact, approx, strict=True)])
    assert recall >= 0.99
    # the pairs it proposes hold every cut, as the exact index's do
    hnsw_pairs = set(candidate_pairs(songs, exact_max=0))
    assert truth <= hnsw_pairs
    assert len(hnsw_pairs ^ set(candidate_pairs(songs))) <= 0.02 * len(hnsw_pairs)
    assert candidate_pairs(songs, exact_max=0) == sorted(hnsw_pairs)  # one thread: reproducible


def test_small_and_empty_charts():
    assert candidate_pairs({}) == []
    assert candidate_pairs({"a": np.zeros((3, 36), np.float32)}) == []
    assert candidate_pairs({"a": np.zeros((0, 36), np.float32), "b": np.ones((2, 36), np.float32)}) == []
    two = {"a": np.zeros((2, 36), np.float32), "b": np.ones((2, 36), np.float32)}
    assert candidate_pairs(two) == [("a", "b")]
    assert candidate_pairs(two, exact_max=0) == [("a", "b")]


def test_nearest_windows_restores_the_thread_count():
    faiss = pytest.importorskip("faiss")
    before = faiss.omp_get_max_threads()
    nearest_windows(np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32), 5)
    assert faiss.omp_get_max_threads() == before
