"""Interactive figures (plotly) where hovering helps: who is that point on the PCA scatter?

The plotly.js bundle is inlined (never a CDN), so a report works offline. In a page with several
figures the bundle is included once (:func:`plotly_bundle`) and each figure is a ``<div>``.
Titles and authors come from an outside API: they are HTML-escaped before they reach plotly,
whose hover labels interpret a small set of tags.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..fsutil import atomic_write_text
from .common import PALETTE

FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, DejaVu Sans, sans-serif"


@lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """The plotly.js source shipped in the plotly package (inline in a ``<script>``)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _esc(v: object) -> str:
    return html.escape("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v), quote=True)


def pca_scatter(df: pd.DataFrame, *, x: str = "pc1", y: str = "pc2", color: str | None = "cluster",
                title_text: str = "", hover: tuple[str, ...] = ("title", "author", "user_count")):
    """A plotly PCA scatter; hovering a point shows the song's title, author and use count."""
    import plotly.graph_objects as go

    if x not in df.columns or y not in df.columns:
        raise ParameterError(f"pca_scatter needs columns {x!r} and {y!r}; have {list(df.columns)}")
    fig = go.Figure()
    groups = [("", df)] if not color or color not in df.columns else list(df.groupby(df[color].astype(str), sort=True))
    for i, (name, part) in enumerate(groups):
        texts = []
        for _, row in part.iterrows():
            lines = []
            for col in hover:
                if col in part.columns:
                    val = row[col]
                    if col == "user_count" and pd.notna(val):
                        val = f"{int(val):,}"
                    lines.append(f"{_esc(col)}: {_esc(val)}" if col != "title" else f"<b>{_esc(val)}</b>")
            texts.append("<br>".join(lines))
        fig.add_trace(go.Scatter(
            x=part[x].astype(float).tolist(), y=part[y].astype(float).tolist(), mode="markers",
            name=f"{color} {name}" if name != "" else "songs", text=texts, hoverinfo="text",
            marker={"size": 10, "color": PALETTE[i % len(PALETTE)], "line": {"width": 1, "color": "white"}},
        ))
    fig.update_layout(
        title={"text": _esc(title_text), "x": 0.01}, template="plotly_white", height=460,
        margin={"l": 50, "r": 20, "t": 50, "b": 45}, font={"family": FONT, "size": 12},
        xaxis_title=x.upper(), yaxis_title=y.upper(), legend={"orientation": "v"},
    )
    return fig


def metric_curves(sweep: pd.DataFrame, metric: str, *, k_col: str = "k", group_col: str | None = None,
                  title_text: str = ""):
    """One clustering metric against k, a line per group (hover shows exact values)."""
    import plotly.graph_objects as go

    if metric not in sweep.columns:
        raise ParameterError(f"no column {metric!r} in the sweep table")
    fig = go.Figure()
    groups = [("", sweep)] if not group_col or group_col not in sweep.columns else list(sweep.groupby(group_col))
    for i, (g, part) in enumerate(groups):
        part = part.sort_values(k_col)
        fig.add_trace(go.Scatter(x=part[k_col].tolist(), y=part[metric].astype(float).tolist(), mode="lines+markers",
                                 name=_esc(g) or metric, line={"color": PALETTE[i % len(PALETTE)]}))
    fig.update_layout(title={"text": _esc(title_text), "x": 0.01}, template="plotly_white", height=320,
                      margin={"l": 50, "r": 20, "t": 45, "b": 40}, font={"family": FONT, "size": 12},
                      xaxis_title="k", yaxis_title=_esc(metric))
    return fig


def to_div(fig, div_id: str | None = None) -> str:
    """The figure as a ``<div>`` + init script, without the plotly bundle (include it once per page)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def write_html(fig, path: str | Path) -> Path:
    """A standalone interactive HTML file with plotly.js inlined (works offline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, fig.to_html(full_html=True, include_plotlyjs=True,
                                        config={"displaylogo": False, "responsive": True}))
    return path
