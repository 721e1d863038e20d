"""Register audio files and chart CSVs in the catalog.

Audio is matched to chart rows by music_id (the file stem), else by title. A file that matches
no row becomes its own track ('file:<sha16>'), titled by its stem. Titles are data only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .audio.decode import AUDIO_EXTENSIONS, probe
from .catalog import Catalog, now
from .errors import BgmscopeError, ParameterError
from .fsutil import sha256_file

# The seed's CSV headers and their English equivalents.
CSV_COLUMNS = {
    "音乐ID": "music_id", "音乐id": "music_id", "music_id": "music_id", "id": "music_id",
    "音乐名": "title", "title": "title", "name": "title",
    "创作者": "author", "author": "author", "artist": "author",
    "歌曲时间": "duration_s", "duration": "duration_s", "duration_s": "duration_s",
    "audition_duration": "duration_s",
    "使用人数": "user_count", "user_count": "user_count",
    "使用人数增量": "user_incr", "user_incr": "user_incr",
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
    failures: list[tuple[str, str]] = field(default_factory=list)


def read_chart_csv(path: str | Path) -> pd.DataFrame:
    """A chart CSV (seed headers or English) as a tracks frame. UTF-8 (with or without BOM) or GB18030."""
    path = Path(path)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            raw = pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ParameterError(f"{path}: not UTF-8 or GB18030 text")
    rename = {c: CSV_COLUMNS[c.strip()] for c in raw.columns if c.strip() in CSV_COLUMNS}
    df = raw.rename(columns=rename)
    if "music_id" not in df.columns and "title" not in df.columns:
        raise ParameterError(f"{path}: no 音乐ID/music_id or 音乐名/title column (found {list(raw.columns)})")
    df = df[[c for c in dict.fromkeys(rename.values())]].copy()
    for col in ("music_id", "title", "author", "chart"):
        if col not in df.columns:
            df[col] = None
    df["music_id"] = df["music_id"].map(lambda v: _clean(v) or None)
    df["title"] = df["title"].map(_clean)
    df["author"] = df["author"].map(_clean)
    df["duration_s"] = df["duration_s"].map(parse_duration) if "duration_s" in df.columns else None
    for col in ("user_count", "user_incr"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64") if col in df.columns else pd.NA
    if "rank" in df.columns:
        df["rank"] = pd.to_numeric(df["rank"], errors="coerce").astype("Int64")
    else:
        df["rank"] = pd.array(range(1, len(df) + 1), dtype="Int64")
    df["is_demo"] = df["is_demo"].astype(str).str.lower().isin({"1", "true", "yes"}) if "is_demo" in df.columns else False
    df["track_id"] = [m if m else f"title:{t}" for m, t in zip(df["music_id"], df["title"], strict=True)]
    df["chart"] = df["chart"].fillna(path.stem)
    df["fetched_at"] = now()
    df["source"] = str(path)
    df = df.drop_duplicates("track_id", keep="first")
    return df[TRACK_COLUMNS]


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


def iter_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path], list[tuple[str, str]]]:
    """Split paths (files or folders, recursive) into chart CSVs and audio files; report the rest."""
    csvs: list[Path] = []
    audio: list[Path] = []
    missing: list[tuple[str, str]] = []
    for p in map(Path, paths):
        if not p.exists():
            missing.append((str(p), "no such file or folder"))
            continue
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            ext = f.suffix.lower()
            if ext == ".csv":
                csvs.append(f)
            elif ext in AUDIO_EXTENSIONS:
                audio.append(f)
    return csvs, audio, missing


def ingest(paths: Iterable[str | Path], catalog: Catalog) -> IngestSummary:
    """Register chart CSVs first (so audio can match their rows), then audio files."""
    summary = IngestSummary()
    run_id = catalog.start_run("ingest", {"paths": [str(p) for p in paths]})
    csvs, audio, missing = iter_inputs(paths)
    for item, reason in missing:
        summary.failures.append((item, reason))
        catalog.record_failure(run_id, "ingest", item, reason)
    for csv in csvs:
        try:
            df = read_chart_csv(csv)
        except (BgmscopeError, pd.errors.ParserError, OSError) as exc:
            summary.failures.append((str(csv), str(exc)))
            catalog.record_failure(run_id, "ingest", str(csv), str(exc))
            continue
        catalog.upsert_frame("tracks", df)
        summary.tracks += len(df)

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
        key = str(f.resolve())
        size = f.stat().st_size
        if known_sizes.get(key) == size and known_status.get(key) == "ok":
            summary.skipped += 1
            continue
        row = {"path": key, "sha256": None, "track_id": None, "format": None, "sample_rate": None,
               "channels": None, "duration_s": None, "size_bytes": size, "status": "ok", "error": None,
               "ingested_at": now()}
        try:
            info = probe(f)
            row.update(format=info.format, sample_rate=info.sample_rate, channels=info.channels,
                       duration_s=info.duration_s)
            row["sha256"] = sha256_file(f)
        except (BgmscopeError, OSError) as exc:
            row.update(status="failed", error=str(exc))
            summary.audio_failed += 1
            summary.failures.append((str(f), str(exc)))
            catalog.record_failure(run_id, "ingest", str(f), str(exc))
        track_id = by_id.get(f.stem) or by_title.get(_norm_title(f.stem))
        if track_id is None and row["sha256"]:
            track_id = f"file:{row['sha256'][:16]}"
            new_tracks.append({"track_id": track_id, "title": f.stem, "source": "file",
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
    catalog.finish_run(run_id, summary.audio_ok + summary.tracks, summary.audio_failed + len(missing),
                       summary.skipped)
    return summary
