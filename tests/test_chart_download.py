"""Downloads: gone songs, size cap, undecodable bodies, skip what is done, resume with Range, the stage."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from rich.console import Console

from bgmscope.acquire.client import ChartClient, RetryPolicy
from bgmscope.acquire.crawl import crawl
from bgmscope.acquire.download import audio_paths, download
from bgmscope.acquire.server import serve_chart
from bgmscope.acquire.synthetic import make_chart_corpus
from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.errors import ParameterError

FAST = RetryPolicy(attempts=4, initial_s=0.005, max_s=0.02, jitter_s=0.0)


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    _, files = make_chart_corpus(root, 6, seconds=1.0, missing={2}, seed=5)
    return root, files


def crawled(srv, settings):
    cat = Catalog(settings.catalog_path)
    client = ChartClient(srv.base_url, rps=0, retry=FAST, timeout_s=2.0)
    crawl(client, cat, top=50)
    return cat, client


def test_gone_songs_and_second_run_fetches_nothing(corpus, tmp_path):
    root, files = corpus
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with serve_chart(root) as srv:
        cat, client = crawled(srv, settings)
        with cat, client:
            s1 = download(cat, settings, client, jobs=3, show_progress=False)
            n_audio = sum(r.path.startswith("/audio/") for r in srv.requests)
            s2 = download(cat, settings, client, jobs=3, show_progress=False)
            af = cat.audio_files(status=None)
    assert (s1.downloaded, s1.gone, s1.failed) == (5, 1, 0)
    assert n_audio == 5 and sum(r.path.startswith("/audio/") for r in srv.requests) == 5  # nothing refetched
    assert (s2.had_audio, s2.downloaded, s2.gone) == (5, 0, 1)  # gone songs are asked for again
    gone = af[af["status"] == "gone"]
    assert len(gone) == 1 and gone["error"].iloc[0].startswith("gone") and gone["track_id"].iloc[0] not in files
    ok = af[af["status"] == "ok"]
    assert set(ok["track_id"]) == set(files) and ok["sha256"].notna().all()
    for mid in files:
        assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == files[mid].read_bytes()


def test_file_on_disk_but_unregistered_is_registered_not_fetched(corpus, tmp_path):
    root, files = corpus
    settings = Settings(data_dir=tmp_path / "d").ensure()
    mid = next(iter(files))
    settings.audio_dir.mkdir(parents=True)
    (settings.audio_dir / f"{mid}.mp3").write_bytes(files[mid].read_bytes())
    with serve_chart(root) as srv:
        cat, client = crawled(srv, settings)
        with cat, client:
            s = download(cat, settings, client, jobs=2, show_progress=False)
    assert s.present == 1 and s.downloaded == 4 and s.registered == 5
    assert not any(r.path == f"/audio/{mid}.mp3" for r in srv.requests)


def test_partial_file_is_resumed_with_range(corpus, tmp_path):
    root, files = corpus
    settings = Settings(data_dir=tmp_path / "d").ensure()
    mid, src = next(iter(files.items()))
    blob = src.read_bytes()
    final, part = audio_paths(settings.audio_dir, mid)
    part.parent.mkdir(parents=True)
    part.write_bytes(blob[:700])  # what a killed run left behind
    with serve_chart(root) as srv:
        cat, client = crawled(srv, settings)
        with cat, client:
            s = download(cat, settings, client, jobs=1, music_ids=[mid], show_progress=False)
    assert s.downloaded == 1 and s.resumed == 1
    req = [r for r in srv.requests if r.path == f"/audio/{mid}.mp3"]
    assert len(req) == 1 and req[0].range_start == 700 and req[0].sent == len(blob) - 700
    assert final.read_bytes() == blob and not part.exists()


def test_server_without_range_support_restarts_from_zero(httpserver, tmp_path, corpus):
    _, files = corpus
    mid, src = next(iter(files.items()))
    blob = src.read_bytes()
    httpserver.expect_request("/api/search").respond_with_json({"data": {"list": [
        {"music_id": mid, "title": "t", "author": "a", "audition_duration": 1, "user_count": 1, "user_incr": 0}]}})
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": "/files/a.mp3"})  # relative URL
    httpserver.expect_request("/files/a.mp3").respond_with_data(blob, content_type="audio/mpeg")  # ignores Range
    settings = Settings(data_dir=tmp_path / "d").ensure()
    final, part = audio_paths(settings.audio_dir, mid)
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that is not a prefix")
    with Catalog(settings.catalog_path) as cat, ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST) as c:
        crawl(c, cat, top=1)
        s = download(cat, settings, c, jobs=1, show_progress=False)
    assert s.downloaded == 1 and s.resumed == 0 and final.read_bytes() == blob
    assert httpserver.log[-1][0].headers.get("range") == "bytes=28-"


@pytest.mark.parametrize("body,max_mb,reason", [
    (b"<html>Access denied</html>" * 40, 50.0, "does not decode"),
    (b"\xff" * 300_000, 0.25, "cap"),
])
def test_bad_bodies_fail_without_a_final_file(httpserver, tmp_path, body, max_mb, reason):
    httpserver.expect_request("/api/search").respond_with_json({"data": {"list": [
        {"music_id": "77", "title": "../../x", "author": "a", "audition_duration": 1, "user_count": 1,
         "user_incr": 0}]}})
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": httpserver.url_for("/77.mp3")})
    httpserver.expect_request("/77.mp3").respond_with_data(body, content_type="audio/mpeg")
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat, ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST) as c:
        crawl(c, cat, top=1)
        s = download(cat, settings, c, jobs=1, max_mb=max_mb, show_progress=False)
        failures = cat.failures()
    assert s.failed == 1 and reason in s.failures[0][1]
    assert reason in failures[failures["stage"] == "download"]["reason"].iloc[0]
    assert list(settings.audio_dir.iterdir()) == []  # neither final nor partial file left
    assert not (tmp_path / "x").exists()


def test_bad_download_arguments(tmp_path):
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat, ChartClient("http://127.0.0.1:9/api/") as c:
        with pytest.raises(ParameterError):
            download(cat, settings, c, jobs=0)
        with pytest.raises(ParameterError):
            download(cat, settings, c, max_mb=0)
    with pytest.raises(ParameterError):
        audio_paths(tmp_path, "../evil")


def test_stage_serves_crawls_and_downloads_the_demo_corpus(tmp_path, corpus):
    from types import SimpleNamespace

    from bgmscope.acquire.stage import run_stage
    from bgmscope.context import PipelineContext

    root, files = corpus
    settings = Settings(data_dir=tmp_path / "d").ensure()
    demo = SimpleNamespace(root=root, chart_csv=root / "demo-chart.csv", audio_dir=root / "audio")
    with Catalog(settings.catalog_path) as cat:
        ctx = PipelineContext(cat, settings, 2, Console(quiet=True), demo=True, demo_corpus=demo)
        out = run_stage(ctx)
        tracks = cat.tracks()
        assert run_stage(PipelineContext(cat, settings, 2, Console(quiet=True))) == {"skipped": "no chart URL"}
        ctx.demo_corpus = None
        from bgmscope.errors import CatalogError

        with pytest.raises(CatalogError, match="demo corpus"):
            run_stage(ctx)
    assert out["served"] == 6 and out["crawled"] == 6 and out["downloaded"] == 5 and out["gone"] == 1
    assert out["failed"] == 0 and tracks["is_demo"].all() and set(tracks["chart"]) == {"demo (synthetic data)"}
    assert ctx.outputs["chart CSV"].exists()


def test_serving_a_catalog_round_trips(corpus, tmp_path):
    root, files = corpus
    first = Settings(data_dir=tmp_path / "first").ensure()
    with serve_chart(root) as srv:
        cat, client = crawled(srv, first)
        with cat, client:
            download(cat, first, client, jobs=2, show_progress=False)
    second = Settings(data_dir=tmp_path / "second").ensure()
    with serve_chart(first.catalog_path) as srv:  # a catalog is a chart too
        assert len(srv.songs) == 6 and sum(s.audio is not None for s in srv.songs) == 5
        cat, client = crawled(srv, second)
        with cat, client:
            s = download(cat, second, client, jobs=2, show_progress=False)
            tracks = cat.tracks()
    assert (s.downloaded, s.gone) == (5, 1) and tracks["is_demo"].all()
    for mid, src in files.items():
        assert (second.audio_dir / f"{mid}.mp3").read_bytes() == src.read_bytes()


def test_part_of_a_file_that_changed_is_not_continued(corpus, tmp_path):
    root, files = corpus
    settings = Settings(data_dir=tmp_path / "d").ensure()
    mid, src = next(iter(files.items()))
    blob = src.read_bytes()
    final, part = audio_paths(settings.audio_dir, mid)
    part.parent.mkdir(parents=True)
    part.write_bytes(b"old version of the song " * 20)
    validator = part.with_name(part.name + ".validator")
    validator.write_text('"' + "0" * 64 + '"', "utf-8")  # the ETag the old version had
    with serve_chart(root) as srv:
        cat, client = crawled(srv, settings)
        with cat, client:
            s = download(cat, settings, client, jobs=1, music_ids=[mid], show_progress=False)
    req = [r for r in srv.requests if r.path == f"/audio/{mid}.mp3"]
    assert len(req) == 1 and req[0].range_start is None and req[0].sent == len(blob)  # If-Range: sent whole
    assert s.downloaded == 1 and s.resumed == 0 and final.read_bytes() == blob
    assert not part.exists() and not validator.exists()


class _DripHandler(BaseHTTPRequestHandler):
    """A chart whose song 'slow' drips one byte every 2 s (each read succeeds, no read timeout fires)."""

    protocol_version = "HTTP/1.1"
    songs: dict[str, bytes] = {}
    stop = threading.Event()

    def do_GET(self):  # noqa: N802 - the stdlib's name
        path, _, query = self.path.partition("?")
        if path == "/api/search":
            page = parse_qs(query).get("page", ["1"])[0]
            items = [{"music_id": m, "title": m, "author": "a", "audition_duration": 1, "user_count": 10 - i,
                      "user_incr": 0} for i, m in enumerate(self.songs)] if page == "1" else []
            return self._send(json.dumps({"data": {"list": items}}).encode())
        if path == "/api/getPlayUrl":
            mid = parse_qs(query)["music_id"][0]
            return self._send(json.dumps({"data": f"/audio/{mid}.mp3"}).encode())
        mid = path.removeprefix("/audio/").removesuffix(".mp3")
        blob = self.songs[mid]
        if mid != "slow":
            return self._send(blob, "audio/mpeg")
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        try:
            for i in range(len(blob)):
                self.wfile.write(blob[i:i + 1])
                self.wfile.flush()
                if self.stop.wait(2.0):
                    break
        except OSError:
            pass  # the client gave up
        self.close_connection = True

    def _send(self, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def drip_server(corpus):
    _, files = corpus
    blobs = [p.read_bytes() for p in files.values()]
    _DripHandler.songs = {"slow": blobs[0], "fast": blobs[1]}
    _DripHandler.stop.clear()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _DripHandler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/api/", _DripHandler.songs
    _DripHandler.stop.set()
    srv.shutdown()
    srv.server_close()


@pytest.mark.timeout(60)
def test_a_dripping_server_hits_the_deadline_per_file_and_the_rest_go_on(drip_server, tmp_path):
    base_url, songs = drip_server
    settings = Settings(data_dir=tmp_path / "d").ensure()
    # the read timeout (5 s) never fires on a byte every 2 s: only a total deadline ends it
    with Catalog(settings.catalog_path) as cat, ChartClient(base_url, rps=0, retry=FAST, timeout_s=5.0) as c:
        crawl(c, cat, top=10)
        t0 = time.monotonic()
        s = download(cat, settings, c, jobs=2, deadline_s=3.0, show_progress=False)
        took = time.monotonic() - t0
        failures = cat.failures()
    assert took < 8.0, f"download took {took:.1f}s with a 3 s deadline"
    assert (s.downloaded, s.failed) == (1, 1), s.failures
    (item, reason), = s.failures
    assert item == "slow" and "3 s deadline per file" in reason
    assert "deadline" in failures[failures["stage"] == "download"]["reason"].iloc[0]
    final, part = audio_paths(settings.audio_dir, "slow")
    assert not final.exists()  # what came is kept only as .part, to resume
    assert not part.exists() or songs["slow"].startswith(part.read_bytes())
    assert (settings.audio_dir / "fast.mp3").read_bytes() == songs["fast"]


def test_deadline_must_be_positive(tmp_path):
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat, ChartClient("http://127.0.0.1:9/api/") as c:
        for bad in (0, -1, float("nan")):
            with pytest.raises(ParameterError, match="--deadline"):
                download(cat, settings, c, deadline_s=bad)
