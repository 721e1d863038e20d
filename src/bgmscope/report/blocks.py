"""The pieces a report section is made of. Templates render them to HTML and to Markdown.

Block values that came from outside (titles, authors, table cells) stay plain text here; the
HTML template escapes them (Jinja2 autoescape) and the Markdown writer escapes them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Figure:
    name: str          # file stem under figures/ (Markdown twin)
    png: bytes
    caption: str = ""
    wide: bool = False
    kind: str = "figure"


@dataclass
class Plotly:
    html: str          # plotly's <div> + init script, built from escaped values
    caption: str = ""
    fallback: Figure | None = None  # the static twin, for the Markdown report
    kind: str = "plotly"


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    note: str = ""
    numeric: list[bool] = field(default_factory=list)  # right-align these columns (numbers)
    sortable: bool = False  # click a header to sort, type in the box to filter (the page's own script)
    link: str = ""  # a file beside the report holding the whole table (e.g. tables/features.csv)
    kind: str = "table"

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [bool(self.rows) and all(_is_num(r[i]) for r in self.rows if i < len(r) and r[i] != "")
                            and any(i < len(r) and r[i] != "" for r in self.rows) for i in range(len(self.columns))]


@dataclass
class Text:
    text: str
    strong: str = ""  # a bold lead-in (e.g. "Cluster 2: 9 songs")
    kind: str = "text"


@dataclass
class Bullets:
    items: list[str]
    kind: str = "bullets"


@dataclass
class Stats:
    items: list[tuple[str, str]]  # (value, label)
    kind: str = "stats"


@dataclass
class Audio:
    items: list[dict[str, str]]  # {label, src (data URI), mime}
    caption: str = ""
    kind: str = "audio"


@dataclass
class Card:
    title: str
    author: str
    rank: str
    facts: list[tuple[str, str]]
    png: bytes | None
    audio_src: str | None
    name: str  # figure stem
    kind: str = "card"


@dataclass
class Cards:
    cards: list[Card]
    caption: str = ""
    kind: str = "cards"


@dataclass
class Num:
    """A number in a conclusion, with where it came from: ``agg`` of ``column`` over the rows of
    catalog ``table`` matching ``where`` (``value``: the one matching row's value). The HTML
    carries the source in data attributes so a test can check the shown text against the table."""
    value: float
    table: str
    column: str
    where: dict[str, Any] = field(default_factory=dict)
    agg: str = "value"  # value | median | q25 | q75 | min | max | mean | count | share
    of: dict[str, Any] = field(default_factory=dict)  # share: rows matching ``of`` among ``where``
    text: str = ""  # as shown (set when the sentence is formatted)
    spec: str = ""  # the format spec it was shown with


Sentence = list  # of str and Num parts


@dataclass
class Claim:
    """One conclusion: sentences built from stored numbers, the reasons any part was left out, and
    the figures that support it."""
    id: str
    heading: str
    sentences: list[Sentence] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    evidence: list[Figure] = field(default_factory=list)
    kind: str = "claim"


@dataclass
class Details:
    """A collapsed block (``<details>``): the appendix's tables."""
    summary: str
    blocks: list[Any] = field(default_factory=list)
    kind: str = "details"


@dataclass
class Section:
    id: str
    heading: str
    blocks: list[Any] = field(default_factory=list)
    lead: str = ""


def _is_num(s: str) -> bool:
    try:
        float(s.replace(",", ""))
        return True
    except ValueError:
        return False


def fmt(v: object) -> str:
    """A table cell: numbers to 3-4 significant figures, big counts with separators, NaN empty."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}" if abs(int(v)) >= 10000 else str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        if not np.isfinite(f):
            return ""
        if f.is_integer() and abs(f) >= 1000:
            return f"{f:,.0f}"
        return f"{f:.4g}"
    if isinstance(v, list | tuple | np.ndarray):
        return ", ".join(fmt(x) for x in v)
    return str(v)


def table_from_frame(df: pd.DataFrame, *, caption: str = "", max_rows: int = 15, columns: list[str] | None = None,
                     headers: dict[str, str] | None = None, more_note: str = "") -> Table:
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    shown = df[cols].head(max_rows)
    rows = [[fmt(v) for v in rec] for rec in shown.itertuples(index=False, name=None)]
    note = more_note if len(df) > max_rows else ""
    return Table([(headers or {}).get(c, c) for c in cols], rows, caption=caption, note=note)
