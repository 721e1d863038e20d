"""The figures under the conclusions, drawn from stored tables only, in the report's language.

A figure's PNG is cached under ``<data>/cache/report/`` by a hash of the exact data it is drawn
from (plus its name, language and :data:`FIG_VERSION`), so a rerun on unchanged tables draws
nothing: it reads the bytes back.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..fsutil import atomic_write_bytes
from .blocks import Figure
from .i18n import Words

FIG_VERSION = 2  # bump when a figure's drawing changes, so cached PNGs are redrawn
FIG_DPI = 90
KEY_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


class FigureCache:
    """PNG bytes by content hash: ``get(name, inputs, draw)`` draws only on a miss."""

    def __init__(self, root: Path | None, lang: str):
        self.root, self.lang = root, lang
        self.hits = self.misses = 0

    def key(self, name: str, inputs: Any) -> str:
        blob = pickle.dumps((name, self.lang, FIG_VERSION, inputs), protocol=4)
        return hashlib.sha256(blob).hexdigest()

    def png(self, name: str, inputs: Any, draw: Callable[[], Any]) -> bytes:
        from ..viz.common import png_bytes

        path = self.root / f"{self.key(name, inputs)}.png" if self.root else None
        if path is not None and path.is_file():
            self.hits += 1
            return path.read_bytes()
        self.misses += 1
        png = png_bytes(self.render(draw), dpi=FIG_DPI)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, png)
        return png

    def render(self, draw: Callable[[], Any]):
        """The drawn figure with its own words in the report's language."""
        from ..viz.words import localize

        return localize(draw(), self.lang)

    def figure(self, name: str, inputs: Any, draw: Callable[[], Any], caption: str, wide: bool = False) -> Figure:
        return Figure(name=name, png=self.png(name, inputs, draw), caption=caption, wide=wide)


def _frame_inputs(df: pd.DataFrame) -> tuple:
    """A frame as hashable plain data (column names and values)."""
    return (tuple(map(str, df.columns)), df.to_numpy(dtype=object).tolist())


def first_clip_features(cat: Catalog) -> pd.DataFrame:
    """Each song's first-clip feature row (the seed's first 15 s when cut), in chart order, with title."""
    f = cat.read_frame("features")
    if f.empty:
        return f
    if "clip_kind" in f.columns:
        kinds = f["clip_kind"].astype(str)
        f = f[kinds == ("first" if (kinds == "first").any() else kinds.iloc[-1])]
    if "clip_index" in f.columns:
        f = f[f["clip_index"] == 0]
    t = cat.tracks()[["track_id", "title", "author", "user_count", "rank"]]
    return t.merge(f.drop(columns=[c for c in ("title", "author", "user_count", "rank") if c in f.columns]),
                   on="track_id", how="inner")


def build_figures(cat: Catalog, w: Words, fc: FigureCache, *, data_dir: Path | None = None) -> dict[str, Figure]:
    """Every evidence figure the stored tables allow, by name (absent tables: no entry). The top
    song's card ("card") is added by the builder, which draws the cards."""
    from ..viz import corpus as vc

    figs: dict[str, Figure] = {}
    feats = first_clip_features(cat)
    if not feats.empty and "tempo_bpm" in feats.columns:
        tempo = feats["tempo_bpm"].astype(float)
        tempo = tempo[tempo > 0].to_numpy()
        if tempo.size >= 2:
            figs["tempo"] = fc.figure("tempo", tempo.tolist(), lambda: vc.histogram(
                tempo, bins=np.arange(40, 241, 10), xlabel="BPM"), w("e_tempo"))
    if not feats.empty and {"key_pc", "key_mode"} <= set(feats.columns):
        k = feats.dropna(subset=["key_pc", "key_mode"])
        if "key_strength" in k.columns:
            k = k[k["key_strength"].fillna(1) > 0]
        mode = {True: "major", False: "minor"} if w.lang == "en" else {True: "大调", False: "小调"}
        labels = [f"{KEY_NAMES[int(p) % 12]} {mode[m >= 0.5]}" for p, m in zip(k["key_pc"], k["key_mode"], strict=True)]
        if len(labels) >= 2:
            counts = pd.Series(labels).value_counts().head(10)  # the ten most common keys
            figs["keys"] = fc.figure("keys", counts.to_dict(), lambda: vc.distribution_bars(counts), w("e_key"))
    if not feats.empty and "zcr_per_s" in feats.columns:
        top = feats.dropna(subset=["zcr_per_s"]).sort_values("user_count", ascending=False).head(9)
        if len(top) >= 2:
            names, vals = top["title"].fillna("").tolist(), top["zcr_per_s"].astype(float).tolist()
            figs["zcr"] = fc.figure("zcr", (names, vals), lambda: vc.zcr_bars(
                names, vals, ylabel="zero crossings per second"), w("e_zcr"))
    _hits_figures(cat, w, fc, figs)
    _cluster_figures(cat, w, fc, figs)
    _mix_figures(cat, w, fc, figs)
    return figs


def _forest_inputs(df: pd.DataFrame, name_col: str) -> pd.DataFrame:
    df = df.sort_values(["q", "p"] if "p" in df.columns else ["q"]).head(12)
    return df[[name_col, "rho", "ci_low", "ci_high", "q"]].rename(columns={name_col: "feature"})


def forest(df: pd.DataFrame):
    """Spearman rho with its interval per row, significant rows (q < 0.05) in red."""
    from ..viz.common import PALETTE, new_figure

    df = df.iloc[::-1]
    fig, ax = new_figure(6.4, 0.32 * len(df) + 1.1)
    ypos = np.arange(len(df))
    sig = df["q"].to_numpy(float) < 0.05
    ax.errorbar(df["rho"], ypos, xerr=[df["rho"] - df["ci_low"], df["ci_high"] - df["rho"]], fmt="none",
                ecolor="#9aa5ad", elinewidth=1.2, capsize=2)
    ax.scatter(df["rho"], ypos, color=[PALETTE[3] if s else PALETTE[0] for s in sig], zorder=3, s=22)
    ax.axvline(0, color="#9aa5ad", linewidth=0.8)
    ax.set_yticks(ypos, [str(f) for f in df["feature"]], fontsize=7.5)
    ax.set_xlabel("Spearman ρ")
    ax.set_xlim(-1, 1)
    return fig


def _target(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["target"] == "user_count"] if "target" in df.columns else df


def _hits_figures(cat: Catalog, w: Words, fc: FigureCache, figs: dict[str, Figure]) -> None:
    from ..viz import corpus as vc

    corr = _target(cat.read_frame("hits_correlations"))
    if not corr.empty and {"feature", "rho", "ci_low", "ci_high", "q"} <= set(corr.columns):
        d = _forest_inputs(corr, "feature")
        figs["forest"] = fc.figure("forest", _frame_inputs(d), lambda: forest(d), w("e_forest"))
    tags = _target(cat.read_frame("hits_tags"))
    if not tags.empty and {"tag", "rho", "ci_low", "ci_high", "q"} <= set(tags.columns):
        d = _forest_inputs(tags, "tag")
        figs["tagforest"] = fc.figure("tagforest", _frame_inputs(d), lambda: forest(d), w("e_tagforest"))
    hv = cat.read_frame("hits_hook_vs_first")
    eff_col = "effect" if "effect" in hv.columns else "rank_biserial"  # the stage stores rank-biserial r
    if not hv.empty and {"feature", eff_col, "q"} <= set(hv.columns):
        d = hv.dropna(subset=[eff_col]).sort_values("q").head(16)
        names, eff, sig = d["feature"].tolist(), d[eff_col].astype(float).tolist(), (d["q"] < 0.05).tolist()
        figs["hook"] = fc.figure("hook", (names, eff, sig), lambda: vc.effect_bars(
            names, eff, sig, xlabel="hook − first 15 s (rank-biserial r)"), w("e_hook"))


def _cluster_figures(cat: Catalog, w: Words, fc: FigureCache, figs: dict[str, Figure]) -> None:
    from ..viz import corpus as vc

    assign = cat.read_frame("cluster_assignments")
    if assign.empty or not {"pc1", "pc2", "track_id"} <= set(assign.columns):
        return
    if "clip_index" in assign.columns:
        assign = assign[assign["clip_index"] == 0]
    assign = assign.drop_duplicates("track_id")
    a = assign.merge(cat.tracks()[["track_id", "title", "user_count"]], on="track_id", how="left")
    a = a.sort_values("user_count", ascending=False, na_position="last")
    lab = "cluster" if "cluster" in a.columns else ("kmeans" if "kmeans" in a.columns else None)
    axes = _pc_axis_labels(cat)
    d = a[["pc1", "pc2", "title"] + ([lab] if lab else [])]

    def draw_pca():
        fig = vc.pca_scatter(d["pc1"], d["pc2"], d[lab] if lab else None, names=d["title"], annotate=8)
        if axes:
            fig.axes[0].set_xlabel(axes[0])
            fig.axes[0].set_ylabel(axes[1])
        return fig

    figs["pca"] = fc.figure("pca", (_frame_inputs(d), axes), draw_pca, w("e_pca"))
    sweep = cat.read_frame("cluster_sweep")
    if not sweep.empty and "k" in sweep.columns:
        metrics = [m for m in ("silhouette", "calinski_harabasz", "davies_bouldin") if m in sweep.columns]
        group = "algorithm" if "algorithm" in sweep.columns else None
        chosen = None
        if "chosen" in sweep.columns and sweep["chosen"].astype(bool).any():
            chosen = int(sweep.loc[sweep["chosen"].astype(bool), "k"].iloc[0])
        cols = ["k"] + metrics + ([group] if group else [])
        if metrics:
            s = sweep[cols]
            figs["k_metrics"] = fc.figure("k_metrics", (_frame_inputs(s), chosen), lambda: vc.metric_curves(
                s, metrics, group_col=group, chosen_k=chosen), w("e_metrics"), wide=True)
    kl = cat.read_frame("cluster_k_labels")
    if not kl.empty and {"algorithm", "k", "track_id", "label"} <= set(kl.columns):
        order = assign["track_id"].astype(str).tolist()
        xy = assign[["pc1", "pc2"]].to_numpy(float)
        labels = {}
        for (algo, k), g in kl.groupby(["algorithm", "k"]):
            m = dict(zip(g["track_id"].astype(str), g["label"], strict=False))
            labels[(str(algo), int(k))] = [m.get(t, -1) for t in order]
        figs["k_sweep"] = fc.figure("k_sweep", (xy.tolist(), sorted(labels.items())),
                                    lambda: vc.k_sweep_grid(xy, labels), w("e_ksweep"), wide=True)


def _pc_axis_labels(cat: Catalog) -> tuple[str, str] | None:
    """'PC1 (34%)' from the cluster stage's cluster_pca, when it stored the explained variance."""
    pca = cat.read_frame("cluster_pca")
    if pca.empty or not {"component", "explained_variance_ratio"} <= set(pca.columns):
        return None
    r = pca.set_index("component")["explained_variance_ratio"]
    if 1 not in r.index or 2 not in r.index:
        return None
    return f"PC1 ({r[1]:.0%})", f"PC2 ({r[2]:.0%})"


def _mix_figures(cat: Catalog, w: Words, fc: FigureCache, figs: dict[str, Figure]) -> None:
    from ..viz import corpus as vc

    gs = cat.read_frame("genre_chart_summary")
    if not gs.empty and {"label", "n_songs"} <= set(gs.columns):
        counts = gs.set_index("label")["n_songs"].astype(float)
        figs["genre_dist"] = fc.figure("genre_dist", counts.to_dict(), lambda: vc.distribution_bars(counts),
                                       w("e_genre"))
    tags = cat.read_frame("tags")
    if tags.empty or not {"model", "tag", "mean"} <= set(tags.columns):
        return
    from .conclusions import Context, tag_groups

    groups = tag_groups(Context(cat, w, w.lang))
    model = "MSD" if (tags["model"] == "MSD").any() else str(tags["model"].iloc[0])
    means = tags[tags["model"] == model].groupby("tag")["mean"].mean()
    panels = {}
    for g in ("genre", "mood", "vocal"):
        s = means[[groups.get(t) == g for t in means.index]].sort_values(ascending=False).head(6)
        if not s.empty:
            panels[f"{w(f'g_{g}')} (musicnn-{model})"] = s
    if panels:
        figs["tag_mix"] = fc.figure("tag_mix", {k: v.to_dict() for k, v in panels.items()},
                                    lambda: vc.group_bars(panels), w("e_tags"), wide=True)


def stored_ssm_figure(cat: Catalog, settings, w: Words, fc: FigureCache, track_id: str, title: str) -> Figure | None:
    """The top song's stored self-similarity matrix (the transcription's), when there is one."""
    m = stored_ssm(cat, settings, track_id)
    if m is None:
        return None
    from ..viz.audio import self_similarity

    return fc.figure("ssm_top", (m.shape, hashlib.sha256(np.ascontiguousarray(m).tobytes()).hexdigest(), title),
                     lambda: self_similarity(matrix=m, title_text=title), w("e_ssm"))


def stored_ssm(cat: Catalog, settings: Settings, track_id: str) -> np.ndarray | None:
    """The transcription stage's stored self-similarity matrix (a ``.npy`` path in a ``midi_*`` table)."""
    for name in cat.table_names():
        if not name.startswith("midi_"):
            continue
        df = cat.read_frame(name)
        if "track_id" not in df.columns:
            continue
        hit = df[df["track_id"] == track_id]
        for c in df.columns:
            v = hit[c].iloc[0] if not hit.empty else None
            if not isinstance(v, str) or not v.endswith(".npy"):
                continue
            p = Path(v) if Path(v).is_absolute() else Path(settings.data_dir) / v
            if p.is_file():
                return np.load(p, allow_pickle=False)
    return None
