"""Skip an analysis stage whose inputs have not changed since it last ran.

A stage's *key* is a SHA-256 over: the content of the catalog tables it reads (an order-free sum
of DuckDB row hashes per table, with the table's column names and types; bookkeeping columns that
change on every run — run ids, timestamps, seconds — are left out), its parameters (JSON), and the
source of the packages whose code decides its result (plus ``bgmscope.__version__``). The record
``<data>/cache/stages/<stage>.json`` holds the key, the digest of every table the stage wrote and
the stage's printed summary. A rerun skips only when the key matches *and* every output table
still has the digest it had when written (a table dropped or rewritten by hand recomputes).

Used by the select, cluster, genre, hits and report stages (``force=True`` or
``BGMSCOPE_NO_STAGE_CACHE=1`` recomputes). It lives in ``select/`` because that is the lowest room
all of them may import from (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..catalog import Catalog
from ..fsutil import atomic_write_text

CACHE_FORMAT = 1
# columns that record when or in which run a row was written, not what it says
BOOKKEEPING = frozenset({"run_id", "created_at", "seconds", "ingested_at", "fetched_at", "failed_at",
                         "started_at", "finished_at", "applied_at", "computed_at"})
CODE_SUFFIXES = (".py", ".j2", ".css", ".js", ".html")
PKG_ROOT = Path(__file__).resolve().parent.parent


def disabled() -> bool:
    return os.environ.get("BGMSCOPE_NO_STAGE_CACHE", "") not in ("", "0")


def table_digest(catalog: Catalog, name: str, *, drop: frozenset[str] = BOOKKEEPING) -> str:
    """Content digest of one table, independent of row order; ``'absent'`` if it does not exist."""
    if not catalog.has_table(name):
        return "absent"
    cols = catalog.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()
    kept = [(c, t) for c, t in cols if c not in drop]
    if not kept:
        n = catalog.con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        return f"{n}:nocols"
    sel = ", ".join(f'"{c}"' for c, _ in kept)
    n, s = catalog.con.execute(
        f"SELECT count(*), coalesce(sum(hash(s)::HUGEINT), 0) FROM (SELECT {sel} FROM {name}) s").fetchall()[0]
    schema = ";".join(f"{c}:{t}" for c, t in kept)
    return hashlib.sha256(f"{schema}|{n}|{s}".encode()).hexdigest()[:32]


def code_digest(*packages: str) -> str:
    """SHA-256 of the ``.py`` files of the named bgmscope packages (or modules) and the version."""
    h = hashlib.sha256(f"{__version__}|{CACHE_FORMAT}".encode())
    for pkg in sorted(set(packages)):
        p = PKG_ROOT / pkg
        files = (sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in CODE_SUFFIXES) if p.is_dir()
                 else [p.with_suffix(".py")])
        for f in files:
            h.update(str(f.relative_to(PKG_ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class StageCache:
    """The skip decision of one stage over one catalog."""

    catalog: Catalog
    data_dir: Path
    stage: str
    inputs: list[str]
    outputs: list[str]
    params: dict[str, Any]
    code: list[str]
    files: tuple[Path, ...] = ()  # output files that must still be as written (the report's pages)

    @property
    def path(self) -> Path:
        return Path(self.data_dir) / "cache" / "stages" / f"{self.stage}.json"

    def key(self) -> str:
        doc = {"stage": self.stage, "inputs": {t: table_digest(self.catalog, t) for t in sorted(set(self.inputs))},
               "params": self.params, "code": code_digest(*self.code)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()

    def _outputs_now(self) -> dict[str, str]:
        out = {t: table_digest(self.catalog, t, drop=frozenset()) for t in self.outputs}
        for f in self.files:
            f = Path(f)
            out[f"file:{f}"] = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "absent"
        return out

    def lookup(self, key: str) -> dict | None:
        """The stored summary when ``key`` matches and the outputs are as written, else None."""
        if disabled() or not self.path.is_file():
            return None
        try:
            rec = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if rec.get("format") != CACHE_FORMAT or rec.get("key") != key:
            return None
        stored = rec.get("outputs", {})
        if stored != self._outputs_now():  # an absent table must still be absent
            return None
        return rec.get("summary", {})

    def store(self, key: str, summary: dict) -> None:
        rec = {"format": CACHE_FORMAT, "stage": self.stage, "key": key, "outputs": self._outputs_now(),
               "summary": json.loads(json.dumps(summary, default=str))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(rec, indent=1, ensure_ascii=False))


def cached_stage(cache: StageCache, compute, *, force: bool = False, console=None) -> dict:
    """Run ``compute()`` (returns the stage's summary dict) unless the cache says nothing changed.

    The key is taken before computing, so a stage that rewrites its own inputs cannot vouch for
    itself. A summary with failures is not stored (a rerun retries them)."""
    key = cache.key()
    if not force:
        hit = cache.lookup(key)
        if hit is not None:
            if console is not None:
                console.print(f"{cache.stage}: inputs unchanged since its last run, results kept")
            return {**hit, "cached": True}
    summary = compute()
    failed = summary.get("failed", 0)
    if not (len(failed) if isinstance(failed, list | tuple | set) else int(failed or 0)):
        cache.store(key, summary)
    return summary
