"""End to end: a 400-song crawl + download through 1-in-5 faults, a SIGKILL mid-download then resume,
and the token kept out of the catalog, exports, logs and console output (through the real CLI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bgmscope.acquire.client import ChartClient, RetryPolicy
from bgmscope.acquire.crawl import crawl
from bgmscope.acquire.download import download
from bgmscope.acquire.server import serve_chart
from bgmscope.acquire.synthetic import make_chart_corpus
from bgmscope.catalog import Catalog
from bgmscope.config import Settings


def test_400_songs_through_one_in_five_faults_end_byte_identical(tmp_path):
    root = tmp_path / "corpus"
    _, served = make_chart_corpus(root, 400, seconds=0.3, seed=7)
    settings = Settings(data_dir=tmp_path / "d").ensure()
    retry = RetryPolicy(attempts=20, initial_s=0.005, max_s=0.05, jitter_s=0.005)
    with serve_chart(root, faults=0.2, seed=2, retry_after_s=0.02, stall_s=2.0, latency_s=0.01) as srv, \
            Catalog(settings.catalog_path) as cat, \
            ChartClient(srv.base_url, rps=0, timeout_s=0.6, retry=retry, max_connections=8) as client:
        cs = crawl(client, cat, top=400, page_size=50, csv_path=settings.export_dir / "chart.csv")
        ds = download(cat, settings, client, jobs=8, show_progress=False)
        n_ok = len(cat.audio_files())
        n_entries = len(cat.read_frame("chart_entries"))
    counts = srv.plan.counts
    faulted = sum(r.fault not in (None, "latency") for r in srv.requests)
    assert faulted / len(srv.requests) >= 0.15, f"only {faulted}/{len(srv.requests)} requests failed"
    assert {"5xx", "truncate", "malformed", "stall", "cut", "429"} <= set(counts), counts
    assert cs.kept == 400 and cs.complete and n_entries == 400
    assert (ds.downloaded, ds.failed, ds.gone) == (400, 0, 0), ds.failures[:3]
    assert n_ok == 400
    for mid, src in served.items():
        assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == src.read_bytes(), mid
    assert not list(settings.audio_dir.glob("*.part"))
    assert len((settings.export_dir / "chart.csv").read_text("utf-8").splitlines()) == 401


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BGMSCOPE_")}
    env.update(extra)
    env["PYTHONUTF8"] = "1"
    env["COLUMNS"] = "200"
    return env


def test_sigkill_mid_download_then_resume(tmp_path):
    root = tmp_path / "corpus"
    _, served = make_chart_corpus(root, 6, target_bytes=160_000, seed=9)
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with serve_chart(root) as srv, Catalog(settings.catalog_path) as cat, ChartClient(srv.base_url, rps=0) as c:
        crawl(c, cat, top=6)
    # a slow server so the kill lands mid-body
    with serve_chart(root, throttle_bps=100_000) as slow:
        proc = subprocess.Popen([sys.executable, "-m", "bgmscope", "--data-dir", str(settings.data_dir), "download",
                                 "--base-url", slow.base_url, "--jobs", "2", "--rps", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline:
                finals = list(settings.audio_dir.glob("*.mp3"))
                parts = [p for p in settings.audio_dir.glob("*.part") if p.stat().st_size > 0]
                if finals and parts:
                    break
                assert proc.poll() is None, f"download ended before the kill: {proc.stderr.read().decode()[-500:]}"
                time.sleep(0.02)
            else:
                pytest.fail("no finished and partial file seen together")
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = {p.stem for p in settings.audio_dir.glob("*.mp3")}
    partial = {p.name.removesuffix(".mp3.part"): p.stat().st_size for p in settings.audio_dir.glob("*.part")}
    assert done_before and partial
    for mid in done_before:  # nothing partial under a final name
        assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == served[mid].read_bytes()

    with serve_chart(root) as srv, Catalog(settings.catalog_path) as cat, ChartClient(srv.base_url, rps=0) as c:
        s = download(cat, settings, c, jobs=2, show_progress=False)
        registered = set(cat.audio_files()["track_id"])
    audio_reqs = [r for r in srv.requests if r.path.startswith("/audio/")]
    fetched = {r.music_id for r in audio_reqs}
    assert not fetched & done_before, "finished files were fetched again"
    resumed = {r.music_id: r.range_start for r in audio_reqs if r.range_start}
    assert {m: n for m, n in partial.items() if n} == resumed
    assert s.present == len(done_before) and s.downloaded == 6 - len(done_before) and s.failed == 0
    assert registered == set(served)
    for mid, src in served.items():
        assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == src.read_bytes()
    assert not list(settings.audio_dir.glob("*.part"))


def _grep(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_token_never_reaches_catalog_exports_logs_or_output(tmp_path):
    token = "tok-Zq81-never-store-this-9f3c"
    root = tmp_path / "corpus"
    make_chart_corpus(root, 8, seconds=0.3, missing={5}, seed=4)
    data = tmp_path / "d"
    outputs = []
    kinds = ("5xx", "429", "malformed", "truncate")
    with serve_chart(root, token=token, faults=0.3, fault_kinds=kinds, seed=5, retry_after_s=0.05) as srv:
        common = [sys.executable, "-m", "bgmscope", "--data-dir", str(data)]
        cmds = [
            [*common, "crawl", "--base-url", srv.base_url, "--top", "8", "--page-size", "3", "--rps", "0",
             "--timeout", "2", "--retries", "12", "--excel"],
            [*common, "download", "--jobs", "2", "--rps", "0", "--timeout", "2", "--retries", "12"],
        ]
        for cmd in cmds:
            p = subprocess.run(cmd, capture_output=True, env=_env(BGMSCOPE_CHART_TOKEN=token), timeout=300)
            outputs.append(p.stdout + p.stderr)
            assert p.returncode == 0, (p.stdout + p.stderr).decode()[-800:]
        bad = subprocess.run([*common, "crawl", "--base-url", srv.base_url, "--rps", "0"], capture_output=True,
                             env=_env(BGMSCOPE_CHART_TOKEN=token + "-old"), timeout=300)
    assert bad.returncode == 2 and b"token rejected or expired" in bad.stdout + bad.stderr
    outputs.append(bad.stdout + bad.stderr)
    log = data / "logs" / "chart.log"
    assert log.exists() and b"retry" in log.read_bytes()  # the log holds something to grep
    with Catalog(data / "catalog.duckdb") as cat:  # the exports 'bgmscope export' writes
        for table in ("chart_entries", "tracks", "runs", "failures", "audio_files"):
            cat.export(table, data / "exports" / f"{table}.csv")
        cat.export("failures", data / "exports" / "failures.parquet")
        assert len(cat.audio_files()) == 7 and len(cat.read_frame("chart_entries")) == 8
        dump = cat.query("SELECT * FROM runs").to_csv() + cat.query("SELECT * FROM failures").to_csv()
        dump += cat.query("SELECT * FROM tracks").to_csv()
    assert token not in dump
    for needle in (token.encode(), token.encode("utf-16-le")):
        assert _grep(data, needle) == []
        assert not any(needle in out for out in outputs)
    assert srv.plan.counts  # faults were injected while the token was in use
