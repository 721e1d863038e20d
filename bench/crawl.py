"""Benchmark: a 400-song crawl + download from the loopback chart server (1 MB MP3s).

Prints songs/s and peak RSS for bgmscope's crawl + download with --jobs 1 and --jobs 8, beside the
seed's approach measured in the same run (one getPlayUrl and one whole-body GET per song, in
sequence, no verification), and the ratios. Each mode runs in its own process (so peak RSS is
that mode's); the server runs in another process.

    .venv/bin/python bench/crawl.py            # 400 songs x 1 MB
    .venv/bin/python bench/crawl.py --quick    # 40 songs x 256 KB
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _serve(root: str, port: int) -> None:
    from bgmscope.acquire.server import serve_chart

    srv = serve_chart(root, port=port)
    srv.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(mode: str, base_url: str, data_dir: str, n: int) -> dict:
    """One mode, in this process: returns songs, seconds, bytes and peak RSS (MiB)."""
    import httpx

    from bgmscope.acquire.client import ChartClient
    from bgmscope.acquire.crawl import crawl
    from bgmscope.acquire.download import download
    from bgmscope.catalog import Catalog
    from bgmscope.config import Settings

    t0 = time.perf_counter()  # after the imports: we time the crawl + download, not Python start-up
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = r0.ru_utime + r0.ru_stime
    out = Path(data_dir) / "audio"
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    if mode == "seed":
        with httpx.Client(timeout=30) as c:
            page, ids = 1, []
            while len(ids) < n:
                items = c.get(base_url + "search", params={"page": page, "size": 50, "orderby": "user_count",
                                                          "incr_type": "7d", "order": "desc"}).json()["data"]["list"]
                if not items:
                    break
                ids += [i["music_id"] for i in items]
                page += 1
            for mid in ids[:n]:
                src = c.get(base_url + "getPlayUrl", params={"music_id": mid}).json()["data"]
                body = c.get(src).content
                (out / f"{mid}.mp3").write_bytes(body)
                total += len(body)
        songs = len(ids[:n])
    else:
        jobs = int(mode.removeprefix("jobs"))
        settings = Settings(data_dir=data_dir).ensure()
        with Catalog(settings.catalog_path) as cat, ChartClient(base_url, rps=0, max_connections=16) as client:
            crawl(client, cat, top=n)
            s = download(cat, settings, client, jobs=jobs, show_progress=False)
        songs, total = s.downloaded, s.bytes
        if s.failed:
            raise SystemExit(f"{s.failed} downloads failed: {s.failures[:2]}")
    secs = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = me.ru_maxrss / 1024  # KiB on Linux
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - cpu0
    return {"mode": mode, "songs": songs, "seconds": secs, "cpu_s": cpu, "mib": total / 2**20, "peak_rss_mib": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 songs x 256 KB")
    ap.add_argument("--songs", type=int)
    ap.add_argument("--mb", type=float, help="file size (MB)")
    ap.add_argument("--worker", nargs=4, metavar=("MODE", "BASE_URL", "DATA_DIR", "N"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        mode, url, d, n = a.worker
        print(json.dumps(worker(mode, url, d, int(n))))
        return
    from bgmscope.acquire.synthetic import make_chart_corpus

    n = a.songs or (40 if a.quick else 400)
    mb = a.mb or (0.25 if a.quick else 1.0)
    tmp = Path(tempfile.mkdtemp(prefix="bgmscope-bench-crawl-"))
    try:
        t0 = time.perf_counter()
        _, files = make_chart_corpus(tmp / "corpus", n, target_bytes=int(mb * 1e6), seed=0)
        size = sum(p.stat().st_size for p in files.values()) / len(files)
        print(f"corpus: {n} songs, {size / 1e6:.2f} MB each ({time.perf_counter() - t0:.1f} s to build)")
        port = _free_port()
        server = mp.get_context("spawn").Process(target=_serve, args=(str(tmp / "corpus"), port), daemon=True)
        server.start()
        base = f"http://127.0.0.1:{port}/api/"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        results = {}
        try:
            for mode in ("seed", "jobs1", "jobs8"):
                d = tmp / mode
                p = subprocess.run([sys.executable, __file__, "--worker", mode, base, str(d), str(n)],
                                   capture_output=True, text=True, check=False)
                if p.returncode:
                    raise SystemExit(f"{mode} failed: {p.stderr[-1000:]}")
                results[mode] = json.loads(p.stdout.strip().splitlines()[-1])
                for f in list(files)[:3]:  # spot check: the bytes arrived intact
                    assert (d / "audio" / f"{f}.mp3").read_bytes() == files[f].read_bytes()
                shutil.rmtree(d)
        finally:
            server.terminate()
            server.join(5)
        seed = results["seed"]
        print(f"(wall time: the crawl is I/O over loopback; CPU ms/song is this client's own; load average "
              f"{os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores, the server included)")
        print(f"{'mode':<40}{'songs':>6}{'wall s':>8}{'songs/s':>9}{'MiB/s':>8}{'CPU ms/song':>12}"
              f"{'peak RSS MiB':>14}{'vs seed':>9}")
        names = {"seed": "seed-style (sequential GET, no checks)", "jobs1": "bgmscope --jobs 1",
                 "jobs8": "bgmscope --jobs 8"}
        for mode, r in results.items():
            rate = r["songs"] / r["seconds"]
            print(f"{names[mode]:<40}{r['songs']:>6}{r['seconds']:>8.1f}{rate:>9.1f}{r['mib'] / r['seconds']:>8.1f}"
                  f"{1000 * r['cpu_s'] / max(1, r['songs']):>12.1f}{r['peak_rss_mib']:>14.0f}{rate / (seed['songs'] / seed['seconds']):>8.2f}x")
        j1, j8 = results["jobs1"], results["jobs8"]
        print(f"jobs 8 / jobs 1 speed-up: {(j8['songs'] / j8['seconds']) / (j1['songs'] / j1['seconds']):.2f}x "
              f"(loopback, {len(os.sched_getaffinity(0))} cores shared with the server)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
