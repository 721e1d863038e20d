"""Register audio files and chart CSVs in the catalog.

Audio is matched to chart rows by music_id (the file stem), else by title. A file that matches
no row becomes its own track ('file:<sha16>'), titled by its stem. Titles are data only.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from ..audio.decode import AUDIO_EXTENSIONS, probe
from ..audio.paths import display, needs_escape, not_a_file, to_catalog
from ..catalog import Catalog, now
from ..errors import BgmscopeError, ParameterError
from ..fsutil import sha256_file

# The chart CSV's headers, one map for every reader and writer of it (ingest here; the crawl's
# seed CSV and the loopback chart server in acquire/). The seed's own headers, in its order:
STUDY_CSV_COLUMNS = {"音乐ID": "music_id", "音乐名": "title", "创作者": "author", "歌曲时间": "duration_s",
                    "使用人数": "user_count", "使用人数增量": "user_incr"}
# every header a chart CSV may use -> the tracks column it fills
CSV_COLUMNS = {
    **STUDY_CSV_COLUMNS,
    "音乐id": "music_id", "music_id": "music_id", "id": "music_id",
    "title": "title", "name": "title",
    "author": "author", "artist": "author",
    "duration": "duration_s", "duration_s": "duration_s", "audition_duration": "duration_s",
    "user_count": "user_count",
    "user_incr": "user_incr",
    "排名": "rank", "rank": "rank",
    "chart": "chart", "榜单": "chart",
    "is_demo": "is_demo",
}
TRACK_COLUMNS = ["track_id", "music_id", "title", "author", "duration_s", "user_count", "user_incr",
                 "chart", "rank", "fetched_at", "source", "is_demo"]


@dataclass
class IngestSummary:
    tracks: int = 0
    audio_ok: int = 0
    audio_failed: int = 0
    skipped: int = 0
    rows_rejected: int = 0  # chart CSV rows not registered (bad number, duplicate id)
    failures: list[tuple[str, str]] = field(default_factory=list)  # item (printable), reason
    warnings: list[tuple[str, str]] = field(default_factory=list)  # kept, but a value was blanked

    @property
    def failed(self) -> int:
        """Items that were asked for and not registered (files, folders, CSVs, CSV rows)."""
        return len(self.failures)


INT64_MAX = 2**63 - 1  # DuckDB BIGINT
INT32_MAX = 2**31 - 1  # DuckDB INTEGER (rank)
# 万 = 10^4, 亿 = 10^8 as charts print big counts ('12.3万'); 'w' is the pinyin shorthand of 万
_UNITS = {"万": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8}
# name in the seed CSV, lowest allowed, highest allowed
_INT_COLUMNS = {"user_count": ("使用人数", 0, INT64_MAX), "user_incr": ("使用人数增量", -INT64_MAX - 1, INT64_MAX),
                "rank": ("排名", 1, INT32_MAX)}


class BadValue(ValueError):
    """A cell that is a number but out of range: its row is rejected."""


def parse_count(value: object, lo: int = 0, hi: int = INT64_MAX) -> int | None:
    """'123', '3,456', '12.3万', '1.2亿', '10万+' -> int; '' -> None.

    Raises BadValue when the number is outside ``lo..hi`` and ValueError when it is not a number.
    """
    s = _clean(value).replace(",", "").replace("，", "").replace(" ", "").rstrip("+")
    if not s:
        return None
    scale = 1
    if s[-1] in _UNITS:
        scale, s = _UNITS[s[-1]], s[:-1]
    try:
        d = Decimal(s) * scale  # Decimal: '12.3万' is exactly 123000, and huge values stay exact
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not d.is_finite():
        raise ValueError("not a finite number")
    n = int(d.to_integral_value(ROUND_HALF_UP))
    if not lo <= n <= hi:
        raise BadValue(f"out of range ({lo}..{hi})")
    return n


def read_chart_csv(path: str | Path, problems: list[tuple[str, str, bool]] | None = None) -> pd.DataFrame:
    """A chart CSV (seed headers or English) as a tracks frame. UTF-8 (with or without BOM) or GB18030.

    A row with a number out of range (使用人数=-5) or a repeated track id is left out; a cell that
    is not a number is kept as NULL. Each is appended to ``problems`` as (item, reason, rejected).
    """
    path = Path(path)
    problems = [] if problems is None else problems
    for enc in ("utf-8-sig", "gb18030"):
        try:
            raw = pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ParameterError(f"{display(path)}: not UTF-8 or GB18030 text")
    rename = {c: CSV_COLUMNS[c.strip()] for c in raw.columns if c.strip() in CSV_COLUMNS}
    df = raw.rename(columns=rename)
    if "music_id" not in df.columns and "title" not in df.columns:
        raise ParameterError(f"{display(path)}: no 音乐ID/music_id or 音乐名/title column (found {list(raw.columns)})")
    df = df[[c for c in dict.fromkeys(rename.values())]].copy()
    df.index = pd.RangeIndex(2, len(df) + 2)  # the CSV line of each row (line 1 is the header)
    for col in ("music_id", "title", "author", "chart"):
        if col not in df.columns:
            df[col] = None
    df["music_id"] = df["music_id"].map(lambda v: _clean(v) or None)
    df["title"] = df["title"].map(_clean)
    df["author"] = df["author"].map(_clean)
    rejected: set[int] = set()
    df["duration_s"] = ([_duration_cell(path, line, v, rejected, problems) for line, v in df["duration_s"].items()]
                        if "duration_s" in df.columns else None)
    for col, (label, lo, hi) in _INT_COLUMNS.items():
        if col in df.columns:
            df[col] = pd.array([_cell(path, line, label, v, lo, hi, rejected, problems)
                                for line, v in df[col].items()], dtype="Int64")
        elif col == "rank":
            df["rank"] = pd.array(range(1, len(df) + 1), dtype="Int64")
        else:
            df[col] = pd.NA
    df["is_demo"] = df["is_demo"].astype(str).str.lower().isin({"1", "true", "yes"}) if "is_demo" in df.columns else False
    df["track_id"] = [m if m else f"title:{t}" for m, t in zip(df["music_id"], df["title"], strict=True)]
    df["chart"] = df["chart"].fillna(path.stem)
    df["fetched_at"] = now()
    df["source"] = to_catalog(path)
    df = df[~df.index.isin(rejected)]
    dup = df["track_id"].duplicated(keep="first")
    first_line = {t: line for line, t in df.loc[~dup, "track_id"].items()}
    for line, t in df.loc[dup, "track_id"].items():
        problems.append((f"{display(path)} line {line}",
                         f"repeats {'音乐ID' if not t.startswith('title:') else '音乐名'} {t.removeprefix('title:')!r} "
                         f"of line {first_line[t]}; the first row is kept", True))
    return df[~dup][TRACK_COLUMNS].reset_index(drop=True)


def _duration_cell(path: Path, line: int, value: object, rejected: set[int],
                   problems: list[tuple[str, str, bool]]) -> float | None:
    secs = parse_duration(value)
    if secs is None and _clean(value):
        problems.append((f"{display(path)} line {line}", f"歌曲时间={_clean(value)!r} is not a duration; "
                         "stored as empty", False))
    elif secs is not None and not (math.isfinite(secs) and secs >= 0):
        rejected.add(line)
        problems.append((f"{display(path)} line {line}", f"row rejected: 歌曲时间={_clean(value)!r} is not a "
                         "duration >= 0", True))
        return None
    return secs


def _cell(path: Path, line: int, label: str, value: object, lo: int, hi: int, rejected: set[int],
          problems: list[tuple[str, str, bool]]) -> int | None:
    """One integer cell: out of range rejects the row, not a number blanks the cell (both recorded)."""
    try:
        return parse_count(value, lo, hi)
    except BadValue as exc:
        rejected.add(line)
        problems.append((f"{display(path)} line {line}", f"row rejected: {label}={_clean(value)!r} is {exc}", True))
    except ValueError as exc:
        problems.append((f"{display(path)} line {line}", f"{label}={_clean(value)!r} is {exc}; stored as empty", False))
    return None


def parse_duration(value: object) -> float | None:
    """'215', '215.3', '3:35' or '01:03:35' -> seconds."""
    s = _clean(value)
    if not s:
        return None
    try:
        if ":" in s:
            secs = 0.0
            for part in s.split(":"):
                secs = secs * 60 + float(part)
            return secs
        return float(s)
    except ValueError:
        return None


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def _norm_title(s: str) -> str:
    return re.sub(r"\s+", " ", _clean(s)).casefold()


def iter_inputs(paths: Iterable[str | bytes | Path]) -> tuple[list[Path], list[Path], list[tuple[Path, str]]]:
    """Split paths (files or folders, recursive) into chart CSVs and audio files.

    The third list holds what cannot be read, with why: a missing path, an unlistable folder, a
    FIFO, device or socket (reading one would never end), a broken link, a folder named like audio.
    Regular files of other types (cover.jpg) are passed over, as before.
    """
    csvs: list[Path] = []
    audio: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for p in map(_as_path, paths):
        if not os.path.lexists(p):
            problems.append((p, "no such file or folder"))
            continue
        files = sorted(_walk(p, problems)) if p.is_dir() else [p]
        for f in files:
            ext = f.suffix.lower()
            if (why := not_a_file(f)) is not None:
                problems.append((f, why))
            elif ext == ".csv":
                csvs.append(f)
            elif ext in AUDIO_EXTENSIONS:
                audio.append(f)
            elif f == p:  # named on the command line, so meant to be read
                problems.append((f, f"not an audio file or chart CSV (extensions: .csv, "
                                    f"{', '.join(sorted(AUDIO_EXTENSIONS))})"))
    return csvs, audio, problems


def _as_path(p: str | bytes | Path) -> Path:
    return Path(os.fsdecode(p)) if isinstance(p, bytes) else Path(p)


def _walk(root: Path, problems: list[tuple[Path, str]]) -> Iterator[Path]:
    """Every non-folder entry under ``root``, following folder links once each (no loops).

    A folder named like an audio file or CSV is reported (someone meant it as a file); an
    unlistable folder is reported instead of being skipped in silence.
    """
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append((folder, f"cannot list folder: {exc.strerror or exc}"))
            continue
        for e in entries:
            path = Path(e.path)
            try:
                is_dir = e.is_dir()  # follows links
            except OSError:
                is_dir = False
            if not is_dir:
                yield path
                continue
            ext = path.suffix.lower()
            if ext == ".csv" or ext in AUDIO_EXTENSIONS:
                problems.append((path, "a folder named like an audio file or CSV, not a file"))
            stack.append(path)


def ingest(paths: Iterable[str | bytes | Path], catalog: Catalog) -> IngestSummary:
    """Register chart CSVs first (so audio can match their rows), then audio files.

    Every input that cannot be registered is recorded in the summary and the failures table;
    one bad file, name or row never stops the others.
    """
    paths = [_as_path(p) for p in paths]
    summary = IngestSummary()
    run_id = catalog.start_run("ingest", {"paths": [to_catalog(p) for p in paths]})

    def fail(item: Path | str, reason: str) -> None:
        summary.failures.append((display(item), display(reason)))
        catalog.record_failure(run_id, "ingest", to_catalog(item), display(reason))

    csvs, audio, problems = iter_inputs(paths)
    for item, reason in problems:
        fail(item, reason)
    for csv in csvs:
        _ingest_csv(csv, catalog, summary, run_id, fail)

    tracks = catalog.tracks()
    by_id = {m: t for m, t in zip(tracks["music_id"], tracks["track_id"], strict=True) if m}
    by_title = {}
    for t, title in zip(tracks["track_id"], tracks["title"], strict=True):
        by_title.setdefault(_norm_title(title or ""), t)
    known = catalog.audio_files(status=None)
    known_sizes = dict(zip(known["path"], known["size_bytes"], strict=True)) if not known.empty else {}
    known_status = dict(zip(known["path"], known["status"], strict=True)) if not known.empty else {}

    rows = []
    new_tracks = []
    for f in audio:
        try:
            key = to_catalog(f.resolve())
            size = f.stat().st_size
        except OSError as exc:  # vanished or unreadable since the walk
            fail(f, f"cannot read: {exc.strerror or exc}")
            continue
        if needs_escape(f) and os.path.lexists(key):
            fail(f, f"its escaped catalog name is the name of another file ({display(key)})")
            continue
        if known_sizes.get(key) == size and known_status.get(key) == "ok":
            summary.skipped += 1
            continue
        row = _audio_row(f, key, size)
        if row["status"] == "failed":
            summary.audio_failed += 1
            fail(f, row["error"])
        stem = display(f.stem)
        track_id = by_id.get(stem) or by_title.get(_norm_title(stem))
        if track_id is None and row["sha256"]:
            track_id = f"file:{row['sha256'][:16]}"
            new_tracks.append({"track_id": track_id, "title": stem, "source": "file",
                               "fetched_at": now(), "is_demo": False})
        row["track_id"] = track_id
        if row["status"] == "ok":
            summary.audio_ok += 1
        rows.append(row)
    if new_tracks:
        nt = pd.DataFrame(new_tracks).drop_duplicates("track_id")
        existing = set(tracks["track_id"])
        catalog.upsert_frame("tracks", nt[~nt["track_id"].isin(existing)])
    if rows:
        catalog.upsert_frame("audio_files", pd.DataFrame(rows))
    catalog.finish_run(run_id, summary.audio_ok + summary.tracks, summary.failed, summary.skipped)
    return summary


def _ingest_csv(csv: Path, catalog: Catalog, summary: IngestSummary, run_id: str, fail) -> None:
    problems: list[tuple[str, str, bool]] = []
    try:
        df = read_chart_csv(csv, problems)
    except (BgmscopeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        fail(csv, str(exc))
        return
    for item, reason, rejected in problems:
        if rejected:
            summary.rows_rejected += 1
            fail(item, reason)
        else:
            summary.warnings.append((item, reason))
            catalog.record_failure(run_id, "ingest", item, reason)
    catalog.upsert_frame("tracks", df)
    summary.tracks += len(df)


def _audio_row(f: Path, key: str, size: int) -> dict:
    """The audio_files row of one file: probed and hashed, or failed with a one-line reason."""
    row = {"path": key, "sha256": None, "track_id": None, "format": None, "sample_rate": None,
           "channels": None, "duration_s": None, "size_bytes": size, "status": "ok", "error": None,
           "ingested_at": now()}
    try:
        info = probe(f)
        row.update(format=info.format, sample_rate=info.sample_rate, channels=info.channels,
                   duration_s=info.duration_s)
        row["sha256"] = sha256_file(f)
    except (BgmscopeError, OSError, ValueError) as exc:
        row.update(status="failed", error=display(str(exc)))
    return row
