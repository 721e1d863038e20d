"""Benchmark the whole pipeline (chart CSV + songs -> report) on N synthetic songs of 1-4 minutes.

    nice -n 10 python bench/pipeline.py [--sizes 50,100,200,400] [--songs 2000] [--jobs 2]
                                        [--workers 1,2] [--sweep-songs 50] [--no-rerun]

For every N it runs, in a fresh process and a fresh data folder, ``ingest`` and every stage of
``pipeline.STAGES`` (as ``bgmscope run`` does), then the same again (the cached rerun). The CPU
seconds are those of the whole process tree: a thread samples this process and every descendant
(pebble's forkserver workers, Dask's worker processes) with psutil every 0.1 s and keeps each
process's last user+system time, so a worker's CPU counts after it exits (what it spent in its last
<0.1 s is missed). Peak RSS is the tree's summed RSS at the worst sample (shared pages counted once
per process: an upper bound); beside it the summed PSS (shared pages split), the tree's real share. The growth exponent of a stage is the slope of log CPU over log N
across the sizes run; the 4,000-song projection extends the total's fitted curve.

``--workers 1,2`` then runs the pooled stages (prepare, features, transcribe, versions, tags) of
``--sweep-songs`` songs on a Dask LocalCluster of each size and prints the speed-up per worker.

A target is reported "met" or "MISSED" only when measured at its own size (400 songs); from a
smaller run the line says "not measured" and gives the projection instead. The songs
(``bench/songgen.py``: 44.1 kHz stereo MP3) are made once and kept in bench/out/pipeline-corpus/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).parent
OUT = HERE / "out"
CORPUS = OUT / "pipeline-corpus"
POOLED = ("prepare", "features", "transcribe", "versions", "tags")
TARGETS = {"wall_s": 180.0, "cpu_s": 300.0, "exponent": 1.1, "rss_gb": 1.5, "rerun_cpu_s": 10.0,
           "projected_4000_min": 30.0, "speedup_2": 1.7}


class TreeSampler:
    """CPU seconds and peak RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.me = interval, psutil.Process()
        self.cpu: dict[tuple[int, float], float] = {}
        self.peak_rss = self.peak_pss = 0
        self.stage_rss = self.stage_pss = 0  # peaks since the last reset_stage()
        self.biggest = (0, "")  # the largest single process seen: (RSS, what it ran)
        self.n = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> float:
        """Take one sample now; the tree's CPU seconds so far."""
        with self.lock:
            rss = pss = 0
            self.n += 1
            full = self.n % 5 == 0  # PSS (shared pages split between processes) every 0.5 s: it reads smaps
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        key = (p.pid, p.create_time())
                        self.cpu[key] = max(self.cpu.get(key, 0.0), t.user + t.system)
                        one = p.memory_info().rss
                        rss += one
                        if full:
                            pss += getattr(p.memory_full_info(), "pss", 0)
                        if one > self.biggest[0]:
                            self.biggest = (one, " ".join(p.cmdline()[-3:])[:80])
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.stage_rss = max(self.stage_rss, rss)
            self.stage_pss = max(self.stage_pss, pss)
            return sum(self.cpu.values())

    def reset_stage(self) -> None:
        with self.lock:
            self.stage_rss = self.stage_pss = 0

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self.thread.join()


def run_once(n: int, data: Path, *, jobs: int, rerun: bool, engine: str, stages: tuple[str, ...] | None,
             save: Path | None = None) -> dict:
    """In this process: ingest + every stage on the first ``n`` songs; the figures as a dict
    (also written to ``save`` after every stage, so a run stopped early leaves what it measured)."""
    from rich.console import Console

    from bgmscope import engine as engine_mod
    from bgmscope.catalog import Catalog
    from bgmscope.config import Settings
    from bgmscope.context import PipelineContext
    from bgmscope.errors import NotEnoughData
    from bgmscope.pipeline import STAGES
    from bgmscope.prepare.ingest import ingest

    sys.path.insert(0, str(HERE))
    from songgen import make_corpus

    chart, songs = make_corpus(CORPUS, n, jobs=jobs)
    settings = Settings(data_dir=data)
    settings.ensure()
    out: dict = {"n": n, "jobs": jobs, "engine": engine, "load_before": os.getloadavg(),
                 "audio_s": sum(float(psutil_duration(p)) for p in songs)}
    console = Console(file=io.StringIO(), width=200)
    with TreeSampler() as tree, engine_mod.use(engine, jobs=jobs):
        for label in ("first", "rerun") if rerun else ("first",):
            figures: dict[str, dict] = {}
            t_run, c_run = time.perf_counter(), tree.sample()
            with Catalog(settings.catalog_path) as cat:
                t0, c0 = time.perf_counter(), tree.sample()
                ingest([*songs, chart], cat)
                figures["ingest"] = {"wall_s": time.perf_counter() - t0, "cpu_s": tree.sample() - c0, "result": ""}
                ctx = PipelineContext(cat, settings, jobs, console)
                for name, func in STAGES:
                    if name == "acquire" or (stages and name not in stages):
                        continue
                    tree.reset_stage()
                    t0, c0 = time.perf_counter(), tree.sample()
                    try:
                        result = ", ".join(f"{k}={v}" for k, v in (func(ctx) or {}).items())
                    except NotEnoughData as exc:
                        result = f"skipped: {exc}"
                    except Exception as exc:  # reported in the table; the bench goes on
                        result = f"FAILED: {type(exc).__name__}: {exc}"
                    figures[name] = {"wall_s": time.perf_counter() - t0, "cpu_s": tree.sample() - c0,
                                     "rss_gb": tree.stage_rss / 1e9, "pss_gb": tree.stage_pss / 1e9,
                                     "result": result[:160]}
                    if save is not None:
                        save.write_text(json.dumps({**out, "partial": label, label: {"stages": figures}}))
            out[label] = {"stages": figures, "wall_s": time.perf_counter() - t_run,
                          "cpu_s": tree.sample() - c_run}
        out["peak_rss_gb"] = tree.peak_rss / 1e9
        out["peak_pss_gb"] = tree.peak_pss / 1e9
        out["biggest_process"] = [tree.biggest[0] / 1e9, tree.biggest[1]]
    out["load_after"] = os.getloadavg()
    return out


def psutil_duration(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


def child(n: int, *, jobs: int, rerun: bool, engine: str = "local", stages: tuple[str, ...] | None = None,
          keep: bool = False) -> dict:
    """Run one size in a fresh interpreter (clean memory, cold caches) and read its figures."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-pipeline-{n}-", dir=OUT))
    res = data / "result.json"
    cmd = [sys.executable, __file__, "--one", str(n), "--data", str(data / "d"), "--jobs", str(jobs),
           "--engine", engine, "--result", str(res)]
    if not rerun:
        cmd.append("--no-rerun")
    if stages:
        cmd += ["--stages", ",".join(stages)]
    try:
        subprocess.run(cmd, check=True)
        return json.loads(res.read_text())
    finally:
        if not keep:
            shutil.rmtree(data, ignore_errors=True)


def slope(ns: list[int], ys: list[float]) -> float:
    """The growth exponent: slope of log y over log n (nan with fewer than two sizes)."""
    ok = [(n, y) for n, y in zip(ns, ys, strict=True) if y > 0]
    if len(ok) < 2:
        return float("nan")
    x, y = np.log([n for n, _ in ok]), np.log([y for _, y in ok])
    return float(np.polyfit(x, y, 1)[0])


def verdict(ok: bool, measured_at: int, target_at: int = 400) -> str:
    if measured_at < target_at:
        return f"not measured (largest run {measured_at} < {target_at})"
    return "met" if ok else "MISSED"


def report(runs: list[dict]) -> None:
    runs = sorted(runs, key=lambda r: r["n"])
    ns = [r["n"] for r in runs]
    names = list(runs[-1]["first"]["stages"])
    print(f"\nwhole pipeline, jobs={runs[-1]['jobs']}, on {os.cpu_count()} cores "
          f"(synthetic 44.1 kHz stereo MP3s, 1-4 min)")
    head = "".join(f"{'N=' + str(n):>18}" for n in ns)
    print(f"{'stage (CPU s/wall s)':<12}{head}   exponent (CPU)   peak RSS/PSS of the tree in the stage, GB (N={ns[-1]})")
    exps = {}
    for name in names:
        cpu = [r["first"]["stages"].get(name, {}).get("cpu_s", 0.0) for r in runs]
        wall = [r["first"]["stages"].get(name, {}).get("wall_s", 0.0) for r in runs]
        exps[name] = slope(ns, cpu)
        cells = "".join(f"{c:>9.1f}/{w:<8.1f}" for c, w in zip(cpu, wall, strict=True))
        last = runs[-1]["first"]["stages"].get(name, {})
        mem = f"{last['rss_gb']:.2f}/{last['pss_gb']:.2f}" if "rss_gb" in last else ""
        print(f"{name:<12}{cells}   {exps[name]:6.2f}           {mem}")
    tot_cpu = [r["first"]["cpu_s"] for r in runs]
    tot_wall = [r["first"]["wall_s"] for r in runs]
    tags_cpu = [r["first"]["stages"].get("tags", {}).get("cpu_s", 0.0) for r in runs]
    print(f"{'total':<12}" + "".join(f"{c:>9.1f}/{w:<8.1f}" for c, w in zip(tot_cpu, tot_wall, strict=True))
          + f"   {slope(ns, tot_cpu):6.2f}")
    print(f"{'(no tags)':<12}" + "".join(f"{c - t:>9.1f}{'':9}" for c, t in zip(tot_cpu, tags_cpu, strict=True))
          + "   the default install has no tagger (the [models] extra)")
    for r in runs:
        rr = r.get("rerun")
        print(f"  N={r['n']}: audio {r['audio_s'] / 60:.0f} min, peak RSS of the tree {r['peak_rss_gb']:.2f} GB "
              f"(PSS {r.get('peak_pss_gb', float('nan')):.2f} GB), "
              f"cached rerun {rr['cpu_s']:.1f} s CPU / {rr['wall_s']:.1f} s wall" if rr else "",
              f"largest process {r['biggest_process'][0]:.2f} GB ({r['biggest_process'][1]})"
              if "biggest_process" in r else "",
              f"load average before {r['load_before'][0]:.1f}, after {r['load_after'][0]:.1f}")
        for s in (r.get("first", {}).get("stages", {}).items()):
            if s[1]["result"].startswith(("FAILED", "skipped")):
                print(f"    {s[0]}: {s[1]['result']}")
    big = runs[-1]
    w_exp = slope(ns, tot_wall)
    proj_min = big["first"]["wall_s"] * (4000 / big["n"]) ** (w_exp if np.isfinite(w_exp) else 1.0) / 60
    worst = max((e for e in exps.values() if np.isfinite(e)), default=float("nan"))
    worst_name = max(exps, key=lambda k: exps[k] if np.isfinite(exps[k]) else -9)
    rerun_cpu = big["rerun"]["cpu_s"] if big.get("rerun") else float("nan")
    print("\ntargets")
    print(f"  400 songs wall <= {TARGETS['wall_s']:.0f} s: {big['first']['wall_s']:.0f} s at N={big['n']} -> "
          f"{verdict(big['first']['wall_s'] <= TARGETS['wall_s'], big['n'])}")
    print(f"  400 songs CPU <= {TARGETS['cpu_s']:.0f} s: {big['first']['cpu_s']:.0f} s at N={big['n']} "
          f"(x{400 / big['n']:.0f} at the fitted exponent: "
          f"{big['first']['cpu_s'] * (400 / big['n']) ** slope(ns, tot_cpu) if len(ns) > 1 else float('nan'):.0f} s) -> "
          f"{verdict(big['first']['cpu_s'] <= TARGETS['cpu_s'], big['n'])}")
    print(f"  every stage's exponent <= {TARGETS['exponent']}: worst {worst_name} {worst:.2f} over N={ns} -> "
          f"{verdict(worst <= TARGETS['exponent'], big['n'])}")
    print(f"  peak RSS of the tree <= {TARGETS['rss_gb']} GB at 400: {big['peak_rss_gb']:.2f} GB at N={big['n']} -> "
          f"{verdict(big['peak_rss_gb'] <= TARGETS['rss_gb'], big['n'])}")
    # the targets are for the default install, which has no tagger: the same run without its tags stage
    st = big["first"]["stages"]
    if "tags" in st:
        wall_nt = big["first"]["wall_s"] - st["tags"]["wall_s"]
        cpu_nt = big["first"]["cpu_s"] - st["tags"]["cpu_s"]
        rss_nt = max((v.get("rss_gb", 0.0) for k, v in st.items() if k != "tags"), default=float("nan"))
        print(f"  default install (this run without its tags stage): wall {wall_nt:.0f} s -> "
              f"{verdict(wall_nt <= TARGETS['wall_s'], big['n'])}, CPU {cpu_nt:.0f} s -> "
              f"{verdict(cpu_nt <= TARGETS['cpu_s'], big['n'])}, peak RSS of the tree {rss_nt:.2f} GB -> "
              f"{verdict(rss_nt <= TARGETS['rss_gb'], big['n'])}")
    print(f"  cached rerun <= {TARGETS['rerun_cpu_s']:.0f} s CPU (400 songs): {rerun_cpu:.1f} s at N={big['n']} -> "
          f"{verdict(rerun_cpu <= TARGETS['rerun_cpu_s'], big['n'])}")
    print(f"  projected 4,000 songs <= {TARGETS['projected_4000_min']:.0f} min wall: {proj_min:.0f} min "
          f"(wall exponent {w_exp:.2f} from N={ns}) -> "
          f"{verdict(proj_min <= TARGETS['projected_4000_min'], big['n'], 2000)}")


def sweep(n: int, workers: list[int]) -> None:
    runs = {w: child(n, jobs=w, rerun=False, engine="dask", stages=POOLED) for w in workers}
    base = runs[min(workers)]
    print(f"\nDask LocalCluster sweep, pooled stages of {n} songs (load average "
          f"{base['load_before'][0]:.1f} at the start)")
    print(f"{'workers':>8}{'wall s':>10}{'cpu s':>10}{'speed-up':>10}{'per worker':>12}   per stage wall s")
    for w, r in runs.items():
        f = r["first"]
        sp = base["first"]["wall_s"] / f["wall_s"]
        stages = ", ".join(f"{k} {v['wall_s']:.1f}" for k, v in f["stages"].items())
        print(f"{w:>8}{f['wall_s']:>10.1f}{f['cpu_s']:>10.1f}{sp:>9.2f}x{sp / (w / min(workers)):>11.2f}   {stages}")
    if 2 in runs and 1 in runs:
        sp = runs[1]["first"]["wall_s"] / runs[2]["first"]["wall_s"]
        print(f"  target >= {TARGETS['speedup_2']}x for 2 workers vs 1: {sp:.2f}x -> "
              f"{'met' if sp >= TARGETS['speedup_2'] else 'MISSED'} (2 cores shared with the load above)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50,100,200,400", help="comma-separated song counts")
    ap.add_argument("--songs", type=int, action="append", help="an extra, bigger size (repeatable)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workers", default="", help="Dask sweep, e.g. 1,2")
    ap.add_argument("--sweep-songs", type=int, default=50)
    ap.add_argument("--no-rerun", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep each run's data folder")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    ap.add_argument("--merge", type=Path, nargs="+", help="report the runs saved by earlier --json runs together")
    # one run in this process (used by the parent)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    ap.add_argument("--stages", default="", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="one small size (10 songs), as make bench runs it")
    a = ap.parse_args()
    if a.quick:
        a.sizes, a.songs = "10", None
    if a.one:
        stages = tuple(a.stages.split(",")) if a.stages else None
        r = run_once(a.one, a.data, jobs=a.jobs, rerun=not a.no_rerun, engine=a.engine, stages=stages,
                     save=a.result.with_suffix(".partial.json"))
        a.result.write_text(json.dumps(r))
        return
    if a.merge:
        report([r for f in a.merge for r in json.loads(f.read_text())])
        return
    OUT.mkdir(exist_ok=True)
    sizes = sorted({int(s) for s in a.sizes.split(",") if s} | set(a.songs or []))
    runs: list[dict] = []
    for n in sizes:
        print(f"--- N={n} (load average {os.getloadavg()[0]:.1f})", flush=True)
        runs.append(child(n, jobs=a.jobs, rerun=not a.no_rerun, keep=a.keep))
        report(runs)  # after every size: a killed long run still leaves its figures
        if a.json:
            a.json.write_text(json.dumps(runs, indent=1))
    if a.workers:
        sweep(a.sweep_songs, [int(w) for w in a.workers.split(",")])


if __name__ == "__main__":
    main()
