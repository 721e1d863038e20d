"""Build each report section from whatever the catalog holds.

A section whose stage has not stored its tables is left out and named in a one-line note. Tables
of other stages are read by their documented columns where known (pc1/pc2, description_en, rho and
ci_low/ci_high, ...), and any other table of the stage is still shown as a plain table, so nothing
a stage stored is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..viz import corpus as vc
from ..viz.common import png_bytes
from .blocks import (
    Audio,
    Bullets,
    Card,
    Cards,
    Figure,
    Plotly,
    Section,
    Stats,
    Table,
    Text,
    fmt,
    table_from_frame,
)
from .i18n import Words

FIG_DPI = 90


def fig_block(name: str, fig, caption: str = "", wide: bool = False) -> Figure:
    return Figure(name=name, png=png_bytes(fig, dpi=FIG_DPI), caption=caption, wide=wide)


def stage_tables(cat: Catalog, prefix: str) -> dict[str, pd.DataFrame]:
    """Every table whose name starts with ``prefix`` (e.g. ``cluster_``), read whole."""
    return {t: cat.read_frame(t) for t in cat.table_names() if t.startswith(prefix)}


def find_table(tables: dict[str, pd.DataFrame], need: set[str]) -> tuple[str, pd.DataFrame] | None:
    """The first table holding all the columns in ``need``."""
    for name, df in tables.items():
        if need <= set(df.columns) and not df.empty:
            return name, df
    return None


def first_col(df: pd.DataFrame, *patterns: str) -> str | None:
    for p in patterns:
        rx = re.compile(p)
        for c in df.columns:
            if rx.fullmatch(str(c)):
                return str(c)
    return None


def generic_tables(tables: dict[str, pd.DataFrame], used: set[str], w: Words, max_rows: int = 12) -> list[Table]:
    out = []
    for name, df in tables.items():
        if name in used or df.empty:
            continue
        if len(df) > 200:  # per-note or per-frame tables: say where they are rather than print a slice
            out.append(Table([], [], caption=f"{w('from_table')} {name}",
                             note=f"{len(df):,} rows: bgmscope export {name} --to {name}.csv"))
            continue
        if len(df) == 1:  # a run summary: one field per line reads better than one very wide row
            rows = [[str(c), _clip_text(fmt(v).replace(",", ", ") if _texty(df[c]) else fmt(v))]
                    for c, v in df.iloc[0].items() if fmt(v) != ""]
            out.append(Table([w("field"), w("value")], rows, caption=f"{w('from_table')} {name}",
                             numeric=[False, False]))
            continue
        cols = [c for c in df.columns if not _texty(df[c]) or not df[c].astype(str).str.len().gt(200).any()]
        out.append(table_from_frame(df, caption=f"{w('from_table')} {name}", columns=cols[:12], max_rows=max_rows,
                                    more_note=w("more_rows", n=len(df) - max_rows, t=name)))
    return out


def _texty(col: pd.Series) -> bool:
    """A text column (object dtype, or pandas' string dtype that pandas 3 uses by default)."""
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _clip_text(s: str, n: int = 160) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# -- corpus ---------------------------------------------------------------------------------------
def summary_section(cat: Catalog, w: Words, songs: pd.DataFrame) -> Section:
    tracks = cat.tracks()
    audio = cat.audio_files()
    clips = cat.clips()
    fails = current_failures(cat)
    sec = Section("summary", w("summary"))
    tiles = [(fmt(len(tracks)), w("n_tracks")), (fmt(len(audio)), w("n_audio")),
             (fmt(clips["track_id"].nunique() if not clips.empty else 0), w("n_clips")),
             (fmt(len(fails)), w("n_failures"))]
    if not tracks.empty and tracks["user_count"].notna().any():
        tiles.append((_compact(float(tracks["user_count"].sum())), w("total_use")))
    if not audio.empty and audio["duration_s"].notna().any():
        tiles.append((f"{float(audio['duration_s'].median()):.0f} s", w("median_len")))
    sec.blocks.append(Stats(tiles))
    if not tracks.empty and tracks["is_demo"].fillna(False).any():
        sec.lead = w("demo_note")
    top = tracks.dropna(subset=["user_count"]).sort_values("user_count", ascending=False).head(15)
    if len(top) >= 2:
        sec.blocks.append(fig_block("popularity", vc.popularity_bars(top["title"].fillna(top["track_id"]).tolist(),
                                                                     top["user_count"].tolist(),
                                                                     xlabel=w("user_count")),
                                    w("cap_pop"), wide=True))
    if not tracks.empty:
        view = tracks.copy()
        if not songs.empty:
            view = view.merge(songs[["track_id", "tempo_bpm", "key"]], on="track_id", how="left")
            view["tempo_bpm"] = view["tempo_bpm"].round(0)
        if "duration_s" in view.columns:
            view["duration_s"] = view["duration_s"].round(0)
        cols = ["rank", "title", "author", "user_count", "user_incr", "duration_s", "tempo_bpm", "key"]
        heads = {"rank": w("rank"), "title": w("song"), "author": w("author"), "user_count": w("user_count"),
                 "user_incr": w("user_incr"), "duration_s": w("duration"), "tempo_bpm": w("tempo"), "key": w("key")}
        sec.blocks.append(table_from_frame(view, caption=w("chart_table"), columns=cols, headers=heads, max_rows=25,
                                           more_note=w("more_rows", n=len(view) - 25, t="tracks")))
    return sec


def _compact(x: float) -> str:
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.1f}{suffix}"
    return f"{x:.0f}"


def cards_section(w: Words, cards: list[Card]) -> Section:
    sec = Section("songs", w("songs"))
    if not cards:
        sec.blocks.append(Text(w("no_cards")))
    else:
        sec.blocks.append(Cards(cards, caption=w("cap_card")))
        sec.lead = w("audio_note")
    return sec


def features_section(cat: Catalog, w: Words, songs: pd.DataFrame, top_song: tuple[np.ndarray, int] | None) -> Section:
    sec = Section("features", w("features"))
    if not songs.empty:
        top9 = songs.head(9)
        sec.blocks.append(fig_block("zcr", vc.zcr_bars(top9["title"].tolist(), top9["zero_crossings"].tolist()),
                                    w("cap_zcr")))
    feats = cat.read_frame("features")
    if not feats.empty:
        from ..features.stats42 import STAT42_NAMES

        cols = [c for c in STAT42_NAMES if c in feats.columns]
        first = feats[feats.get("clip_index", 0) == 0] if "clip_index" in feats.columns else feats
        if "clip_kind" in first.columns and (first["clip_kind"] == "first").any():
            first = first[first["clip_kind"] == "first"]
        first = first.drop_duplicates("track_id")
        if cols and len(first) >= 2:
            order = cat.tracks()[["track_id", "title", "rank"]]
            first = order.merge(first, on="track_id", how="inner")
            sec.blocks.append(fig_block("features42", vc.feature_heatmap(first[cols], first["title"].fillna(first["track_id"]).tolist()),
                                        w("cap_heat"), wide=True))
    if not songs.empty and songs["tempo_bpm"].notna().sum() >= 2:
        sec.blocks.append(fig_block("tempo", vc.histogram(songs["tempo_bpm"], bins=np.arange(40, 241, 10),
                                                          xlabel="BPM"), w("cap_tempo")))
    if not songs.empty and (songs["key"] != "").sum() >= 2:
        counts = songs.loc[songs["key"] != "", "key"].value_counts()
        sec.blocks.append(fig_block("keys", vc.distribution_bars(counts), w("cap_key")))
    if top_song is not None:
        from ..viz.audio import mfcc_heatmap

        y, sr = top_song
        sec.blocks.append(fig_block("mfcc", mfcc_heatmap(y, sr), w("cap_mfcc")))
    return sec


# -- findings ---------------------------------------------------------------------------------------
HITS_EXTRA = ("versions", "version_pairs", "hook_positions", "similar")


def findings_section(cat: Catalog, w: Words) -> Section | None:
    tables = stage_tables(cat, "hits_")
    if not tables:
        return None
    # the hits stage also stores hook positions and version groups under their own names
    tables.update({t: cat.read_frame(t) for t in HITS_EXTRA if cat.has_table(t)})
    sec = Section("findings", w("findings"))
    items: list[str] = []
    used: set[str] = set()
    corr = find_table(tables, {"feature", "rho", "ci_low", "ci_high", "q"})
    forest = None
    if corr:
        name, df = corr
        used.add(name)
        if "target" in df.columns and df["target"].nunique() > 1:  # popularity = use count, when there
            tgt = "user_count" if (df["target"] == "user_count").any() else df["target"].iloc[0]
            df = df[df["target"] == tgt]
        df = df.sort_values(["q", "p"] if "p" in df.columns else ["q"])
        sig = df[df["q"] < 0.05]
        n_col = "n" if "n" in df.columns else None
        if sig.empty:
            items.append(w("corr_none", q=float(df["q"].min()), m=len(df)))
        else:
            items.append(w("corr_count", k=len(sig), m=len(df)))
        for _, r in df.head(5).iterrows():
            items.append(w("corr", feature=r["feature"], rho=float(r["rho"]), lo=float(r["ci_low"]),
                           hi=float(r["ci_high"]), q=float(r["q"]), n=int(r[n_col]) if n_col else len(df)))
        forest = _forest(df.head(12), w)
    r2 = find_table(tables, {"r2"})
    if r2:
        name, df = r2
        used.add(name)
        for _, r in df.head(3).iterrows():
            spread = f" ± {float(r['r2_std']):.2f}" if "r2_std" in df.columns and pd.notna(r["r2_std"]) else ""
            items.append(w("r2", model=r.get("model", "regression"), r2=float(r["r2"]), spread=spread,
                           n=int(r["n"]) if "n" in df.columns and pd.notna(r["n"]) else "?",
                           target=r.get("target", "popularity")))
    auc = find_table(tables, {"auc"})
    if auc:
        name, df = auc
        used.add(name)
        r = df.iloc[0]
        spread = f" ± {float(r['auc_std']):.2f}" if "auc_std" in df.columns and pd.notna(r["auc_std"]) else ""
        items.append(w("auc", auc=float(r["auc"]), spread=spread))
    delta = find_table(tables, {"feature", "cliffs_delta", "q"})
    if delta:
        name, df = delta
        used.add(name)
        for _, r in df.sort_values("q").head(3).iterrows():
            items.append(w("delta", feature=r["feature"], d=float(r["cliffs_delta"]), mag=r.get("magnitude", ""),
                           a=float(r.get("median_chart", np.nan)), b=float(r.get("median_reference", np.nan)),
                           q=float(r["q"])))
    items += _other_stage_findings(cat, w)
    if items:
        sec.blocks.append(Bullets(items))
    if forest is not None:
        sec.blocks.append(forest)
    sec.blocks += generic_tables(tables, used, w)
    return sec


def _other_stage_findings(cat: Catalog, w: Words) -> list[str]:
    out = []
    sweep = find_table(stage_tables(cat, "cluster_"), {"k", "silhouette"})
    chosen = find_table(stage_tables(cat, "cluster_"), {"k", "silhouette", "chosen"})
    if chosen:
        df = chosen[1]
        row = df[df["chosen"].astype(bool)].head(1)
        if not row.empty:
            out.append(w("clusters", k=int(row["k"].iloc[0]), sil=float(row["silhouette"].iloc[0])))
    elif sweep:
        df = sweep[1]
        r = df.loc[df["silhouette"].astype(float).idxmax()]
        out.append(w("clusters", k=int(r["k"]), sil=float(r["silhouette"])))
    ev = find_table(stage_tables(cat, "genre_"), {"model", "accuracy"})
    if ev:
        df = ev[1]
        r = df.loc[df["accuracy"].astype(float).idxmax()]
        spread = f" ± {float(r['accuracy_std']):.1%}" if "accuracy_std" in df.columns and pd.notna(r["accuracy_std"]) else ""
        out.append(w("genre_acc", model=r["model"], acc=float(r["accuracy"]), spread=spread))
    return out


def _forest(df: pd.DataFrame, w: Words) -> Figure | None:
    if df.empty:
        return None
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
    return fig_block("correlations", fig, w("cap_forest"))


# -- stages -------------------------------------------------------------------------------------------
def select_section(cat: Catalog, w: Words) -> Section | None:
    tables = stage_tables(cat, "select_")
    if not tables:
        return None
    sec = Section("select", w("select"))
    used: set[str] = set()
    conv = find_table(tables, {"generation"})
    if conv:
        name, df = conv
        df = _full_run(df)
        best = first_col(df, "best_rate", "best", "max", "best_.*", "fitness_best")
        mean = first_col(df, "mean_rate", "mean", "avg", "mean_.*", "fitness_mean")
        if best:
            used.add(name)
            df = df.sort_values("generation")
            sec.blocks.append(fig_block("ga", vc.ga_convergence(df["generation"], df[best], df[mean] if mean else None,
                                                                ylabel=best.replace("_", " ")), w("cap_ga")))
    feats = find_table(tables, {"feature", "selected"})
    if feats:
        name, df = feats
        used.add(name)
        chosen = df.loc[df["selected"].astype(bool), "feature"].astype(str).tolist()
        sec.blocks.append(Text(", ".join(chosen), strong=w("selected_n", k=len(chosen), m=len(df))))
    base = find_table(tables, {"method", "split", "rate"})
    if base:
        name, df = base
        used.add(name)
        piv = df.pivot_table(index="method", columns="split", values="rate", aggfunc="mean")
        piv = piv.reset_index()
        sec.blocks.append(table_from_frame(piv, caption=w("cap_baselines"), max_rows=20))
    sec.blocks += generic_tables(tables, used, w)
    return sec


def _full_run(df: pd.DataFrame) -> pd.DataFrame:
    """The run on all songs when a table also holds the cross-validation folds (fold -1 by convention)."""
    if "fold" in df.columns and not df.empty:
        return df[df["fold"] == (-1 if (df["fold"] == -1).any() else df["fold"].min())]
    return df


def cluster_section(cat: Catalog, w: Words, settings) -> Section | None:
    tables = stage_tables(cat, "cluster_")
    if not tables:
        return None
    sec = Section("cluster", w("cluster"))
    used: set[str] = set()
    pdf = None
    method = None  # the clustering shown: a label column of the assignments, e.g. 'kmeans'
    assign = find_table(tables, {"pc1", "pc2"})
    if assign:
        name, df = assign
        used.add(name)
        lab = first_col(df, *LABEL_COLS)
        method = lab
        df = df.copy()
        if "title" not in df.columns and "track_id" in df.columns:
            df = df.merge(cat.tracks()[["track_id", "title", "author", "user_count"]], on="track_id", how="left")
        if "clip_index" in df.columns:
            df = df[df["clip_index"] == 0]
        from ..viz import interactive as vi

        static = fig_block("pca", vc.pca_scatter(df["pc1"], df["pc2"], df[lab] if lab else None,
                                                 names=df.get("title"), annotate=8), w("cap_pca"))
        pdf = df.rename(columns={lab: "cluster"}) if lab else df
        fig = vi.pca_scatter(pdf, color="cluster" if lab else None)
        sec.blocks.append(Plotly(vi.to_div(fig, div_id="pca-scatter"), w("cap_pca"), fallback=static))
    sweep = find_table(tables, {"k", "silhouette"})
    if sweep:
        name, df = sweep
        used.add(name)
        metrics = [m for m in ("silhouette", "calinski_harabasz", "davies_bouldin", "inertia") if m in df.columns]
        group = first_col(df, "algorithm", "model", "method")
        chosen = None
        if "chosen" in df.columns and df["chosen"].astype(bool).any():
            chosen = int(df.loc[df["chosen"].astype(bool), "k"].iloc[0])
        sec.blocks.append(fig_block("k_metrics", vc.metric_curves(df, metrics, group_col=group, chosen_k=chosen),
                                    w("cap_metrics"), wide=True))
    sweep_fig = k_sweep_figure(cat, settings)
    if sweep_fig is not None:
        sec.blocks.append(fig_block("k_sweep", sweep_fig, w("cap_sweep") + f" ({w('computed_here')})", wide=True))
    desc = find_table(tables, {"description_en"})
    members = find_table({k: v for k, v in tables.items() if k not in used and k != (desc or ("",))[0]}, {"title"})
    if members is None and assign is not None:  # members straight from the assignments
        members = (assign[0], pdf)
    if desc:
        name, ddf = desc
        used.add(name)
        ddf = _one_method(ddf, method)
        lab = first_col(ddf, "cluster", "label", "cluster_id") or ddf.columns[0]
        col = "description_zh" if w.lang == "zh" and "description_zh" in ddf.columns else "description_en"
        mdf = _one_method(members[1], method) if members else None
        if members:
            used.add(members[0])
        mlab = first_col(mdf, "cluster", "label", "cluster_id") if mdf is not None else None
        for _, r in ddf.sort_values(lab).iterrows():
            who = mdf[mdf[mlab].astype(str) == str(r[lab])] if mdf is not None and mlab else pd.DataFrame()
            size = first_col(ddf, "n", "size", "n_songs")
            n = int(r[size]) if size and pd.notna(r.get(size)) else len(who)
            sec.blocks.append(Text(str(r[col]), strong=w("cluster_n", c=r[lab], n=n)))
            if not who.empty:
                who = who.drop_duplicates("track_id") if "track_id" in who.columns else who
                cols = [c for c in ("title", "author", "user_count") if c in who.columns]
                sec.blocks.append(table_from_frame(who.sort_values("user_count", ascending=False) if "user_count" in who.columns else who,
                                                   columns=cols, max_rows=5,
                                                   headers={"title": w("song"), "author": w("author"),
                                                            "user_count": w("user_count")},
                                                   more_note=w("more_rows", n=len(who) - 5, t=members[0])))
    sec.blocks += generic_tables(tables, used, w)
    return sec


LABEL_COLS = ("cluster", "label", "labels", "cluster_id", "kmeans", "minibatch", "hdbscan")


def _one_method(df: pd.DataFrame, method: str | None) -> pd.DataFrame:
    """Rows of one clustering method when a table holds several (a ``method`` column)."""
    if df is None or "method" not in df.columns or df.empty:
        return df
    keep = df["method"].astype(str) == str(method) if method in set(df["method"].astype(str)) else \
        df["method"] == df["method"].iloc[0]
    return df[keep]


def k_sweep_figure(cat: Catalog, settings):
    """KMeans and MiniBatchKMeans for k_min..k_max, drawn on PCA (the seed's panels)."""
    feats = cat.read_frame("features")
    if feats.empty:
        return None
    from ..features.extract import descriptor_columns
    from ..features.stats42 import STAT42_NAMES

    # the study's 42 when stored, else every numeric descriptor (the categorical key is no axis)
    cols = [c for c in STAT42_NAMES if c in feats.columns] or descriptor_columns(feats, "numeric")
    if "clip_index" in feats.columns:
        feats = feats[feats["clip_index"] == 0]
    feats = feats.drop_duplicates("track_id")
    x = feats[cols].to_numpy(float)
    x = x[:, np.isfinite(x).all(axis=0) & (np.nanstd(x, axis=0) > 0)]
    ks = [k for k in range(settings.k_min, settings.k_max + 1) if k < len(x)]
    if not ks or x.shape[1] < 2:
        return None
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(x)
    xy = PCA(n_components=2, random_state=settings.seed).fit_transform(z)
    panels = {}
    for algo, cls in (("KMeans", KMeans), ("MiniBatchKMeans", MiniBatchKMeans)):
        panels[algo] = {k: cls(n_clusters=k, random_state=settings.seed, n_init=4).fit_predict(z) for k in ks}
    from ..viz.common import PALETTE, new_figure

    fig, axes = new_figure(1.9 * len(ks), 4.2, nrows=2, ncols=len(ks), sharex=True, sharey=True)
    axes = np.atleast_2d(axes)
    for row, algo in enumerate(panels):
        for col, k in enumerate(ks):
            a = axes[row, col]
            lab = panels[algo][k]
            a.scatter(xy[:, 0], xy[:, 1], s=7, c=[PALETTE[i % len(PALETTE)] for i in lab], linewidth=0)
            a.set_title(f"k={k}", fontsize=8, loc="left")
            a.tick_params(labelsize=6)
        axes[row, 0].set_ylabel(algo, fontsize=8)
    return fig


def genre_section(cat: Catalog, w: Words) -> Section | None:
    tables = stage_tables(cat, "genre_")
    if not tables:
        return None
    sec = Section("genre", w("genre"))
    used: set[str] = set()
    conf = _confusion(tables, _best_model(tables))
    if conf is not None:
        name, matrix, labels = conf
        used.add(name)
        sec.blocks.append(fig_block("confusion", vc.confusion_matrix(matrix, labels), w("cap_confusion")))
    pred = find_table(tables, {"track_id", "label"}) or find_table(tables, {"track_id"})
    if pred:
        name, df = pred
        lab = first_col(df, "label", "top_label", "predicted", "prediction", "genre", "style")
        if lab:
            used.add(name)
            sec.blocks.append(fig_block("genre_dist", vc.distribution_bars(df[lab].astype(str).value_counts()),
                                        w("cap_genre_dist")))
            view = df.merge(cat.tracks()[["track_id", "title", "author"]], on="track_id", how="left") \
                if "title" not in df.columns else df
            cols = ["rank", "title", lab, "confidence", "margin", "model"]
            sec.blocks.append(table_from_frame(view, columns=cols, max_rows=12, caption=f"{w('from_table')} {name}",
                                               more_note=w("more_rows", n=len(view) - 12, t=name)))
    sec.blocks += generic_tables(tables, used, w)
    return sec


def _best_model(tables: dict[str, pd.DataFrame]) -> str | None:
    ev = find_table(tables, {"model", "accuracy"})
    if not ev:
        return None
    df = ev[1]
    return str(df.loc[df["accuracy"].astype(float).idxmax(), "model"])


def _confusion(tables: dict[str, pd.DataFrame], model: str | None = None) -> tuple[str, np.ndarray, list[str]] | None:
    for name, df in tables.items():
        if "confusion" not in name or df.empty:
            continue
        t = first_col(df, "true", "true_label", "actual", "y_true")
        p = first_col(df, "pred", "predicted", "pred_label", "y_pred")
        c = first_col(df, "count", "n", "value")
        if t and p:
            if "dataset" in df.columns:
                df = df[df["dataset"] == df["dataset"].iloc[0]]
            if "model" in df.columns:
                df = df[df["model"].astype(str) == (model if model in set(df["model"].astype(str)) else str(df["model"].iloc[0]))]
            m = df.pivot_table(index=t, columns=p, values=c, aggfunc="sum", fill_value=0) if c else \
                pd.crosstab(df[t], df[p])
            labels = sorted(set(m.index) | set(m.columns), key=str)
            m = m.reindex(index=labels, columns=labels, fill_value=0)
            return name, m.to_numpy(float), [str(x) for x in labels]
        num = df.select_dtypes("number")
        if num.shape[0] == num.shape[1] and num.shape[0] > 0:
            labels = df.iloc[:, 0].astype(str).tolist() if df.shape[1] == num.shape[1] + 1 else list(num.columns)
            return name, num.to_numpy(float), labels
    return None


def midi_section(cat: Catalog, w: Words, data_dir: Path, max_songs: int = 4) -> Section | None:
    tables = stage_tables(cat, "midi_")
    if not tables:
        return None
    sec = Section("midi", w("midi"))
    used: set[str] = set()
    for name, df in tables.items():
        path_cols = [c for c in df.columns if _texty(df[c]) and df[c].astype(str).str.contains(
            r"\.(?:npy|wav|mp3|ogg|flac|mid|midi)$", regex=True).any()]
        if not path_cols:
            continue
        used.add(name)
        view = df.merge(cat.tracks()[["track_id", "title"]], on="track_id", how="left") \
            if "track_id" in df.columns and "title" not in df.columns else df
        shown_cols = [c for c in view.columns if c not in path_cols and c not in ("cache_key", "created_at")][:10]
        sec.blocks.append(table_from_frame(view, columns=shown_cols, max_rows=12, caption=f"{w('from_table')} {name}",
                                           more_note=w("more_rows", n=len(view) - 12, t=name)))
        for i, (_, r) in enumerate(view.head(max_songs).iterrows()):
            label = str(r.get("title") if isinstance(r.get("title"), str) else r.get("track_id", f"{name} {i}"))
            players, ssms = [], []
            for c in path_cols:
                p = _resolve(data_dir, r[c])
                if p is None:
                    continue
                kind = c.removesuffix("_path").replace("_", " ")
                if p.suffix == ".npy":
                    try:
                        ssms.append((kind.removeprefix("ssm "), np.load(p, allow_pickle=False)))
                    except (OSError, ValueError) as exc:
                        sec.blocks.append(Text(f"{p.name}: {exc}"))
                elif p.suffix in (".mid", ".midi"):
                    src = _render_midi(p)
                    if src:
                        players.append({"label": f"{kind} (FluidSynth)", "src": src})
                else:
                    src = _embed_audio(p)
                    if src:
                        players.append({"label": kind, "src": src})
            if players:
                sec.blocks.append(Audio(players, caption=label))
            if ssms:
                sec.blocks.append(fig_block(f"ssm_{name}_{i}", _ssm_row(ssms, label), w("cap_ssm"), wide=True))
    sec.blocks += generic_tables(tables, used, w)
    return sec


def _ssm_row(ssms: list[tuple[str, np.ndarray]], label: str):
    from ..viz.audio import self_similarity
    from ..viz.common import new_figure, title

    fig, axes = new_figure(3.3 * len(ssms), 3.3, ncols=len(ssms))
    for a, (kind, m) in zip(np.atleast_1d(axes), ssms, strict=False):
        self_similarity(matrix=m, ax=a, title_text=kind)
    fig.suptitle(title(label), x=0.01, ha="left", fontsize=10.5, fontweight="bold")
    return fig


def _render_midi(path: Path, max_s: float = 30.0) -> str | None:
    """A transcribed or composed .mid rendered through the General MIDI SoundFont, embedded as Opus."""
    from ..synth import render_midi
    from .media import data_uri, encode_opus

    try:
        y = render_midi(path, sr=16000, stereo=False)[: int(max_s * 16000)]
        return data_uri(encode_opus(y, 16000), "audio/ogg") if y.size else None
    except Exception:  # a MIDI file FluidSynth cannot play costs its player only
        return None


def _resolve(data_dir: Path, value: object) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    p = Path(value)
    p = p if p.is_absolute() else data_dir / p
    return p if p.is_file() else None


def _embed_audio(path: Path, max_s: float = 30.0) -> str | None:
    """Decode any audio file and embed it as Opus (rendered WAVs are large; Opus keeps the page small)."""
    from ..audio.decode import load
    from ..errors import BgmscopeError
    from .media import data_uri, encode_opus

    try:
        y, sr = load(path, sr=16000, duration=max_s)
        return data_uri(encode_opus(y, sr), "audio/ogg")
    except (BgmscopeError, OSError, ValueError):
        return None


def current_failures(cat: Catalog) -> pd.DataFrame:
    """Failures still standing: those of the latest run of each (stage, parameters). An item that
    failed once and succeeded in a later run of the same stage is no longer a problem."""
    if not (cat.has_table("runs") and cat.has_table("failures")):
        return pd.DataFrame(columns=["run_id", "stage", "item", "reason", "failed_at"])
    return cat.query("""
        WITH latest AS (SELECT arg_max(run_id, started_at) AS run_id FROM runs GROUP BY stage, params)
        SELECT f.* FROM failures f JOIN latest USING (run_id) ORDER BY f.failed_at""")


def failures_section(cat: Catalog, w: Words, limit: int = 20) -> Section | None:
    f = current_failures(cat)
    if f.empty:
        return None
    sec = Section("failures", w("failures"))
    f = f.sort_values("failed_at", ascending=False)
    sec.blocks.append(table_from_frame(f, columns=["stage", "item", "reason"], max_rows=limit,
                                       more_note=w("more_rows", n=len(f) - limit, t="failures")))
    return sec


SectionBuilder = Callable[..., Section | None]
