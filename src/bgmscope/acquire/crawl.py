"""Crawl a chart: follow pages until --top songs or an empty page, dedupe, validate, store, export.

Each crawl is a snapshot (``chart_entries``), keyed by day, chart, order, window and keyword: a
crawl on another day adds a snapshot, so popularity can be followed over time; a second crawl on
the same day replaces that day's snapshot. ``tracks`` keeps the latest values per song.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from ..catalog import Catalog, now
from ..csvsafe import neutralize_cell
from ..errors import ParameterError
from ..fsutil import atomic_write_bytes
from ..prepare.ingest import STUDY_CSV_COLUMNS
from .client import AuthError, ChartClient, is_transient
from .models import ChartItem, validate_item

STUDY_CSV_HEADER = list(STUDY_CSV_COLUMNS)  # 音乐ID, 音乐名, 创作者, 歌曲时间, 使用人数, 使用人数增量
ENTRY_COLUMNS = ["snapshot_id", "chart", "chart_window", "order_by", "keyword", "rank", "music_id", "title",
                 "author", "duration_s", "user_count", "user_incr", "fetched_at"]


@dataclass
class CrawlSummary:
    snapshot_id: str
    chart: str
    pages: int = 0
    kept: int = 0
    duplicates: int = 0
    rejected: int = 0
    complete: bool = True          # False when a page failed for good and the crawl stopped early
    requests: int = 0
    csv_path: Path | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    items: list[ChartItem] = field(default_factory=list)


def snapshot_id_for(chart: str, order_by: str, window: str, keyword: str, day: datetime) -> str:
    return f"{day:%Y-%m-%d}|{chart}|{order_by}|{window}|{keyword}"


def crawl(
    client: ChartClient,
    catalog: Catalog,
    *,
    top: int = 400,
    page_size: int = 50,
    order_by: str = "user_count",
    window: str = "7d",
    keyword: str = "",
    chart: str | None = None,
    csv_path: str | Path | None = None,
    excel: bool = False,
    fetched_at: datetime | None = None,
) -> CrawlSummary:
    """Crawl up to ``top`` songs into ``tracks`` and ``chart_entries``; export the seed's CSV.

    Items failing validation are recorded in ``failures`` (stage 'crawl') and skipped. A page that
    still fails after the retries stops the crawl; what was fetched is kept and the summary says
    ``complete=False``. A rejected token (:class:`AuthError`) is recorded and re-raised.
    """
    if top < 1:
        raise ParameterError(f"--top must be >= 1, got {top}")
    fetched_at = fetched_at or now()
    chart = chart or urlsplit(client.base_url).hostname or "chart"
    summary = CrawlSummary(snapshot_id_for(chart, order_by, window, keyword, fetched_at), chart)
    run_id = catalog.start_run("crawl", {"base_url": client.public_base_url, "top": top, "page_size": page_size,
                                         "order_by": order_by, "window": window, "keyword": keyword,
                                         "chart": chart})
    seen: set[str] = set()
    auth_error: AuthError | None = None

    def fail(item: str, reason: str) -> None:
        reason = client.redact(reason)
        summary.failures.append((item, reason))
        catalog.record_failure(run_id, "crawl", item, reason)

    page = 0
    while len(summary.items) < top:
        page += 1
        try:
            raw = client.search(page=page, size=page_size, order_by=order_by, window=window, keyword=keyword)
        except AuthError as exc:
            fail(f"search page {page}", str(exc))
            summary.complete, auth_error = False, exc
            break
        except ParameterError:
            raise
        except Exception as exc:  # transport or server errors that outlasted the retries, a reply too large
            why = "gave up after retries: " if is_transient(exc) else ""
            fail(f"search page {page}", why + client.describe(exc))
            summary.complete = False
            break
        summary.pages += 1
        if not raw:
            break
        new_on_page = rejected_on_page = 0
        for i, obj in enumerate(raw, start=1):
            item, reason = validate_item(obj)
            if item is None:
                mid = obj.get("music_id") if isinstance(obj, dict) else None
                fail(f"page {page} item {i}" + (f" (music_id {str(mid)[:40]})" if mid is not None else ""),
                     f"rejected: {reason}")
                summary.rejected += 1
                rejected_on_page += 1
                continue
            if item.music_id in seen:
                summary.duplicates += 1
                continue
            seen.add(item.music_id)
            summary.items.append(item)
            new_on_page += 1
            if len(summary.items) >= top:
                break
        if new_on_page == 0 and rejected_on_page == 0:
            break  # a server that ignores 'page' would loop forever on the same songs
    summary.kept = len(summary.items)
    summary.requests = client.requests
    store_snapshot(catalog, summary, order_by=order_by, window=window, keyword=keyword,
                   fetched_at=fetched_at, source=client.public_base_url)
    if csv_path is not None and summary.items:
        summary.csv_path = write_study_csv(summary.items, csv_path, excel=excel)
    catalog.finish_run(run_id, summary.kept, summary.rejected + (0 if summary.complete else 1), summary.duplicates)
    if auth_error is not None:
        raise auth_error
    return summary


def store_snapshot(catalog: Catalog, summary: CrawlSummary, *, order_by: str, window: str, keyword: str,
                   fetched_at: datetime, source: str) -> None:
    """Replace the day's snapshot in ``chart_entries`` and upsert ``tracks``, in one transaction."""
    if not summary.items:
        return
    rows = [{"music_id": it.music_id, "title": it.title, "author": it.author or "",
             "duration_s": float(it.audition_duration), "user_count": it.user_count,
             "user_incr": it.user_incr, "rank": rank, "is_demo": it.is_demo}
            for rank, it in enumerate(summary.items, start=1)]
    base = pd.DataFrame(rows)
    entries = base.assign(snapshot_id=summary.snapshot_id, chart=summary.chart, chart_window=window,
                          order_by=order_by, keyword=keyword, fetched_at=fetched_at)[ENTRY_COLUMNS]
    tracks = base.assign(track_id=base["music_id"], chart=summary.chart, fetched_at=fetched_at, source=source)
    tracks = tracks[["track_id", "music_id", "title", "author", "duration_s", "user_count", "user_incr",
                     "chart", "rank", "fetched_at", "source", "is_demo"]]
    con = catalog.con
    con.register("_entries", entries)
    con.register("_tracks", tracks)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM chart_entries WHERE snapshot_id = ?", [summary.snapshot_id])
        con.execute(f"INSERT INTO chart_entries ({', '.join(ENTRY_COLUMNS)}) "
                    f"SELECT {', '.join(ENTRY_COLUMNS)} FROM _entries")
        cols = ", ".join(tracks.columns)
        con.execute(f"INSERT OR REPLACE INTO tracks ({cols}) SELECT {cols} FROM _tracks")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_entries")
        con.unregister("_tracks")


def write_study_csv(items: list[ChartItem], path: str | Path, *, excel: bool = False) -> Path:
    """The seed's CSV (音乐ID, 音乐名, 创作者, 歌曲时间, 使用人数, 使用人数增量), UTF-8; a BOM for Excel.

    Text cells that a spreadsheet would run as a formula (leading ``= + - @``) get a leading ``'``
    (:func:`bgmscope.csvsafe.neutralize_cell`): titles come from an untrusted chart. Numbers stay.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STUDY_CSV_HEADER)
    for it in items:
        dur = it.audition_duration
        w.writerow([neutralize_cell(it.music_id), neutralize_cell(it.title), neutralize_cell(it.author or ""),
                    int(dur) if float(dur).is_integer() else dur, it.user_count, it.user_incr])
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8-sig" if excel else "utf-8"))
    return path


def default_csv_path(export_dir: Path, summary_day: datetime, order_by: str, window: str) -> Path:
    return Path(export_dir) / f"chart-{summary_day:%Y-%m-%d}-{order_by}-{window}.csv"


def history(catalog: Catalog, music_ids: list[str] | None = None, *, chart: str | None = None) -> pd.DataFrame:
    """Popularity over time: one row per (song, snapshot), oldest first.

    Columns: music_id, title, snapshot_id, day, chart, chart_window, order_by, rank, user_count,
    user_incr, plus ``count_change`` (user_count minus the song's previous snapshot of the same chart,
    order and window; NaN for its first).
    """
    where, params = [], []
    if music_ids is not None:
        if not music_ids:
            return pd.DataFrame()
        where.append(f"music_id IN ({', '.join('?' for _ in music_ids)})")
        params += [str(m) for m in music_ids]
    if chart is not None:
        where.append("chart = ?")
        params.append(chart)
    sql = f"""
        SELECT music_id, title, snapshot_id, strftime(fetched_at, '%Y-%m-%d') AS day, chart, chart_window, order_by,
               keyword, rank, user_count, user_incr,
               user_count - lag(user_count) OVER (PARTITION BY music_id, chart, chart_window, order_by, keyword
                                                  ORDER BY fetched_at) AS count_change
        FROM chart_entries {'WHERE ' + ' AND '.join(where) if where else ''}
        ORDER BY music_id, fetched_at"""
    return catalog.query(sql, params)
