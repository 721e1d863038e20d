"""The real client against the loopback chart server, one fault mode at a time, then all at once."""

from __future__ import annotations

import pytest

from bgmscope.acquire.client import ChartClient, RetryPolicy
from bgmscope.acquire.crawl import crawl
from bgmscope.acquire.download import download
from bgmscope.acquire.server import FAULT_KINDS, serve_chart
from bgmscope.acquire.synthetic import make_chart_corpus
from bgmscope.catalog import Catalog
from bgmscope.config import Settings

RETRY = RetryPolicy(attempts=15, initial_s=0.005, max_s=0.05, jitter_s=0.005)
N = 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("chart-corpus")
    _, files = make_chart_corpus(root, N, seconds=0.5, seed=3)
    return root, files


def fetch_all(root, data_dir, **server_kw):
    settings = Settings(data_dir=data_dir).ensure()
    kw = {"retry_after_s": 0.02, "stall_s": 2.0, "latency_s": 0.01, "seed": 11, **server_kw}
    # the read timeout is what ends a stalled body; elsewhere a roomy one keeps a loaded machine honest
    timeout = 0.5 if "stall" in (server_kw.get("fault_kinds") or ("stall",)) else 5.0
    with serve_chart(root, **kw) as srv, Catalog(settings.catalog_path) as cat, \
            ChartClient(srv.base_url, rps=0, timeout_s=timeout, retry=RETRY) as client:
        cs = crawl(client, cat, top=N, page_size=5)
        ds = download(cat, settings, client, jobs=4, show_progress=False)
        tracks = cat.tracks()
        files = cat.audio_files()
    return srv, cs, ds, tracks, files, settings


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_mode_is_survived(corpus, tmp_path, kind):
    root, served = corpus
    srv, cs, ds, tracks, files, settings = fetch_all(root, tmp_path / "d", faults=0.4, fault_kinds=(kind,))
    applies_to_api = kind != "cut"
    assert srv.plan.counts.get(kind, 0) > 0, f"the server never injected {kind}"
    if applies_to_api:
        assert any(r.fault == kind and r.path.startswith("/api/") for r in srv.requests)
    assert cs.complete and cs.kept == N and cs.rejected == 0
    assert ds.failed == 0 and ds.downloaded == N, ds.failures
    for mid, src in served.items():
        assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == src.read_bytes()
    assert not list(settings.audio_dir.glob("*.part"))
    assert len(files) == N and set(files["track_id"]) == set(served)
    broken = [r for r in srv.requests if r.path.startswith("/audio/") and r.fault in ("cut", "truncate", "stall")]
    if kind == "cut":
        assert broken
    if broken and any(r.sent for r in broken):
        # a body that broke off is continued with a Range request, not fetched again from zero
        assert any(r.range_start for r in srv.requests if r.path.startswith("/audio/"))
        assert ds.resumed > 0


def test_server_ranges_and_auth(corpus):
    import httpx

    root, served = corpus
    mid, src = next(iter(served.items()))
    blob = src.read_bytes()
    with serve_chart(root, token="server-token-1") as srv:
        url = f"{srv.origin}/audio/{mid}.mp3"
        r = httpx.get(url, headers={"range": "bytes=100-"})
        assert r.status_code == 206 and r.content == blob[100:]
        assert r.headers["content-range"] == f"bytes 100-{len(blob) - 1}/{len(blob)}"
        r = httpx.get(url, headers={"range": "bytes=10-19"})
        assert r.content == blob[10:20]
        assert httpx.get(url, headers={"range": f"bytes={len(blob)}-"}).status_code == 416
        assert httpx.get(f"{srv.origin}/audio/nope.mp3").status_code == 404
        assert httpx.get(srv.base_url + "search").status_code == 401
        assert httpx.get(srv.base_url + "search", headers={"authorization": "wrong"}).status_code == 403
        ok = httpx.get(srv.base_url + "search", params={"size": 3, "orderby": "user_incr"},
                       headers={"authorization": "server-token-1"})
        items = ok.json()["data"]["list"]
        assert len(items) == 3 and [i["user_incr"] for i in items] == sorted((i["user_incr"] for i in items),
                                                                            reverse=True)
        assert httpx.get(srv.base_url + "search", params={"incr_type": "2d"},
                         headers={"authorization": "server-token-1"}).status_code == 400


def test_bad_server_arguments(tmp_path, corpus):
    from bgmscope.errors import ParameterError

    root, _ = corpus
    with pytest.raises(ParameterError, match="0..1"):
        serve_chart(root, faults=1.5)
    with pytest.raises(ParameterError, match="unknown fault"):
        serve_chart(root, faults=0.1, fault_kinds=("gremlins",))
    with pytest.raises(ParameterError, match="nothing to serve"):
        serve_chart(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no chart CSV"):
        serve_chart(tmp_path / "empty")
    with pytest.raises(ParameterError, match="loopback"):
        serve_chart(root, host="0.0.0.0")


def test_server_refuses_an_empty_chart_and_bad_ports(tmp_path, corpus):
    import socket

    from bgmscope.errors import ParameterError

    root, _ = corpus
    empty = tmp_path / "empty.csv"
    empty.write_text("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n", "utf-8")
    with pytest.raises(ParameterError, match="no rows with a music_id"):
        serve_chart(empty)
    with pytest.raises(ParameterError, match=r"0\.\.65535"):
        serve_chart(root, port=70000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ParameterError, match="already in use"):
            serve_chart(root, port=busy.getsockname()[1])


def test_catalog_songs_in_a_folder_with_a_non_utf8_name_are_served(tmp_path):
    # the catalog stores such paths %XX-escaped; the server must open the real bytes
    import os

    import soundfile as sf
    from conftest import sine

    from bgmscope.acquire.server import load_songs
    from bgmscope.catalog import Catalog
    from bgmscope.prepare.ingest import ingest

    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(folder)
    sf.write(tmp_path / "111.wav", sine(440, 3, 16000), 16000)
    os.rename(os.fsencode(tmp_path / "111.wav"), os.path.join(folder, b"111.wav"))
    chart = tmp_path / "chart.csv"
    chart.write_text("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n111,一,甲,3,100,5\n", encoding="utf-8")
    with Catalog(tmp_path / "data" / "catalog.duckdb") as cat:
        ingest([chart, os.fsdecode(folder)], cat)
        assert "%E9" in cat.audio_files()["path"].iloc[0]
    songs = load_songs(tmp_path / "data" / "catalog.duckdb")
    assert [s.music_id for s in songs] == ["111"] and songs[0].audio is not None
    assert os.fsencode(songs[0].audio).endswith(b"caf\xe9/111.wav")
