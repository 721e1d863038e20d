"""Benchmark: the GA feature selection (issue 5).

Target: 100 generations x 50 individuals on 400 songs (800 clips) x 42 features in <= 30 s on 2 cores.
Beside it, in the same run: the vectorised objective against a per-clip loop (the obvious way to
write the seed's nearest-neighbour count), on the same masks, with the results checked equal; and
the whole ``select`` study (GA on every song + 5-fold held-out check with all baselines), and what its
held-out gain over each baseline means (mean ± sd over the folds, within noise or not).

    .venv/bin/python bench/ga_select.py            # the full figures
    .venv/bin/python bench/ga_select.py --quick    # a small run (100 songs, 20 x 20)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bgmscope.select import (
    PairMatchObjective,
    SelectOptions,
    pair_partners,
    run_ga,
    select_features,
    standardise,
)


def table(n_songs: int, n_features: int = 42, n_informative: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two clips per song; informative columns with graded signal, a few correlated copies, the rest noise.

    Tuned so that all 42 features miss about half the clips at 400 songs (the study: 275 of 800).
    """
    rng = np.random.default_rng(seed)
    song = rng.normal(size=(n_songs, n_informative))
    clip_noise = np.linspace(0.2, 1.0, n_informative)
    inf = np.repeat(song, 2, axis=0) + clip_noise * rng.normal(size=(2 * n_songs, n_informative))
    copies = inf[:, :4] + 0.5 * rng.normal(size=(2 * n_songs, 4))
    noise = rng.normal(size=(2 * n_songs, n_features - n_informative - 4))
    return np.hstack([inf, copies, noise]), np.repeat(np.arange(n_songs), 2)


def loop_score(Z: np.ndarray, partner: np.ndarray, mask: np.ndarray) -> int:
    """The per-clip loop: distances from one clip at a time, count clips whose partner is not nearest."""
    Zs = Z[:, mask]
    misses = 0
    for i in range(len(Zs)):
        d = np.sqrt(((Zs - Zs[i]) ** 2).sum(axis=1))
        d[i] = np.inf
        dp = d[partner[i]]
        d[partner[i]] = np.inf
        misses += bool((d <= dp).any())
    return misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run")
    args = ap.parse_args()
    n_songs, gens, pop, n_masks, folds = (100, 20, 20, 10, 3) if args.quick else (400, 100, 50, 30, 5)

    X, songs = table(n_songs)
    Z, _, _ = standardise(X)
    partner = pair_partners(songs)
    obj = PairMatchObjective(Z, partner)
    rng = np.random.default_rng(1)
    masks = rng.random((n_masks, X.shape[1])) < 0.5

    with threadpool_limits(1, user_api="blas"):
        t0 = time.perf_counter()
        vec = [obj.score(m).mismatches for m in masks]
        t_vec = (time.perf_counter() - t0) / n_masks
    t0 = time.perf_counter()
    loop = [loop_score(Z, partner, m) for m in masks]
    t_loop = (time.perf_counter() - t0) / n_masks
    if vec != loop:
        raise SystemExit(f"objective mismatch: vectorised {vec[:5]} vs loop {loop[:5]}")

    cpu0 = time.process_time()
    res = run_ga(PairMatchObjective(Z, partner), X.shape[1], population=pop, generations=gens, seed=0)
    ga_cpu = time.process_time() - cpu0

    t0 = time.perf_counter()
    study = select_features(X, songs, options=SelectOptions(population=pop, generations=gens, folds=folds))
    t_study = time.perf_counter() - t0

    print(f"select benchmark: {n_songs} songs ({2 * n_songs} clips) x {X.shape[1]} features"
          + (" [quick]" if args.quick else ""))
    print(f"  objective, vectorised (one Gram matrix per subset): {t_vec * 1e3:8.2f} ms / evaluation")
    print(f"  objective, per-clip loop (comparison):               {t_loop * 1e3:8.2f} ms / evaluation"
          f"   -> vectorised is {t_loop / t_vec:.1f}x faster (same counts on {n_masks} masks)")
    print(f"  GA {gens} generations x {pop} individuals: {res.seconds:6.2f} s "
          f"({res.n_evaluations} offspring evaluated, {res.convergence['unique_evaluations'].iloc[-1]} unique), "
          f"target <= 30 s{' (full run only)' if args.quick else ''}: "
          f"{'MET' if res.seconds <= 30 else 'MISSED'} ({res.seconds / 30:.2f} of the budget); "
          f"CPU time {ga_cpu:.2f} s (wall > CPU means other processes shared the cores)")
    print(f"    best mismatches {res.convergence['best_mismatches'].iloc[0]} -> {res.score.mismatches} "
          f"of {res.score.n_clips}; all 42 features: {obj.score(np.ones(X.shape[1], bool)).mismatches}")
    print(f"  whole select study (GA on all songs + {folds}-fold held-out, greedy, 100 random): {t_study:6.2f} s "
          f"= {t_study / res.seconds:.1f}x one GA run")
    print("    miss rate in-sample | held-out: " + ", ".join(
        f"{m} {study.insample[m]:.3f} | {study.heldout[m]:.3f}" for m in ("ga", "all", "random", "greedy")))
    print("    what the held-out gain means (select_gain; within noise = |gain| <= sd of the per-fold gains):")
    for r in study.gain.itertuples():
        print(f"      vs {r.baseline:6s} {r.sentence}")


if __name__ == "__main__":
    main()
