"""Benchmark: ``similar`` over the whole song (issue 16, item 7).

A catalog of synthetic songs in sections, like real songs whose middle differs from their start:
three seeded polyphonic pieces of ``bench/_pieces.py`` (own texture, instruments, key and tempo each)
are the sections A, B, C of a song laid out A B A B C B (18-22 s per section: 108-132 s), half of
the songs rendered through each SoundFont present (TimGM6mb always, FluidR3_GM when installed).
Then two queries
per song through ``bgmscope.similar.search.similar(file=...)``, the code path of
``bgmscope similar --file``: a 30 s cut from the middle of the song (a random start between 25 % and
75 % of it) and the whole song with 3 s of silence in front. For each it prints the rank of the full
song among the catalog (target: median rank 1, issue 16) and the share at rank 1. With
``--baseline`` it also runs the previous way (the first 15 s clip's descriptors, ``basis='clip'``)
on the same queries.

    nice -n 10 .venv/bin/python bench/similar.py [--songs 40] [--baseline] [--jobs 2]

Without FluidR3_GM every song uses TimGM6mb (``apt-get install fluid-soundfont-gm`` adds the
second SoundFont). Rendered songs are kept in bench/out/similar/.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
OUT = HERE / "out" / "similar"
SR = 22050


LAYOUT = "ABABCB"


def render_song(job: tuple[int, str, str, float, str]) -> str:
    from _pieces import poly_piece, render

    seed, font_name, font, seconds, path = job
    if not Path(path).exists():
        parts = {}
        for j, name in enumerate("ABC"):
            pm, _ = poly_piece(3 * seed + j, seconds=seconds)
            parts[name] = render(pm, font, SR)[: int(seconds * SR)]
        y = np.concatenate([parts[c] for c in LAYOUT])
        tmp = Path(path).with_suffix(".tmp.wav")
        sf.write(str(tmp), y, SR)
        tmp.replace(path)
    return path


def build(n: int, jobs: int) -> tuple[list[dict], list[str]]:
    from _pieces import fonts

    from bgmscope.engine import run_map

    present = [f for f in fonts() if f[0] in ("TimGM6mb", "FluidR3_GM")]
    (OUT / f"songs-{LAYOUT}").mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    jobs_list = []
    for i in range(n):
        name, font = present[i % len(present)]
        seconds = rng.uniform(18, 22)  # per section
        jobs_list.append((1000 + i, name, font, seconds, str(OUT / f"songs-{LAYOUT}" / f"song{i:03d}-{name}-{LAYOUT}.wav")))
    done = {o.item[4] for o in run_map(render_song, jobs_list, jobs=jobs, desc="render songs") if o.ok}
    songs = [{"i": j[0] - 1000, "font": j[1], "path": j[4]} for j in jobs_list if j[4] in done]
    return songs, [p[0] for p in present]


def queries(songs: list[dict]) -> list[dict]:
    rng = np.random.default_rng(1)
    (OUT / "queries").mkdir(parents=True, exist_ok=True)
    out = []
    for s in songs:
        y, sr = sf.read(s["path"], dtype="float32")
        dur = len(y) / sr
        start = rng.uniform(0.25 * dur, 0.75 * dur - 30.0) if dur > 60 else 0.0
        cut = OUT / "queries" / f"cut-{Path(s['path']).stem}.wav"
        sf.write(str(cut), y[int(start * sr): int((start + 30) * sr)], sr)
        pad = OUT / "queries" / f"pad-{Path(s['path']).stem}.wav"
        sf.write(str(pad), np.r_[np.zeros(3 * sr, np.float32), y], sr)
        out += [{"song": s["path"], "kind": "middle 30 s cut", "file": str(cut), "start_s": start},
                {"song": s["path"], "kind": "3 s silence in front", "file": str(pad), "start_s": 0.0}]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="12 songs")
    ap.add_argument("--baseline", action="store_true", help="also the first-15 s clip descriptors (slow)")
    args = ap.parse_args()
    if args.quick:
        args.songs = 12

    from bgmscope.catalog import Catalog
    from bgmscope.prepare.ingest import ingest
    from bgmscope.similar.search import similar

    songs, fonts_used = build(args.songs, args.jobs)
    qs = queries(songs)
    data = OUT / f"data-{LAYOUT}-{len(songs)}"
    data.mkdir(parents=True, exist_ok=True)
    cat = Catalog(data / "catalog.duckdb")
    if cat.audio_files().empty:
        ingest([OUT / f"songs-{LAYOUT}"], cat)
    af = cat.audio_files()
    tid_of = {str(Path(p).resolve()): str(t) for p, t in zip(af["path"], af["track_id"], strict=True)}
    bases = ["song"]
    if args.baseline:
        from rich.console import Console

        from bgmscope.config import Settings
        from bgmscope.context import PipelineContext
        from bgmscope.features import stage as features
        from bgmscope.pipeline import run_stages
        from bgmscope.prepare import stage as prepare

        if not cat.has_table("features") or cat.read_frame("features").empty:
            ctx = PipelineContext(cat, Settings(data_dir=data), args.jobs, Console())
            run_stages(ctx, [("prepare", prepare.run_stage), ("features", features.run_stage)])
        bases.append("clip")
    rows = []
    t0 = time.perf_counter()
    similar(cat, file=qs[0]["file"], k=1, basis="song", jobs=args.jobs)  # describe (and cache) the catalog once
    t_index = time.perf_counter() - t0
    for basis in bases:
        t = time.perf_counter()
        for q in qs:
            res = similar(cat, file=q["file"], k=len(songs), basis=basis, features="all")
            ranked = res.neighbours["track_id"].tolist()
            truth = tid_of[str(Path(q["song"]).resolve())]
            rows.append({**q, "basis": basis, "rank": ranked.index(truth) + 1 if truth in ranked else len(songs) + 1,
                         "font": next(s["font"] for s in songs if s["path"] == q["song"])})
        print(f"{basis}: {len(qs)} queries in {time.perf_counter() - t:.1f} s")
    cat.close()
    df = pd.DataFrame(rows)
    print(f"\n{len(songs)} synthetic songs (sections {LAYOUT}, 108-132 s; SoundFonts: {', '.join(fonts_used)}), "
          f"catalog described in {t_index:.1f} s")
    summary = df.groupby(["basis", "kind"])["rank"].agg(
        median_rank="median", share_rank1=lambda r: float((r == 1).mean()), worst="max", queries="count")
    print(summary.to_string())
    print("\nper SoundFont (whole-song basis):")
    print(df[df.basis == "song"].groupby(["kind", "font"])["rank"].agg(["median", "max", "count"]).to_string())
    for kind in ("middle 30 s cut", "3 s silence in front"):
        med = df[(df.basis == "song") & (df.kind == kind)]["rank"].median()
        print(f"target: {kind}: median rank of the full song {med:g} (target 1) -> {'met' if med == 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
