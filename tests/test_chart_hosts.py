"""The host rule: play URLs and redirects go to the API's origin or an --allow-host, never inward.

Two real servers on loopback: the API (pytest-httpserver, ``localhost:P``) and an 'internal' service
(the project's chart server, ``127.0.0.1:Q``) that must not be reached unless allowed.
"""

from __future__ import annotations

import pytest
from werkzeug import Response

from bgmscope.acquire.client import ChartClient, RefusedURL, RetryPolicy
from bgmscope.acquire.crawl import crawl
from bgmscope.acquire.download import download
from bgmscope.acquire.hosts import HostPolicy, parse_allow_host
from bgmscope.acquire.server import serve_chart
from bgmscope.acquire.synthetic import make_chart_corpus
from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.errors import ParameterError

FAST = RetryPolicy(attempts=3, initial_s=0.005, max_s=0.02, jitter_s=0.0)


@pytest.fixture()
def internal(tmp_path):
    """A second loopback server holding one real song: the service a hostile play URL points at."""
    root = tmp_path / "internal"
    _, files = make_chart_corpus(root, 1, seconds=0.5, seed=1)
    (mid, src), = files.items()
    with serve_chart(root) as srv:
        yield srv, mid, src.read_bytes()


def api_serving(httpserver, mid: str, play_url: str) -> None:
    httpserver.expect_request("/api/search").respond_with_json({"data": {"list": [
        {"music_id": mid, "title": "t", "author": "a", "audition_duration": 1, "user_count": 1, "user_incr": 0}]}})
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": play_url})


def fetch(httpserver, tmp_path, **client_kw):
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat, \
            ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST, **client_kw) as c:
        crawl(c, cat, top=1)
        s = download(cat, settings, c, jobs=1, show_progress=False)
    return s, settings


def audio_requests(srv) -> list:
    return [r for r in srv.requests if r.path.startswith("/audio/")]


def test_play_url_on_another_loopback_port_is_refused(httpserver, tmp_path, internal):
    srv, mid, _ = internal
    api_serving(httpserver, mid, f"{srv.origin}/audio/{mid}.mp3")
    s, settings = fetch(httpserver, tmp_path)
    assert s.failed == 1 and s.downloaded == 0
    (item, reason), = s.failures
    assert item == mid and "refusing the play URL" in reason and f"127.0.0.1:{srv.port}" in reason
    assert "--allow-host" in reason
    assert audio_requests(srv) == []  # never contacted
    assert list(settings.audio_dir.iterdir()) == []


def test_redirect_to_another_port_is_refused(httpserver, tmp_path, internal):
    srv, mid, _ = internal
    httpserver.expect_request("/files/a.mp3").respond_with_response(
        Response("", status=302, headers={"Location": f"{srv.origin}/audio/{mid}.mp3"}))
    api_serving(httpserver, mid, "/files/a.mp3")  # on the API's own origin: allowed, then redirected away
    s, _ = fetch(httpserver, tmp_path)
    assert s.failed == 1 and "refusing a redirect (HTTP 302)" in s.failures[0][1]
    assert audio_requests(srv) == []


@pytest.mark.parametrize("via", ["play URL", "redirect"])
def test_allow_host_lets_it_through(httpserver, tmp_path, internal, via):
    srv, mid, blob = internal
    target = f"{srv.origin}/audio/{mid}.mp3"
    if via == "redirect":
        httpserver.expect_request("/files/a.mp3").respond_with_response(
            Response("", status=302, headers={"Location": target}))
        target = "/files/a.mp3"
    api_serving(httpserver, mid, target)
    s, settings = fetch(httpserver, tmp_path, allow_hosts=[f"127.0.0.1:{srv.port}"])
    assert (s.downloaded, s.failed) == (1, 0), s.failures
    assert (settings.audio_dir / f"{mid}.mp3").read_bytes() == blob


def test_play_url_on_the_api_origin_needs_no_allowance(tmp_path, internal):
    srv, mid, blob = internal  # the chart server's play URLs are on its own origin
    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat, ChartClient(srv.base_url, rps=0, retry=FAST) as c:
        crawl(c, cat, top=1)
        s = download(cat, settings, c, jobs=1, show_progress=False)
    assert s.downloaded == 1 and (settings.audio_dir / f"{mid}.mp3").read_bytes() == blob


def test_client_refuses_before_connecting(httpserver):
    httpserver.expect_request("/api/getPlayUrl").respond_with_json({"data": "http://127.0.0.1:9/x.mp3"})
    with ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST) as c, pytest.raises(RefusedURL):
        c.play_url("1")


PUBLIC_API = "http://93.184.216.34/api/"  # an IP literal: no DNS in the test


@pytest.mark.parametrize("url", [
    "http://10.0.0.5/a.mp3", "http://192.168.1.1/a.mp3", "http://169.254.169.254/latest/meta-data",
    "http://127.0.0.1/a.mp3", "http://[::1]/a.mp3", "http://[::ffff:127.0.0.1]/a.mp3", "http://100.64.0.1/a",
])
def test_internal_addresses_are_refused_even_when_allowed_if_the_api_is_public(url):
    host = url.split("//")[1].split("/")[0]
    policy = HostPolicy(PUBLIC_API, [parse_allow_host(host)])
    assert "loopback/private/link-local" in (policy.refusal(url) or "")


def test_allowed_public_hosts_and_wildcards():
    policy = HostPolicy(PUBLIC_API, [parse_allow_host("*.cdn.example"), parse_allow_host("8.8.4.4:8080")])
    assert policy.refusal("http://93.184.216.34:80/other/path.mp3") is None  # same origin (default port)
    assert policy.refusal("http://8.8.4.4:8080/a.mp3") is None
    assert "neither the API origin" in policy.refusal("http://8.8.4.4:8081/a.mp3")
    assert "neither the API origin" in policy.refusal("https://93.184.216.34/api/")  # another scheme
    assert "neither the API origin" in policy.refusal("http://cdn.example/a.mp3")  # '*.' is subdomains only


@pytest.mark.parametrize("value,host,port", [
    ("cdn.example.com", "cdn.example.com", None), ("CDN.Example.com:8080", "cdn.example.com", 8080),
    ("https://cdn.example.com:8443/", "cdn.example.com", 8443), ("[::1]:9000", "::1", 9000),
    ("*.example.com", "*.example.com", None),
])
def test_allow_host_forms(value, host, port):
    a = parse_allow_host(value)
    assert (a.host, a.port) == (host, port)


@pytest.mark.parametrize("value", ["", "*", "a b", "http://x/path", "x:99999", "user@host", "h?q=1"])
def test_bad_allow_host_values_fail_fast(value):
    with pytest.raises(ParameterError, match="--allow-host"):
        parse_allow_host(value)
