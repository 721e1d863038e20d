"""The appendix: every catalog table, collapsed, its first rows sortable and filterable in the
page, the whole table as a CSV file beside the report (``tables/<name>.csv``, formula-like text
neutralised by :meth:`Catalog.export`). This is the one place the report shows ids and digests.
"""

from __future__ import annotations

from pathlib import Path

from ..catalog import Catalog
from .blocks import Details, Section, Table, fmt
from .i18n import Words

APPENDIX_ROWS = 50
SKIP = ("schema_version",)  # the catalog's own bookkeeping


def appendix_section(cat: Catalog, w: Words, out_dir: Path, rows: int = APPENDIX_ROWS) -> Section:
    sec = Section("appendix", w("appendix"), lead=w("appendix_lead", n=rows))
    tables_dir = out_dir / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name in cat.table_names():
        if name in SKIP or name.startswith("_"):
            continue
        n = int(cat.query(f"SELECT count(*) AS n FROM {name}")["n"].iloc[0])  # noqa: S608 (names come from the catalog)
        head = cat.read_frame(name, f"LIMIT {int(rows)}")
        csv = tables_dir / f"{name}.csv"
        cat.export(name, csv)
        cells = [[_cell(v) for v in rec] for rec in head.itertuples(index=False, name=None)]
        table = Table([str(c) for c in head.columns], cells, sortable=True, link=f"tables/{csv.name}",
                      note=w("more_rows", n=n - rows, t=name) if n > rows else "")
        sec.blocks.append(Details(f"{name} — {w('rows_cols', r=f'{n:,}', c=len(head.columns))}", [table]))
    return sec


def _cell(v: object, limit: int = 120) -> str:
    s = fmt(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"
