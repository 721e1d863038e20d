"""The chart client against pytest-httpserver: auth errors, Retry-After, retries, origins, URL schemes."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from werkzeug import Response

from bgmscope.acquire.auth import ChartAuth
from bgmscope.acquire.client import (
    AuthError,
    ChartClient,
    ChartError,
    RateLimiter,
    RetryPolicy,
    TooLarge,
    TransientError,
)
from bgmscope.errors import ParameterError

FAST = RetryPolicy(attempts=4, initial_s=0.01, max_s=0.05, jitter_s=0.01)
PAGE = {"data": {"list": [{"music_id": "1", "title": "t", "author": "a", "audition_duration": 10,
                           "user_count": 5, "user_incr": 1}]}}


def client(server, **kw) -> ChartClient:
    kw.setdefault("retry", FAST)
    kw.setdefault("rps", 0)
    return ChartClient(server.url_for("/api/"), **kw)


@pytest.mark.parametrize("code", [401, 403])
def test_auth_rejection_is_clear_and_not_retried(httpserver, code):
    httpserver.expect_request("/api/search").respond_with_json({"msg": "nope"}, status=code)
    with client(httpserver, auth=ChartAuth(token="tok-abcdef-123")) as c, \
            pytest.raises(AuthError, match="token rejected or expired") as ei:
        c.search(page=1)
    assert f"HTTP {code}" in str(ei.value) and "tok-abcdef-123" not in str(ei.value)
    assert len(httpserver.log) == 1  # no retry on 401/403
    assert httpserver.log[0][0].headers.get("authorization") == "tok-abcdef-123"


def test_retry_after_is_honoured(httpserver):
    httpserver.expect_ordered_request("/api/search").respond_with_response(
        Response(json.dumps({"msg": "slow down"}), status=429, headers={"Retry-After": "1"}))
    httpserver.expect_ordered_request("/api/search").respond_with_json(PAGE)
    with client(httpserver) as c:
        t0 = time.monotonic()
        items = c.search(page=1)
        waited = time.monotonic() - t0
    assert items[0]["music_id"] == "1"
    assert waited >= 0.95, f"retried after {waited:.2f}s, the server asked for 1 s"
    assert len(httpserver.log) == 2


def test_retry_after_is_capped(httpserver):
    httpserver.expect_ordered_request("/api/search").respond_with_response(
        Response("{}", status=429, headers={"Retry-After": "3600"}))
    httpserver.expect_ordered_request("/api/search").respond_with_json(PAGE)
    policy = RetryPolicy(attempts=3, initial_s=0.01, max_s=0.05, jitter_s=0.0, max_retry_after_s=0.05)
    with client(httpserver, retry=policy) as c:
        assert c.search(page=1)[0]["title"] == "t"


@pytest.mark.parametrize("bad", [
    Response("oops", status=500), Response("busy", status=503), Response('{"data": {"li', status=200,
                                                                        content_type="application/json")])
def test_5xx_and_malformed_json_are_retried(httpserver, bad):
    httpserver.expect_ordered_request("/api/search").respond_with_response(bad)
    httpserver.expect_ordered_request("/api/search").respond_with_json(PAGE)
    with client(httpserver) as c:
        assert len(c.search(page=1)) == 1
    assert len(httpserver.log) == 2


def test_gives_up_after_the_attempts(httpserver):
    httpserver.expect_request("/api/search").respond_with_data("down", status=502)
    with client(httpserver) as c, pytest.raises(TransientError, match="HTTP 502"):
        c.search(page=1)
    assert len(httpserver.log) == FAST.attempts


def test_other_4xx_and_wrong_shape_fail_without_retry(httpserver):
    httpserver.expect_request("/api/search").respond_with_json({"data": None, "code": 1})
    httpserver.expect_request("/api/getPlayUrl").respond_with_data("gone", status=404)
    with client(httpserver) as c:
        with pytest.raises(ChartError, match="expected"):
            c.search(page=1)
        with pytest.raises(ChartError, match="HTTP 404"):
            c.play_url("1")
    assert len(httpserver.log) == 2


def test_bad_arguments_fail_fast(httpserver):
    with client(httpserver) as c:
        for kw in ({"order_by": "plays"}, {"window": "2d"}, {"page": 0}):
            with pytest.raises(ParameterError):
                c.search(**{"page": 1, **kw})
    with pytest.raises(ChartError, match="non-http"):
        ChartClient("file:///etc/")
    assert not httpserver.log


@pytest.mark.parametrize("data,expected", [("", None), ("None", None), (None, None)])
def test_empty_play_url_means_gone(httpserver, data, expected):
    httpserver.expect_request("/api/getPlayUrl", query_string="music_id=42").respond_with_json({"data": data})
    with client(httpserver) as c:
        assert c.play_url("42") is expected


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/a.mp3", "javascript:alert(1)"])
def test_non_http_play_urls_are_refused(httpserver, url):
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": url})
    with client(httpserver) as c, pytest.raises(ChartError, match="non-http"):
        c.play_url("42")


def test_token_goes_to_the_api_origin_only(httpserver):
    # 'localhost' and '127.0.0.1' are different origins: the audio 'CDN' must not see the token
    api = httpserver.url_for("/cdn/1.mp3")
    cdn = api.replace("//localhost", "//127.0.0.1") if "//localhost" in api else api.replace("//127.0.0.1", "//localhost")
    assert cdn != api
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": cdn})
    httpserver.expect_request("/cdn/1.mp3").respond_with_data(b"ID3data", content_type="audio/mpeg")
    cdn_host = cdn.split("//")[1].split("/")[0]  # another origin: it must be allowed to be followed
    with client(httpserver, auth=ChartAuth(token="tok-origin-only"), allow_hosts=[cdn_host]) as c:
        url = c.play_url("1")
        with c.stream(url) as r:
            assert r.read() == b"ID3data"
    api_req, cdn_req = httpserver.log[0][0], httpserver.log[1][0]
    assert api_req.headers.get("authorization") == "tok-origin-only"
    assert cdn_req.headers.get("authorization") is None


def test_redirects_are_followed_but_not_to_other_schemes(httpserver):
    httpserver.expect_request("/a.mp3").respond_with_response(Response("", status=302, headers={"Location": "/b.mp3"}))
    httpserver.expect_request("/b.mp3").respond_with_data(b"bytes")
    httpserver.expect_request("/c.mp3").respond_with_response(
        Response("", status=302, headers={"Location": "file:///etc/passwd"}))
    with client(httpserver) as c:
        with c.stream(httpserver.url_for("/a.mp3")) as r:
            assert r.read() == b"bytes"
        with pytest.raises(ChartError, match="non-http"), c.stream(httpserver.url_for("/c.mp3")):
            pass


def test_rate_limiter_spaces_request_starts():
    lim = RateLimiter(50.0)
    starts = []
    for _ in range(6):
        lim.wait()
        starts.append(time.monotonic())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.015  # 20 ms interval, some scheduler slack
    with pytest.raises(ParameterError):
        RateLimiter(-1)


def _big_page(n_bytes: int) -> bytes:
    filler = "x" * 1000
    items = [{"music_id": str(i), "title": filler, "author": "a", "audition_duration": 1, "user_count": 1,
              "user_incr": 0} for i in range(n_bytes // 1000 + 1)]
    return json.dumps({"data": {"list": items}}).encode()


@pytest.mark.parametrize("how", ["sized", "chunked", "gzip"])
def test_json_reply_over_the_cap_stops_with_a_clear_error(httpserver, how):
    cap = 1 << 20
    body = _big_page(4 * cap)  # a few MB over a 1 MiB test cap
    if how == "sized":
        resp = Response(body, content_type="application/json")
    elif how == "chunked":  # no Content-Length: only reading tells
        resp = Response((body[i:i + 65536] for i in range(0, len(body), 65536)), content_type="application/json")
    else:  # small on the wire, large once decoded: the cap is on what we hold in memory
        resp = Response(gzip.compress(body), content_type="application/json", headers={"Content-Encoding": "gzip"})
    httpserver.expect_request("/api/search").respond_with_response(resp)
    with client(httpserver, max_json_bytes=cap) as c, pytest.raises(TooLarge) as ei:
        c.search(page=1)
    assert f"JSON size cap of {cap} bytes" in str(ei.value) and "--max-json-mb" in str(ei.value)
    assert len(httpserver.log) == 1  # not retried


def test_json_reply_under_the_cap_is_read(httpserver):
    httpserver.expect_request("/api/search").respond_with_data(_big_page(200_000), content_type="application/json")
    with client(httpserver, max_json_bytes=1 << 20) as c:
        assert len(c.search(page=1)) > 100


def test_crawl_records_an_oversized_page_without_retrying(httpserver, tmp_path):
    from bgmscope.acquire.crawl import crawl
    from bgmscope.catalog import Catalog

    httpserver.expect_request("/api/search").respond_with_data(_big_page(3 << 20), content_type="application/json")
    with Catalog(tmp_path / "c.duckdb") as cat, client(httpserver, max_json_bytes=1 << 20) as c:
        s = crawl(c, cat, top=10)
    assert not s.complete and s.kept == 0 and len(httpserver.log) == 1
    (item, reason), = s.failures
    assert item == "search page 1" and "JSON size cap" in reason and "after retries" not in reason
