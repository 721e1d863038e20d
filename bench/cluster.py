"""Benchmark: clustering that finds structure or says it found none (issue 16, item 5).

On (1) bgmscope's demo corpus (music21 songs rendered by ``bgmscope.demo``; the truth is each
song's source style: Chinese folk, Irish fiddle, Bach chorale) and (2) synthetic feature tables with
known groups (planted centres in a few columns + pure-noise columns, unequal group sizes) and the
same tables with every column permuted (no structure), it prints per feature choice: the chosen k,
groups / outlier songs, the structure verdict with the null's family-wise p-values, the chosen
k's silhouette against the null's 95th percentile, seed stability (mean ARI over 10 other seeds)
and AMI to the truth. The seed's way (k by silhouette, no null) is printed beside it.

Targets (issue 16): "structure found" with high AMI on planted groups, "no cluster structure" on
their permuted copies, and on the demo an honest verdict with AMI to the styles printed.

    nice -n 10 .venv/bin/python bench/cluster.py            # demo (48 songs) + synthetic
    nice -n 10 .venv/bin/python bench/cluster.py --no-demo  # synthetic only (a few minutes)
    nice -n 10 .venv/bin/python bench/cluster.py --demo-only

The demo corpus and its features are built once into bench/out/cluster-demo/ (a few minutes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.metrics import adjusted_mutual_info_score

from bgmscope.cluster.clustering import ClusterOptions, cluster_candidates, cluster_songs

HERE = Path(__file__).parent
OUT = HERE / "out" / "cluster-demo"


def synthetic(seed: int, sizes=(40, 30, 25, 20, 15, 10), signal: int = 6, noise: int = 24, sep: float = 2.5):
    """Planted groups (centres ~ N(0, sep^2) in ``signal`` columns, unit noise) + noise columns."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    centres = rng.normal(size=(len(sizes), signal)) * sep
    S = centres[truth] + rng.normal(size=(len(truth), signal))
    scale = rng.lognormal(size=signal + noise)  # descriptors come in every unit
    X = np.hstack([S, rng.normal(size=(len(truth), noise))]) * scale
    cols = [f"s{i}" for i in range(signal)] + [f"n{i}" for i in range(noise)]
    return pd.DataFrame(X, columns=cols), truth


def show(r: dict) -> dict:
    """Print a row as soon as it is measured (a long run is readable while it goes)."""
    print(" | ".join(f"{k}={v}" for k, v in r.items()), flush=True)
    return r


def _ami(truth, labels) -> float:
    """AMI over the songs whose truth is known (a demo track missing from the chart CSV has none)."""
    known = pd.notna(pd.Series(truth)).to_numpy()
    return float(adjusted_mutual_info_score(np.asarray(truth)[known], np.asarray(labels)[known]))


def row(label: str, res, truth, seconds: float) -> dict:
    s = res.summary()
    out = {"data": label, "set": res.feature_set, "k": res.chosen_k,
           "groups/outl": f"{s['groups']}/{s['outlier_songs']}",
           "ARI seeds": round(s["ari_seeds_mean"], 2),
           "AMI truth": round(_ami(truth, res.kmeans), 3), "s": round(seconds, 1)}
    if res.test is not None:
        out.update({"verdict": "STRUCTURE" if res.structure else "none",
                    "p perm/gauss": f"{s['null_p_value_permuted']:.3f}/{s['null_p_value_gaussian']:.3f}",
                    "sil vs null p95": f"{s['null_silhouette']:.3f} vs {s['null_silhouette_p95']:.3f}",
                    "null pct": f"{100 * s['null_silhouette_percentile']:.0f}%"})
    else:
        out.update({"verdict": "(no test)", "sil vs null p95": f"{s['silhouette']:.3f}"})
    return show(out)


def run_synthetic(opts: ClusterOptions, seeds: int) -> list[dict]:
    rows = []
    for sd in range(seeds):
        X, truth = synthetic(sd)
        signal = X[[c for c in X if c.startswith("s")]]
        noise = X[[c for c in X if c.startswith("n")]]
        t = time.perf_counter()
        res = cluster_candidates({"all": X, "signal": signal, "noise": noise}, opts)
        rows.append(row(f"planted seed {sd} (choose)", res, truth, time.perf_counter() - t))
        t = time.perf_counter()
        seedway = cluster_songs(X, ClusterOptions(k_min=opts.k_min, k_max=opts.k_max, choose_by="silhouette",
                                                  null_permutations=0, bootstrap=0, seed=opts.seed))
        rows.append(row(f"planted seed {sd} (seed's way, all)", seedway, truth, time.perf_counter() - t))
        rng = np.random.default_rng(100 + sd)
        P = X.apply(lambda c, rng=rng: rng.permutation(c.to_numpy()))  # each column on its own
        t = time.perf_counter()
        res = cluster_candidates({"all": P, "signal": P[signal.columns], "noise": P[noise.columns]}, opts)
        rows.append(row(f"permuted seed {sd} (choose)", res, truth, time.perf_counter() - t))
    return rows


def demo_catalog(songs: int, jobs: int, console: Console):
    """The demo corpus through prepare, features and select (cached in bench/out/cluster-demo)."""
    from bgmscope.catalog import Catalog
    from bgmscope.config import Settings
    from bgmscope.context import PipelineContext
    from bgmscope.demo import build_demo_corpus
    from bgmscope.features import stage as features
    from bgmscope.pipeline import run_stages
    from bgmscope.prepare import stage as prepare
    from bgmscope.prepare.ingest import ingest
    from bgmscope.select import stage as select

    settings = Settings(data_dir=OUT / f"data-{songs}")
    settings.ensure()
    corpus = build_demo_corpus(OUT / f"corpus-{songs}", n_songs=songs, seed=0, jobs=jobs, console=console)
    cat = Catalog(settings.catalog_path)
    if not cat.has_table("select_features") or cat.read_frame("features").empty:
        ingest([corpus.audio_dir, corpus.chart_csv], cat)
        ctx = PipelineContext(cat, settings, jobs, console, demo=True, seed=0, demo_corpus=corpus)
        run_stages(ctx, [("prepare", prepare.run_stage), ("features", features.run_stage),
                         ("select", select.run_stage)])
    style = dict(zip(corpus.songs["音乐ID"].astype(str), corpus.songs["style"], strict=True))
    return cat, settings, style


def run_demo(opts: ClusterOptions, songs: int, jobs: int, console: Console) -> list[dict]:
    from bgmscope.cluster.stage import run_cluster

    cat, settings, style = demo_catalog(songs, jobs, console)
    tracks = cat.tracks().set_index("track_id")["music_id"].astype(str)
    rows = []
    with cat:
        for features, o in (("choose", opts),
                            ("auto", ClusterOptions(k_min=opts.k_min, k_max=opts.k_max, choose_by="silhouette",
                                                    null_permutations=0, bootstrap=0, seed=opts.seed)),
                            ("stat42", opts), ("all", opts)):
            t = time.perf_counter()
            res, _, _, _ = run_cluster(cat, settings, options=o, features=features)
            ids = cat.read_frame("cluster_assignments")["track_id"]
            truth = ids.map(tracks).map(style).to_numpy()
            if features != "choose":
                res.feature_set = features
            label = f"demo {len(ids)} songs ({features}{', seed' + chr(39) + 's way' if o is not opts else ''})"
            rows.append(row(label, res, truth, time.perf_counter() - t))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-demo", action="store_true", help="synthetic tables only")
    ap.add_argument("--demo-only", action="store_true", help="the demo corpus only")
    ap.add_argument("--songs", type=int, default=48, help="demo corpus size (default 48)")
    ap.add_argument("--seeds", type=int, default=3, help="synthetic data sets (default 3)")
    ap.add_argument("--null", type=int, default=50, help="null data sets per null (default 50)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="12 demo songs, 1 seed, 10 nulls")
    args = ap.parse_args()
    if args.quick:
        args.songs, args.seeds, args.null = 12, 1, 10
    console = Console()
    from threadpoolctl import threadpool_limits

    opts = ClusterOptions(k_min=2, k_max=10, null_permutations=args.null, bootstrap=0, stability_seeds=10)
    with threadpool_limits(1):
        rows = [] if args.demo_only else run_synthetic(opts, args.seeds)
        if not args.no_demo:
            rows += run_demo(ClusterOptions(k_min=2, k_max=10, null_permutations=args.null, bootstrap=0,
                                            stability_seeds=10), args.songs, args.jobs, console)
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 40):
        print(df.to_string(index=False))
    if args.demo_only:
        return
    planted = df[df["data"].str.startswith("planted") & df["data"].str.endswith("(choose)")]
    permuted = df[df["data"].str.startswith("permuted")]
    print(f"\ntarget: planted groups -> structure found: {(planted['verdict'] == 'STRUCTURE').sum()}/{len(planted)}, "
          f"median AMI {planted['AMI truth'].median():.3f} (the seed's way on all columns: "
          f"{df[df['data'].str.contains('seed.s way, all')]['AMI truth'].median():.3f})")
    print(f"target: permuted copies -> no cluster structure: {(permuted['verdict'] == 'none').sum()}/{len(permuted)}")


if __name__ == "__main__":
    main()
