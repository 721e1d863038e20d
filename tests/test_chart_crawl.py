"""Crawling: pages until --top or an empty page, dedupe, rejects recorded, snapshots per day, the seed CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from bgmscope.acquire.auth import ChartAuth
from bgmscope.acquire.client import AuthError, ChartClient, RetryPolicy
from bgmscope.acquire.crawl import STUDY_CSV_HEADER, crawl, history
from bgmscope.catalog import Catalog

FAST = RetryPolicy(attempts=3, initial_s=0.01, max_s=0.02, jitter_s=0.0)


def item(i: int, **kw) -> dict:
    return {"music_id": str(1000 + i), "title": f"歌{i}", "author": "作者", "audition_duration": 30 + i,
            "user_count": 10_000 - i, "user_incr": 100 + i, "cover_image": "x", "is_fav": True, **kw}


def serve_pages(httpserver, pages: list[list], status_after: int | None = None):
    for n, page in enumerate(pages, start=1):
        httpserver.expect_request("/api/search", query_string={"keyword": "", "page": str(n), "size": "3",
                                                               "orderby": "user_count", "incr_type": "7d",
                                                               "order": "desc"}).respond_with_json(
            {"data": {"list": page}})
    if status_after:
        httpserver.expect_request("/api/search").respond_with_json({"msg": "expired"}, status=status_after)


def run(httpserver, tmp_path, **kw):
    with Catalog(tmp_path / "c.duckdb") as cat, \
            ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST,
                        auth=ChartAuth(token=kw.pop("token", None))) as c:
        s = crawl(c, cat, page_size=3, **kw)
        return s, cat.tracks(), cat.read_frame("chart_entries"), cat.failures()


def test_pages_until_empty_with_dedupe_and_rejects(httpserver, tmp_path):
    bad_type = item(5, user_count="many")
    missing = {k: v for k, v in item(6).items() if k != "title"}
    serve_pages(httpserver, [[item(0), item(1), item(2)], [item(1), bad_type, item(3)], [missing, item(4)], []])
    s, tracks, entries, failures = run(httpserver, tmp_path, top=100, csv_path=tmp_path / "chart.csv")
    assert (s.pages, s.kept, s.duplicates, s.rejected, s.complete) == (4, 5, 1, 2, True)
    assert list(entries.sort_values("rank")["music_id"]) == ["1000", "1001", "1002", "1003", "1004"]
    assert list(tracks["rank"]) == [1, 2, 3, 4, 5] and tracks["source"].str.startswith("http").all()
    reasons = dict(zip(failures["item"], failures["reason"], strict=True))
    assert any("user_count" in r for r in reasons.values()) and any("title" in r for r in reasons.values())
    assert "page 2 item 2 (music_id 1005)" in reasons
    assert set(failures["stage"]) == {"crawl"}
    text = (tmp_path / "chart.csv").read_text("utf-8")
    assert text.splitlines()[0] == ",".join(STUDY_CSV_HEADER) and not text.startswith("\ufeff")
    assert text.splitlines()[1] == "1000,歌0,作者,30,10000,100"


def test_top_stops_paging(httpserver, tmp_path):
    serve_pages(httpserver, [[item(0), item(1), item(2)], [item(3), item(4), item(5)]])
    s, tracks, entries, _ = run(httpserver, tmp_path, top=4, csv_path=tmp_path / "c.csv", excel=True)
    assert s.kept == 4 and s.pages == 2 and len(entries) == 4
    assert len(httpserver.log) == 2
    assert (tmp_path / "c.csv").read_bytes().startswith(b"\xef\xbb\xbf\xe9\x9f\xb3")  # BOM + '音'


def test_server_ignoring_page_does_not_loop(httpserver, tmp_path):
    httpserver.expect_request("/api/search").respond_with_json({"data": {"list": [item(0), item(1)]}})
    s, *_ = run(httpserver, tmp_path, top=400)
    assert s.kept == 2 and s.pages == 2 and s.duplicates == 2


def test_snapshots_per_day_and_same_day_replacement(httpserver, tmp_path):
    httpserver.expect_request("/api/search", query_string={"keyword": "", "page": "1", "size": "3",
                                                           "orderby": "user_count", "incr_type": "7d",
                                                           "order": "desc"}).respond_with_json(
        {"data": {"list": [item(0), item(1)]}})
    httpserver.expect_request("/api/search").respond_with_json({"data": {"list": []}})
    with Catalog(tmp_path / "c.duckdb") as cat, ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST) as c:
        crawl(c, cat, page_size=3, fetched_at=datetime(2026, 11, 20, 9))
        crawl(c, cat, page_size=3, fetched_at=datetime(2026, 11, 20, 18))  # same day: replaced
        crawl(c, cat, page_size=3, fetched_at=datetime(2026, 11, 23, 9))   # another day: new snapshot
        snaps = cat.query("SELECT snapshot_id, count(*) AS n FROM chart_entries GROUP BY 1 ORDER BY 1")
        tracks = cat.tracks()
        hist = history(cat, ["1000"])
        assert history(cat, []).empty and len(history(cat, chart="elsewhere")) == 0
    assert list(snaps["n"]) == [2, 2] and snaps["snapshot_id"][0].startswith("2026-11-20|")
    assert len(tracks) == 2 and str(tracks["fetched_at"][0]).startswith("2026-11-23")
    assert [str(d) for d in hist["day"]] == ["2026-11-20", "2026-11-23"]
    assert hist["count_change"].isna().iloc[0] and hist["count_change"].iloc[1] == 0


def test_token_rejected_mid_crawl_keeps_pages_and_raises(httpserver, tmp_path):
    serve_pages(httpserver, [[item(0), item(1), item(2)]], status_after=401)
    with Catalog(tmp_path / "c.duckdb") as cat, \
            ChartClient(httpserver.url_for("/api/"), rps=0, retry=FAST, auth=ChartAuth(token="tk-mid-crawl")) as c:
        with pytest.raises(AuthError, match="token rejected or expired"):
            crawl(c, cat, page_size=3, top=10)
        assert len(cat.read_frame("chart_entries")) == 3
        f = cat.failures()
        assert "token rejected" in f["reason"].iloc[-1] and "tk-mid-crawl" not in " ".join(f["reason"])


def test_page_that_keeps_failing_stops_the_crawl_but_keeps_what_came(httpserver, tmp_path):
    serve_pages(httpserver, [[item(0), item(1), item(2)]])
    httpserver.expect_request("/api/search").respond_with_data("down", status=503)
    s, tracks, entries, failures = run(httpserver, tmp_path, top=10)
    assert not s.complete and s.kept == 3 and len(entries) == 3
    assert "gave up after retries" in failures["reason"].iloc[-1] and "503" in failures["reason"].iloc[-1]


def test_count_past_int64_rejects_that_item_and_the_rest_are_stored(httpserver, tmp_path):
    serve_pages(httpserver, [[item(0), item(1, user_count=2**63), item(2, user_incr=-(2**63) - 1)],
                             [item(3)], []])
    s, tracks, entries, failures = run(httpserver, tmp_path, top=100)
    assert (s.kept, s.rejected, s.complete) == (2, 2, True)
    assert list(entries.sort_values("rank")["music_id"]) == ["1000", "1003"] and len(tracks) == 2
    reasons = dict(zip(failures["item"], failures["reason"], strict=True))
    assert "user_count" in reasons["page 1 item 2 (music_id 1001)"]
    assert "user_incr" in reasons["page 1 item 3 (music_id 1002)"]


def test_study_csv_neutralises_formula_cells(httpserver, tmp_path):
    evil = "=cmd|' /C calc'!A0"
    serve_pages(httpserver, [[item(0, title=evil, author="@SUM(A1)"), item(1, title="+1", user_incr=-7)], []])
    s, tracks, *_ = run(httpserver, tmp_path, top=10, csv_path=tmp_path / "c.csv", excel=True)
    rows = list(csv.reader(io.StringIO((tmp_path / "c.csv").read_text("utf-8-sig"))))
    assert rows[1][1:3] == ["'" + evil, "'@SUM(A1)"] and rows[2][1] == "'+1"
    assert rows[2][5] == "-7"  # numbers are numbers, not text to neutralise
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert evil in set(tracks["title"])  # the catalog keeps the data as it came


def test_bad_top_fails_fast(httpserver, tmp_path):
    from bgmscope.errors import ParameterError

    with pytest.raises(ParameterError):
        run(httpserver, tmp_path, top=0)
