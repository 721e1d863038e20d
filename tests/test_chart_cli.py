"""The chart commands through the real CLI (``python -m bgmscope``): exit codes, option checks,
serve-chart's usage errors, --allow-host and the formula-safe --excel CSV."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bgmscope.acquire.client import ChartClient
from bgmscope.acquire.crawl import crawl
from bgmscope.acquire.server import serve_chart
from bgmscope.acquire.synthetic import make_chart_corpus
from bgmscope.catalog import Catalog

EVIL = "=cmd|' /C calc'!A0"


def bgmscope(data: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BGMSCOPE_")}
    env.update(PYTHONUTF8="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "bgmscope", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout + p.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-corpus")
    _, files = make_chart_corpus(root, 4, seconds=0.3, seed=2)
    return root, files


def test_crawl_that_fetched_nothing_exits_1(tmp_path):
    p = bgmscope(tmp_path / "d", "crawl", "--base-url", f"http://127.0.0.1:{free_port()}/api/",
                 "--retries", "1", "--rps", "0")
    assert p.returncode == 1, out(p)
    assert "Connection refused" in out(p) or "ConnectError" in out(p)
    assert "Traceback" not in out(p)


@pytest.mark.parametrize("url", ["ftp://chart.example/api/", "http://127.0.0.1:99999/api/", "not a url"])
def test_unusable_base_url_exits_2_in_one_line(tmp_path, url):
    p = bgmscope(tmp_path / "d", "crawl", "--base-url", url, "--retries", "1")
    assert p.returncode == 2, out(p)
    assert "Traceback" not in out(p) and len(out(p).strip().splitlines()) == 1, out(p)


@pytest.mark.parametrize("args", [["--window", "2d"], ["--order-by", "plays"], ["--top", "0"],
                                  ["--page-size", "501"], ["--timeout", "0"], ["--retries", "0"],
                                  ["--rps", "-1"], ["--allow-host", "http://x/path"], ["--max-json-mb", "nan"]])
def test_bad_crawl_options_are_usage_errors(tmp_path, args):
    p = bgmscope(tmp_path / "d", "crawl", "--base-url", "http://127.0.0.1:9/api/", *args)
    assert p.returncode == 2 and "Invalid value" in out(p) and "Traceback" not in out(p), out(p)


def test_crawl_excel_csv_neutralises_formula_titles(tmp_path):
    chart = tmp_path / "chart.csv"
    chart.write_text("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n"
                     f"101,\"{EVIL}\",@author,30,500,-5\n102,plain,作者,31,400,3\n", "utf-8")
    with serve_chart(chart) as srv:
        p = bgmscope(tmp_path / "d", "crawl", "--base-url", srv.base_url, "--rps", "0", "--excel",
                     "--csv", str(tmp_path / "out.csv"))
    assert p.returncode == 0, out(p)
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1] == ["101", "'" + EVIL, "'@author", "30", "500", "-5"]
    assert rows[2] == ["102", "plain", "作者", "31", "400", "3"]


def test_download_with_a_failed_song_exits_1_and_keeps_the_rest(tmp_path, corpus):
    root, files = corpus
    bad_root = tmp_path / "bad"
    make_chart_corpus(bad_root, 4, seconds=0.3, seed=2)
    broken = sorted(files)[0]
    (bad_root / "audio" / f"{broken}.mp3").write_bytes(b"<html>Access denied</html>" * 40)
    with serve_chart(bad_root) as srv:
        assert bgmscope(tmp_path / "d", "crawl", "--base-url", srv.base_url, "--rps", "0").returncode == 0
        p = bgmscope(tmp_path / "d", "download", "--rps", "0", "--jobs", "2")
    assert p.returncode == 1, out(p)
    assert broken in out(p) and "does not decode" in out(p)
    got = {f.stem for f in (tmp_path / "d" / "audio").glob("*.mp3")}
    assert got == set(files) - {broken}


def test_download_with_nothing_to_fetch_exits_1(tmp_path):
    p = bgmscope(tmp_path / "d", "download", "--base-url", "http://127.0.0.1:9/api/")
    assert p.returncode == 1 and "no chart song" in out(p), out(p)


def test_download_refuses_another_port_unless_allowed(httpserver, tmp_path, corpus):
    root, files = corpus
    with serve_chart(root) as audio:  # a second loopback service: not the API's origin
        mid = sorted(files)[0]
        httpserver.expect_request("/api/search").respond_with_json({"data": {"list": [
            {"music_id": mid, "title": "t", "author": "a", "audition_duration": 1, "user_count": 1,
             "user_incr": 0}]}})
        httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": f"{audio.origin}/audio/{mid}.mp3"})
        data = tmp_path / "d"
        with Catalog(data / "catalog.duckdb") as cat, ChartClient(httpserver.url_for("/api/"), rps=0) as c:
            crawl(c, cat, top=1)
        refused = bgmscope(data, "download", "--rps", "0", "--retries", "1")
        assert not [r for r in audio.requests if r.path.startswith("/audio/")]
        allowed = bgmscope(data, "download", "--rps", "0", "--allow-host", f"127.0.0.1:{audio.port}")
    assert refused.returncode == 1 and "refusing the play URL" in out(refused), out(refused)
    assert allowed.returncode == 0, out(allowed)
    assert (data / "audio" / f"{mid}.mp3").read_bytes() == files[mid].read_bytes()


def test_serve_chart_port_out_of_range_is_a_usage_error(tmp_path, corpus):
    root, _ = corpus
    p = bgmscope(tmp_path / "d", "serve-chart", str(root), "--port", "70000")
    assert p.returncode == 2 and "--port" in out(p) and "65535" in out(p), out(p)
    assert "Traceback" not in out(p)


def test_serve_chart_on_a_port_in_use_says_so_in_one_line(tmp_path, corpus):
    root, _ = corpus
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = bgmscope(tmp_path / "d", "serve-chart", str(root), "--port", str(port))
    assert p.returncode == 2, out(p)
    assert f"port {port} on 127.0.0.1 is already in use" in out(p)
    assert len(out(p).strip().splitlines()) == 1, out(p)


def test_serve_chart_on_a_catalog_of_ingested_mp3s_explains_and_exits_2(tmp_path, corpus):
    from bgmscope.prepare.ingest import ingest

    root, _ = corpus
    catalog = tmp_path / "mp3s" / "catalog.duckdb"
    catalog.parent.mkdir()
    with Catalog(catalog) as cat:
        ingest([root / "audio"], cat)  # audio only: tracks without music_id
        assert len(cat.tracks()) == 4
    p = bgmscope(tmp_path / "d", "serve-chart", str(catalog), "--port", "0")
    assert p.returncode == 2, out(p)
    assert "no chart songs in this catalog" in out(p) and "ingest" in out(p) and "chart CSV" in out(p)
    assert "serving" not in out(p) and len(out(p).strip().splitlines()) == 1, out(p)


def test_serve_chart_on_a_garbage_catalog_is_one_line(tmp_path):
    junk = tmp_path / "catalog.duckdb"
    junk.write_bytes(b"not a database" * 100)
    p = bgmscope(tmp_path / "d", "serve-chart", str(junk), "--port", "0")
    assert p.returncode == 2 and "Traceback" not in out(p), out(p)
    assert str(junk) in out(p) and len(out(p).strip().splitlines()) == 1, out(p)
