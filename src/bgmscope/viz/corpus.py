"""Figures across songs: ZCR bars, the 42-statistics heatmap, PCA scatter, k-sweep panels, metric
curves, GA convergence, confusion matrix, and label / tempo / key / popularity distributions.

Each takes plain arrays or DataFrames (what the catalog tables hold), so it can be used on any
results, and returns a matplotlib figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..errors import ParameterError
from .common import PALETTE, empty_note, new_figure, title


def _labels(names: Sequence[object]) -> list[str]:
    return [title(n) for n in names]


def _short(s: str, n: int = 18) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def zcr_bars(names: Sequence[object], counts: Sequence[float], *, ax=None, title_text: object = None,
             ylabel: str = "zero crossings"):
    """Zero-crossing counts (or rates) across songs, one bar each (the seed shows nine songs)."""
    counts = np.asarray(counts, dtype=float)
    if len(names) != len(counts):
        raise ParameterError(f"{len(names)} names for {len(counts)} values")
    if ax is None:
        fig, ax = new_figure(max(5.0, 0.55 * len(counts) + 2), 3.0)
    fig = ax.figure
    labels = [_short(s) for s in _labels(names)]
    ax.bar(range(len(counts)), counts, color=PALETTE[0])
    ax.set_xticks(range(len(counts)), labels, rotation=35, ha="right")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#e3e7ea")
    ax.set_axisbelow(True)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def feature_heatmap(values: pd.DataFrame, row_labels: Sequence[object] | None = None, *, ax=None,
                    title_text: object = None, zscore: bool = True):
    """Songs x features (e.g. the seed's 42 statistics), each column z-scored so all share one scale."""
    if values.empty:
        raise ParameterError("feature_heatmap needs at least one row and one column")
    x = values.to_numpy(dtype=float)
    if zscore:
        sd = np.nanstd(x, axis=0)
        x = (x - np.nanmean(x, axis=0)) / np.where(sd > 0, sd, 1.0)
        x = np.clip(x, -3, 3)
    n, m = x.shape
    if ax is None:
        fig, ax = new_figure(max(7.0, 0.2 * m + 2.5), max(3.0, 0.2 * n + 1.6))
    fig = ax.figure
    img = ax.imshow(x, aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3, interpolation="nearest")
    ax.set_xticks(range(m), [str(c) for c in values.columns], rotation=90, fontsize=6)
    labels = _labels(row_labels if row_labels is not None else values.index)
    if n <= 60:
        ax.set_yticks(range(n), [_short(s, 16) for s in labels], fontsize=6)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n} songs")
    fig.colorbar(img, ax=ax, pad=0.01, fraction=0.03, label="z-score" if zscore else None)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def pca_scatter(pc1: Sequence[float], pc2: Sequence[float], labels: Sequence[object] | None = None, *,
                names: Sequence[object] | None = None, ax=None, title_text: object = None,
                annotate: int = 0):
    """Songs on the first two principal components, coloured by cluster label.

    ``annotate`` labels that many points (the first ones, e.g. the chart's top songs) with ``names``.
    """
    x, y = np.asarray(pc1, dtype=float), np.asarray(pc2, dtype=float)
    if x.shape != y.shape:
        raise ParameterError("pc1 and pc2 differ in length")
    if ax is None:
        fig, ax = new_figure(6.0, 4.6)
    fig = ax.figure
    if labels is None:
        ax.scatter(x, y, s=26, color=PALETTE[0], edgecolor="white", linewidth=0.5)
    else:
        labels = np.asarray([str(v) for v in labels])
        for i, lab in enumerate(sorted(set(labels), key=_natural)):
            m = labels == lab
            ax.scatter(x[m], y[m], s=30, color=PALETTE[i % len(PALETTE)], edgecolor="white", linewidth=0.5,
                       label=lab)
        ax.legend(title="cluster", fontsize=7, title_fontsize=8, loc="best", markerscale=0.9)
    if names is not None and annotate:
        for xi, yi, nm in list(zip(x, y, _labels(names), strict=False))[:annotate]:
            ax.annotate(_short(nm, 12), (xi, yi), fontsize=6.5, xytext=(3, 3), textcoords="offset points",
                        color="#455a64")
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    ax.grid(color="#eef1f3")
    ax.set_axisbelow(True)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def _natural(s: str):
    try:
        return (0, float(s), s)
    except ValueError:
        return (1, 0.0, s)


def k_sweep_panels(coords: np.ndarray, labels_by_k: Mapping[int, Sequence[object]], *,
                   title_text: object = None, ncols: int = 3):
    """One small PCA scatter per k (the seed's KMeans / MiniBatchKMeans panels for k = 5..13)."""
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise ParameterError("coords must be (n, 2)")
    ks = sorted(labels_by_k)
    if not ks:
        raise ParameterError("k_sweep_panels needs at least one k")
    nrows = int(np.ceil(len(ks) / ncols))
    fig, axes = new_figure(2.6 * ncols, 2.3 * nrows + 0.4, nrows=nrows, ncols=ncols, sharex=True, sharey=True)
    axes = np.atleast_1d(axes).ravel()
    for a, k in zip(axes, ks, strict=False):
        lab = np.asarray(labels_by_k[k])
        for i, v in enumerate(sorted(set(lab.tolist()), key=lambda s: _natural(str(s)))):
            m = lab == v
            a.scatter(coords[m, 0], coords[m, 1], s=10, color=PALETTE[i % len(PALETTE)], linewidth=0)
        a.set_title(f"k = {k}", fontsize=9, loc="left")
        a.tick_params(labelsize=7)
    for a in axes[len(ks):]:
        a.set_visible(False)
    if title_text is not None:
        fig.suptitle(title(title_text), x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def metric_curves(sweep: pd.DataFrame, metrics: Sequence[str], *, k_col: str = "k", group_col: str | None = None,
                  chosen_k: int | None = None, title_text: object = None):
    """Each metric against k (one panel per metric), one line per group (e.g. algorithm)."""
    metrics = [m for m in metrics if m in sweep.columns]
    if sweep.empty or not metrics:
        raise ParameterError("metric_curves needs a sweep table with at least one of the metrics")
    fig, axes = new_figure(3.0 * len(metrics), 2.7, ncols=len(metrics))
    axes = np.atleast_1d(axes)
    groups = [(None, sweep)] if not group_col or group_col not in sweep.columns else list(sweep.groupby(group_col))
    for a, metric in zip(axes, metrics, strict=False):
        for i, (g, df) in enumerate(groups):
            df = df.sort_values(k_col)
            a.plot(df[k_col], df[metric], marker="o", markersize=3.5, color=PALETTE[i % len(PALETTE)],
                   label=None if g is None else str(g))
        if chosen_k is not None:
            a.axvline(chosen_k, color="#9aa5ad", linestyle="--", linewidth=0.8)
        a.set_title(metric.replace("_", " "), fontsize=9.5, loc="left")
        a.set_xlabel("k")
        a.grid(color="#eef1f3")
    if len(groups) > 1:
        axes[0].legend(fontsize=7)
    if title_text is not None:
        fig.suptitle(title(title_text), x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def ga_convergence(generation: Sequence[float], best: Sequence[float], mean: Sequence[float] | None = None, *,
                   ax=None, title_text: object = None, ylabel: str = "objective"):
    """Best (and mean) fitness per generation of the genetic feature selection."""
    if ax is None:
        fig, ax = new_figure(6.0, 3.0)
    fig = ax.figure
    ax.plot(generation, best, color=PALETTE[0], linewidth=1.6, label="best")
    if mean is not None:
        ax.plot(generation, mean, color=PALETTE[1], linewidth=1.2, linestyle="--", label="population mean")
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    ax.grid(color="#eef1f3")
    ax.legend(fontsize=8)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def confusion_matrix(matrix: np.ndarray, labels: Sequence[object], *, ax=None, title_text: object = None,
                     normalize: bool = True):
    """A confusion matrix (rows: true class, columns: predicted), row-normalised with counts written in."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(labels):
        raise ParameterError(f"confusion matrix shape {m.shape} does not fit {len(labels)} labels")
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    n = len(labels)
    if ax is None:
        fig, ax = new_figure(max(3.6, 0.6 * n + 1.8), max(3.2, 0.55 * n + 1.4))
    fig = ax.figure
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    names = [_short(s, 14) for s in _labels(labels)]
    ax.set_xticks(range(n), names, rotation=35, ha="right")
    ax.set_yticks(range(n), names)
    for i in range(n):
        for j in range(n):
            if m[i, j]:
                ax.text(j, i, f"{m[i, j]:g}", ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.6 else "#263238")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def distribution_bars(counts: pd.Series, *, ax=None, title_text: object = None, xlabel: str = "songs",
                      horizontal: bool = True):
    """Counts per category (genres on the chart, keys), largest first."""
    if counts.empty:
        fig, ax = new_figure(5, 2) if ax is None else (ax.figure, ax)
        empty_note(ax, "no data")
        return fig
    counts = counts.sort_values(ascending=True)
    if ax is None:
        fig, ax = new_figure(5.6, max(2.2, 0.28 * len(counts) + 1.0))
    fig = ax.figure
    labels = [_short(s, 22) for s in _labels(counts.index)]
    if horizontal:
        ax.barh(range(len(counts)), counts.to_numpy(), color=PALETTE[0])
        ax.set_yticks(range(len(counts)), labels)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for i, v in enumerate(counts.to_numpy()):
            ax.text(v, i, f" {v:g}", va="center", fontsize=7.5, color="#455a64")
    else:
        ax.bar(range(len(counts)), counts.to_numpy(), color=PALETTE[0])
        ax.set_xticks(range(len(counts)), labels, rotation=35, ha="right")
        ax.set_ylabel(xlabel)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def histogram(values: Sequence[float], *, bins: int | Sequence[float] = 12, ax=None, title_text: object = None,
              xlabel: str = "", color: str = PALETTE[0]):
    """A plain histogram (tempo distribution) with the median marked."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if ax is None:
        fig, ax = new_figure(5.0, 2.8)
    fig = ax.figure
    if v.size == 0:
        empty_note(ax, "no data")
        return fig
    ax.hist(v, bins=bins, color=color, edgecolor="white")
    med = float(np.median(v))
    ax.axvline(med, color=PALETTE[3], linestyle="--", linewidth=1)
    ax.text(med, ax.get_ylim()[1] * 0.95, f" median {med:.0f}", color=PALETTE[3], fontsize=8, va="top")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("songs")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def popularity_bars(names: Sequence[object], values: Sequence[float], *, ax=None, title_text: object = None,
                    xlabel: str = "videos using the song"):
    """The chart's top songs by use count (horizontal bars, top at the top)."""
    v = np.asarray(values, dtype=float)
    if ax is None:
        fig, ax = new_figure(9.0, max(2.4, 0.26 * len(v) + 0.9))
    fig = ax.figure
    labels = [_short(s, 26) for s in _labels(names)]
    ax.barh(range(len(v))[::-1], v, color=PALETTE[1])
    ax.set_yticks(range(len(v))[::-1], labels)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def _label_colours(labels: Sequence[object]) -> list[str]:
    """A palette colour per point, by its label's place in the labels' natural order."""
    lab = [str(v) for v in labels]
    place = {v: i for i, v in enumerate(sorted(set(lab), key=_natural))}
    return [PALETTE[place[v] % len(PALETTE)] for v in lab]


def k_sweep_grid(coords: np.ndarray, labels: Mapping[tuple[str, int], Sequence[object]], *,
                 title_text: object = None):
    """The seed's k-sweep panels: one row per algorithm, one column per k, every panel on the same
    PCA coordinates, coloured by the stored labels of that fit."""
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise ParameterError("coords must be (n, 2)")
    algos = sorted({a for a, _ in labels})
    ks = sorted({k for _, k in labels})
    if not ks:
        raise ParameterError("k_sweep_grid needs at least one fit")
    fig, axes = new_figure(1.75 * len(ks) + 0.6, 1.9 * len(algos) + 0.4, nrows=len(algos), ncols=len(ks),
                           sharex=True, sharey=True, squeeze=False)
    for row, algo in enumerate(algos):
        for col, k in enumerate(ks):
            a = axes[row, col]
            lab = labels.get((algo, k))
            if lab is None:
                a.set_visible(False)
                continue
            # one collection per panel, coloured point by point: 18 collections, not ~160
            a.scatter(coords[:, 0], coords[:, 1], s=7, c=_label_colours(lab), linewidth=0)
            a.set_title(f"k = {k}", fontsize=8, loc="left")
            a.tick_params(labelsize=6)
        axes[row, 0].set_ylabel(str(algo), fontsize=8)
    for a in axes[-1]:
        a.set_xlabel("PC1", fontsize=7)
    if title_text is not None:
        fig.suptitle(title(title_text), x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def effect_bars(names: Sequence[object], effects: Sequence[float], significant: Sequence[bool], *,
                xlabel: str = "effect", title_text: object = None):
    """Signed effects per item (largest magnitude at the top); filled bars are significant, hollow are not."""
    e = np.asarray(effects, dtype=float)
    sig = np.asarray(significant, dtype=bool)
    if len(names) != len(e) or len(e) != len(sig):
        raise ParameterError("names, effects and significant differ in length")
    fig, ax = new_figure(6.4, max(2.2, 0.3 * len(e) + 1.0))
    if e.size == 0:
        empty_note(ax, "no data")
        return fig
    order = np.argsort(np.abs(np.nan_to_num(e)))
    y = np.arange(len(e))
    colors = [PALETTE[3] if e[i] > 0 else PALETTE[0] for i in order]
    ax.barh(y, e[order], color=[c if sig[i] else "white" for c, i in zip(colors, order, strict=True)],
            edgecolor=colors, linewidth=1.2)
    ax.set_yticks(y, [_short(s, 26) for s in _labels([names[i] for i in order])], fontsize=7.5)
    ax.axvline(0, color="#9aa5ad", linewidth=0.8)
    ax.set_xlabel(xlabel)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def group_bars(groups: Mapping[str, pd.Series], *, xlabel: str = "mean score", title_text: object = None):
    """One small horizontal bar panel per group (e.g. genre / mood / vocal tags and their mean scores)."""
    groups = {g: s for g, s in groups.items() if not s.empty}
    if not groups:
        raise ParameterError("group_bars needs at least one non-empty group")
    fig, axes = new_figure(3.1 * len(groups), max(2.2, 0.3 * max(len(s) for s in groups.values()) + 1.1),
                           ncols=len(groups), squeeze=False)
    for a, (g, s) in zip(axes[0], groups.items(), strict=True):
        s = s.sort_values()
        a.barh(range(len(s)), s.to_numpy(float), color=PALETTE[2])
        a.set_yticks(range(len(s)), [_short(x, 18) for x in _labels(s.index)], fontsize=7.5)
        a.set_xlabel(xlabel)
        a.set_title(title(g), fontsize=9.5, loc="left")
    if title_text is not None:
        fig.suptitle(title(title_text), x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig
