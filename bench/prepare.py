"""Benchmark `prepare`: N MP3 songs (3-4 min, 44.1 kHz stereo) -> 16 kHz mono 15 s clips on disk,
catalog updated; beside it, the same work as a single-process `librosa.load(sr=16000, duration=15)`
loop (+ writing the clip), in the same run, with the ratios: wall songs/s (bgmscope with --jobs
workers against one process) and CPU seconds per song of the whole process tree (per core, fair
whatever the jobs and the load; sampled with psutil as bench/pipeline.py does, forkserver workers
included). Targets are for 400 songs: a smaller run prints its figures, not a verdict.

    python bench/prepare.py [--songs 400] [--jobs 2] [--folder DIR_OF_MP3S] [--quick]

Without --folder it renders 8 distinct songs from music21 scores through the SoundFont and gives each
of the N files its own ID3 tag, so every file has its own sha256 (its own cache entry) while rendering
stays quick. The corpus is cached in bench/out/.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest

OUT = Path(__file__).parent / "out"


def id3_tag(text: str) -> bytes:
    """A minimal ID3v2.3 tag with one TXXX frame (decoders skip it)."""
    body = b"\x03" + b"bench\x00" + text.encode("utf-8")
    frame = b"TXXX" + len(body).to_bytes(4, "big") + b"\x00\x00" + body
    size = len(frame)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + frame


def build_corpus(n: int) -> Path:
    from bgmscope.scores import arrange, load_piece
    from bgmscope.synth import render_midi

    folder = OUT / f"prepare-{n}"
    if folder.exists() and len(list(folder.glob("*.mp3"))) == n:
        return folder
    base_dir = OUT / "prepare-base"
    base_dir.mkdir(parents=True, exist_ok=True)
    bases = []
    for i in range(8):
        p = base_dir / f"base{i}.mp3"
        if not p.exists():
            rng = random.Random(i)
            piece = load_piece("essenFolksong/han1", 10 + i)
            pm = arrange(piece, rng, tempo=rng.uniform(80, 130), min_seconds=rng.uniform(180, 240))
            sf.write(str(p), render_midi(pm, sr=44100).T, 44100, format="MP3")
        bases.append(p.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{i:05d}.mp3").write_bytes(id3_tag(f"song {i}") + bases[i % 8])
    return folder


def verdict(ok: bool, n: int, at: int = 400) -> str:
    return ("met" if ok else "MISSED") if n >= at else f"not judged ({n} songs < {at})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=400)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--quick", action="store_true", help="40 songs")
    args = ap.parse_args()
    n = 40 if args.quick else args.songs
    folder = args.folder or build_corpus(n)
    files = sorted(folder.glob("*.mp3"))[:n]
    durations = [sf.info(str(f)).duration for f in files[:8]]
    print(f"corpus: {len(files)} MP3s in {folder}, e.g. {np.mean(durations):.0f} s, "
          f"{sf.info(str(files[0])).samplerate} Hz, {sf.info(str(files[0])).channels} ch")

    sys.path.insert(0, str(Path(__file__).parent))
    from pipeline import TreeSampler

    work = Path(tempfile.mkdtemp(prefix="bgmscope-bench-"))
    try:
        settings = Settings(data_dir=work / "data")
        with Catalog(settings.ensure().catalog_path) as cat, TreeSampler() as tree:
            t0 = time.perf_counter()
            ingest(files, cat)  # the first N only, not the whole folder
            t_ingest = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), tree.sample()
            s = prepare(cat, settings, kind="first", jobs=args.jobs, show_progress=False)
            t_prep, c_prep = time.perf_counter() - t0, tree.sample() - c0
            rss = tree.peak_rss / 1e6
        assert s.ok == len(files), (s.ok, s.failures[:3])

        import librosa

        lib_dir = work / "librosa"
        lib_dir.mkdir()
        t0, c0 = time.perf_counter(), time.process_time()
        for f in files:
            y, sr = librosa.load(str(f), sr=16000, duration=15)
            sf.write(str(lib_dir / f"{f.stem}.wav"), y, sr, subtype="PCM_16")
        t_lib, c_lib = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = len(files)
    bgm_rate, lib_rate = n / t_prep, n / t_lib
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"ingest (probe + sha256):    {n / t_ingest:8.1f} songs/s wall")
    print(f"bgmscope prepare -j {args.jobs}:     {bgm_rate:8.1f} songs/s wall, {1000 * c_prep / n:6.1f} ms CPU/song "
          f"(tree)   target >= 60 songs/s -> {verdict(bgm_rate >= 60, n)}")
    print(f"librosa.load loop (1 proc): {lib_rate:8.1f} songs/s wall, {1000 * c_lib / n:6.1f} ms CPU/song")
    print(f"ratio bgmscope / librosa:   {bgm_rate / lib_rate:8.2f}x wall ({args.jobs} workers vs 1 process), "
          f"{c_lib / max(c_prep, 1e-9):.2f}x per core (CPU)   target >= 1.6x (wall) -> "
          f"{verdict(bgm_rate / lib_rate >= 1.6, n)}")
    print(f"peak RSS of the tree:       {rss:8.0f} MB   target < 1000 -> {verdict(rss < 1000, n)}")


if __name__ == "__main__":
    sys.exit(main())
