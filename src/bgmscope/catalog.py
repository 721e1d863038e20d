"""The catalog: one embedded DuckDB file holding tracks, audio files, clips, stage results and the run log.

Every stage reads what the stage before it stored here and writes its own results here, so a
stage can run alone. The schema is versioned: ``MIGRATIONS[i]`` takes version ``i`` to ``i + 1``.
Stage results that are plain tables (features, clusters, ...) are written whole with
:meth:`Catalog.write_frame`, inside a transaction, so a killed run leaves the previous table intact.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .config import check_data_dir, make_data_dir
from .csvsafe import neutralize_frame
from .errors import CatalogError, ParameterError

MIGRATIONS: list[str] = [
    # 0 -> 1: the foundation
    """
    CREATE TABLE tracks (
        track_id    VARCHAR PRIMARY KEY,   -- music_id for chart songs, 'file:<sha16>' for loose files
        music_id    VARCHAR,
        title       VARCHAR,
        author      VARCHAR,
        duration_s  DOUBLE,                -- as the chart states it (audition_duration / 歌曲时间)
        user_count  BIGINT,                -- videos using the song (使用人数)
        user_incr   BIGINT,                -- growth over the chart window (使用人数增量)
        chart       VARCHAR,
        rank        INTEGER,
        fetched_at  TIMESTAMP,
        source      VARCHAR,               -- csv path, chart URL or 'file'
        is_demo     BOOLEAN DEFAULT FALSE
    );
    CREATE TABLE chart_entries (
        snapshot_id VARCHAR,               -- one crawl of one chart on one day
        chart       VARCHAR,
        chart_window VARCHAR,              -- 1d | 7d | 30d
        order_by    VARCHAR,
        keyword     VARCHAR,
        rank        INTEGER,
        music_id    VARCHAR,
        title       VARCHAR,
        author      VARCHAR,
        duration_s  DOUBLE,
        user_count  BIGINT,
        user_incr   BIGINT,
        fetched_at  TIMESTAMP,
        PRIMARY KEY (snapshot_id, music_id)
    );
    CREATE TABLE audio_files (
        path        VARCHAR PRIMARY KEY,
        sha256      VARCHAR,
        track_id    VARCHAR,
        format      VARCHAR,
        sample_rate INTEGER,
        channels    INTEGER,
        duration_s  DOUBLE,
        size_bytes  BIGINT,
        status      VARCHAR,               -- ok | failed
        error       VARCHAR,
        ingested_at TIMESTAMP
    );
    CREATE TABLE clips (
        clip_id     VARCHAR PRIMARY KEY,   -- hash of audio sha256 + clip parameters
        track_id    VARCHAR,
        audio_sha256 VARCHAR,
        clip_kind   VARCHAR,               -- first | offset | two | hook
        clip_index  INTEGER,               -- 0, or 0/1 for --two-clips
        offset_s    DOUBLE,
        length_s    DOUBLE,                -- requested length
        duration_s  DOUBLE,                -- actual length on disk
        sample_rate INTEGER,
        padded      BOOLEAN,
        short       BOOLEAN,               -- the song was shorter than the clip
        path        VARCHAR,               -- relative to the data dir
        created_at  TIMESTAMP
    );
    CREATE TABLE runs (
        run_id      VARCHAR PRIMARY KEY,
        stage       VARCHAR,
        params      VARCHAR,
        started_at  TIMESTAMP,
        finished_at TIMESTAMP,
        n_ok        INTEGER,
        n_failed    INTEGER,
        n_skipped   INTEGER
    );
    CREATE TABLE failures (
        run_id      VARCHAR,
        stage       VARCHAR,
        item        VARCHAR,
        reason      VARCHAR,
        failed_at   TIMESTAMP
    );
    """,
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EXPORT_SUFFIXES = (".csv", ".parquet")


class CatalogBusy(CatalogError):
    """Another process holds the catalog's write lock (DuckDB allows one writer, or many readers)."""


def busy_message(data_dir: Path) -> str:
    return f"another bgmscope command is using {data_dir}; wait or use another --data-dir"


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, turning its lock and format errors into one-line CatalogErrors."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise _open_error(path, exc) from exc


def _open_error(path: Path, exc: duckdb.Error) -> CatalogError:
    text = str(exc)
    if "Could not set lock" in text or "Conflicting lock" in text:
        return CatalogBusy(busy_message(path.parent))
    if "not a valid DuckDB database" in text:
        return CatalogError(f"{path} is not a DuckDB database (damaged, or another kind of file): "
                            "move it away or use another --data-dir")
    first = text.splitlines()[0] if text else type(exc).__name__
    return CatalogError(f"cannot open the catalog {path}: {first}")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Catalog:
    """The embedded DuckDB store. Use as a context manager or call :meth:`close`.

    Only the main process opens the catalog; worker processes return results to it. One process
    may write a catalog at a time; several may read it (``read_only=True``) when none writes.

    Parameters
    ----------
    path : str or Path
        The ``catalog.duckdb`` file (created, with its folder, unless ``read_only``).
    read_only : bool
        Open for reading only; a missing catalog is then a ``CatalogError``, not a new file.

    Raises
    ------
    CatalogError
        Another process holds the catalog (``CatalogBusy``), the file is not a DuckDB database,
        or the folder cannot be used.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "catalog.duckdb")
    >>> with Catalog(path) as cat:
    ...     cat.write_frame("scores", pd.DataFrame({"title": ["学猫叫"], "bpm": [128.0]}))
    >>> with Catalog(path, read_only=True) as cat:
    ...     cat.read_frame("scores").to_dict("records")
    [{'title': '学猫叫', 'bpm': 128.0}]
    """

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        if not read_only:
            make_data_dir(self.path.parent)
        else:
            check_data_dir(self.path.parent)
            if not self.path.exists():  # read-only never creates a catalog
                raise CatalogError(f"no catalog yet at {self.path}: run 'bgmscope ingest' or 'bgmscope demo' first")
        self.con = _connect(self.path, read_only=read_only)
        if not read_only:
            try:
                self._migrate()
            except BaseException:
                self.con.close()  # release the lock; the caller never gets this object
                raise

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def schema_version(self) -> int:
        return int(self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0])

    def _migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
        row = self.con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0]
        current = int(row[0])
        for version in range(current, len(MIGRATIONS)):
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.con.execute(MIGRATIONS[version])
                self.con.execute("INSERT INTO schema_version VALUES (?, ?)", [version + 1, now()])
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    # -- generic tables -----------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        q = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
        # fetchall, not fetchone: DuckDB 2 keeps a half-read result open and then refuses register()
        return bool(self.con.execute(q, [name]).fetchall()[0][0])

    def read_frame(self, name: str, where: str = "", params: list[Any] | None = None) -> pd.DataFrame:
        """The table ``name`` as a DataFrame (empty if the table does not exist).

        Parameters
        ----------
        name : str
            A table name (lower-case letters, digits, ``_``; anything else is refused).
        where : str
            An SQL tail such as ``"WHERE status = ? ORDER BY path"``; values go in ``params``.
        params : list, optional
            Values for the ``?`` placeholders (never formatted into the SQL).

        Returns
        -------
        pandas.DataFrame
        """
        _check_name(name)
        if not self.has_table(name):
            return pd.DataFrame()
        return self.con.execute(f"SELECT * FROM {name} {where}", params or []).df()

    def write_frame(self, name: str, df: pd.DataFrame) -> None:
        """Replace table ``name`` with ``df`` atomically (a stage's whole result)."""
        _check_name(name)
        self._run_with_frame(_typed(df), f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _frame")

    def upsert_frame(self, name: str, df: pd.DataFrame) -> None:
        """Insert or replace rows of an existing table with a primary key, matching columns by name."""
        _check_name(name)
        if df.empty:
            return
        cols = ", ".join(f'"{c}"' for c in df.columns)
        self._run_with_frame(df, f"INSERT OR REPLACE INTO {name} ({cols}) SELECT {cols} FROM _frame")

    def _run_with_frame(self, df: pd.DataFrame, sql: str) -> None:
        """Run ``sql`` reading ``df`` as ``_frame``, in one transaction."""
        self.con.register("_frame", df)
        try:
            self.con.execute("BEGIN TRANSACTION")
            self.con.execute(sql)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("_frame")

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # -- domain helpers -----------------------------------------------------------------------
    def tracks(self) -> pd.DataFrame:
        return self.read_frame("tracks", "ORDER BY rank NULLS LAST, track_id")

    def audio_files(self, status: str | None = "ok") -> pd.DataFrame:
        if status is None:
            return self.read_frame("audio_files", "ORDER BY path")
        return self.read_frame("audio_files", "WHERE status = ? ORDER BY path", [status])

    def clips(self, kind: str | None = None) -> pd.DataFrame:
        """Clips joined with their track's title, author and popularity."""
        sql = """
            SELECT c.*, t.title, t.author, t.user_count, t.user_incr, t.rank
            FROM clips c LEFT JOIN tracks t USING (track_id)
        """
        params: list[Any] = []
        if kind is not None:
            sql += " WHERE c.clip_kind = ?"
            params.append(kind)
        return self.con.execute(sql + " ORDER BY t.rank NULLS LAST, c.track_id, c.clip_index", params).df()

    def latest_clip_kind(self) -> str | None:
        rows = self.con.execute("SELECT clip_kind FROM clips ORDER BY created_at DESC LIMIT 1").fetchall()
        row = rows[0] if rows else None
        return row[0] if row else None

    # -- run log -------------------------------------------------------------------------------
    def start_run(self, stage: str, params: dict[str, Any] | None = None) -> str:
        run_id = uuid.uuid4().hex[:12]
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 0, 0, 0)",
            [run_id, stage, json.dumps(params or {}, ensure_ascii=False, default=str), now()],
        )
        return run_id

    def record_failure(self, run_id: str, stage: str, item: str, reason: str) -> None:
        reason = " ".join(str(reason).split())[:500]  # one line
        self.con.execute("INSERT INTO failures VALUES (?, ?, ?, ?, ?)", [run_id, stage, item, reason, now()])

    def finish_run(self, run_id: str, ok: int, failed: int, skipped: int) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, n_ok = ?, n_failed = ?, n_skipped = ? WHERE run_id = ?",
            [now(), ok, failed, skipped, run_id],
        )

    def failures(self, run_id: str | None = None) -> pd.DataFrame:
        if run_id is None:
            return self.read_frame("failures", "ORDER BY failed_at")
        return self.read_frame("failures", "WHERE run_id = ? ORDER BY failed_at", [run_id])

    # -- export ---------------------------------------------------------------------------------
    def export(self, table: str, out: str | Path) -> Path:
        """Write a table to CSV (UTF-8, formula-like text neutralised) or Parquet, by suffix, atomically."""
        from .fsutil import atomic_path

        _check_name(table)
        if not self.has_table(table):
            raise ParameterError(f"no table {table!r}; tables: {', '.join(self.table_names())}")
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in EXPORT_SUFFIXES:
            raise ParameterError(f"export to .csv or .parquet, not {out.suffix!r}")
        df = self.read_frame(table)
        with atomic_path(out) as tmp:
            if suffix == ".csv":  # spreadsheets open CSVs: no cell may run as a formula
                neutralize_frame(df).to_csv(tmp, index=False, encoding="utf-8")
            else:  # Parquet is read by programs: keep the data as stored
                df.to_parquet(tmp, index=False)
        return out

    def table_names(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """DuckDB cannot type an object column holding only None: store such columns as text."""
    empty = [c for c in df.columns if df[c].dtype == object and df[c].isna().all()]
    return df.astype({c: "string" for c in empty}) if empty else df


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ParameterError(f"not a valid table name: {name!r}")
