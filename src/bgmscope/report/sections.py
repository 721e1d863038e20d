"""Build each report section from whatever the catalog holds.

A section whose stage has not stored its tables is left out and named in a one-line note. Tables
of other stages are read by their documented columns (pc1/pc2, description_en, ...). The main
flow names songs by title and shows no ids or digests; every table a stage stored is in the
appendix (``appendix.py``) and beside the report as CSV, so nothing is hidden. Figures go through
the content-hash cache (``evidence.FigureCache``) and are drawn in the report's language.
"""

from __future__ import annotations

import hashlib
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
    Card,
    Cards,
    Figure,
    Plotly,
    Section,
    Stats,
    Text,
    fmt,
    table_from_frame,
)
from .i18n import Words

FIG_DPI = 90


def fig_block(name: str, fig, caption: str = "", wide: bool = False) -> Figure:
    return Figure(name=name, png=png_bytes(fig, dpi=FIG_DPI), caption=caption, wide=wide)


def frame_key(df: pd.DataFrame) -> tuple:
    """A frame as plain data, the figure cache's key for a figure drawn from it."""
    return (tuple(map(str, df.columns)), df.to_numpy(dtype=object).tolist())


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


def generic_tables(tables: dict[str, pd.DataFrame], used: set[str], w: Words) -> list[Text]:
    """The stage's other tables are not dumped here: one line points to them in the appendix."""
    rest = [name for name, df in tables.items() if name not in used and not df.empty]
    return [Text(", ".join(rest), strong=w("in_appendix"))] if rest else []


# columns that hold ids, digests or file paths: the appendix shows them, the main flow never does
ID_COLUMNS = {"track_id", "clip_id", "music_id", "audio_sha256", "sha256", "group_id", "best_match", "run_id",
              "cache_key", "track_a", "track_b", "path", "item", "created_at"}


def no_ids(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c not in ID_COLUMNS and not str(c).endswith("_path")]]


def _texty(col: pd.Series) -> bool:
    """A text column (object dtype, or pandas' string dtype that pandas 3 uses by default)."""
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _clip_text(s: str, n: int = 160) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# -- corpus ---------------------------------------------------------------------------------------
def summary_section(cat: Catalog, w: Words, songs: pd.DataFrame, fc) -> Section:
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
        names, counts = top["title"].fillna("").tolist(), top["user_count"].astype(float).tolist()
        sec.blocks.append(fc.figure("popularity", (names, counts), lambda: vc.popularity_bars(
            names, counts, xlabel="videos"), w("cap_pop"), wide=True))
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
        table = table_from_frame(view, caption=w("chart_table"), columns=cols, headers=heads, max_rows=len(view))
        table.sortable = True
        sec.blocks.append(table)
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


def features_section(cat: Catalog, w: Words, fc, top_song: tuple[str, np.ndarray, int] | None) -> Section | None:
    """The 42 statistics across songs and the top song's MFCC (tempo, key and ZCR are evidence
    under the conclusions)."""
    from .evidence import first_clip_features

    sec = Section("features", w("features"))
    first = first_clip_features(cat)
    if not first.empty:
        from ..features.stats42 import STAT42_NAMES

        cols = [c for c in STAT42_NAMES if c in first.columns]
        if cols and len(first) >= 2:
            d = first[cols]
            names = first["title"].fillna("").tolist()
            sec.blocks.append(fc.figure("features42", (frame_key(d), names), lambda: vc.feature_heatmap(d, names),
                                        w("cap_heat"), wide=True))
    if top_song is not None:
        from ..viz.audio import mfcc_heatmap

        key, y, sr = top_song
        sec.blocks.append(fc.figure("mfcc", key, lambda: mfcc_heatmap(y, sr), w("cap_mfcc")))
    return sec if sec.blocks else None


# -- stages -------------------------------------------------------------------------------------------
def select_section(cat: Catalog, w: Words, fc) -> Section | None:
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
            d = df[["generation", best] + ([mean] if mean else [])]
            sec.blocks.append(fc.figure("ga", frame_key(d), lambda: vc.ga_convergence(
                d["generation"], d[best], d[mean] if mean else None, ylabel=best.replace("_", " ")), w("e_ga")))
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


def cluster_section(cat: Catalog, w: Words, figs: dict[str, Figure]) -> Section | None:
    """The interactive PCA scatter and each cluster in words with its most used songs (the static
    scatter, k panels and metric curves are evidence under the conclusions)."""
    tables = stage_tables(cat, "cluster_")
    if not tables:
        return None
    sec = Section("cluster", w("cluster"))
    used: set[str] = {"cluster_sweep", "cluster_k_labels", "cluster_pca"}
    method = None  # the clustering shown: a label column of the assignments, e.g. 'kmeans'
    assign = find_table(tables, {"pc1", "pc2"})
    pdf = None
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

        pdf = df.rename(columns={lab: "cluster"}) if lab else df
        fig = vi.pca_scatter(pdf, color="cluster" if lab else None)
        sec.blocks.append(Plotly(vi.to_div(fig, div_id="pca-scatter"), w("cap_pca"), fallback=figs.get("pca")))
    desc = find_table(tables, {"description_en"})
    members = find_table({k: v for k, v in tables.items() if k not in used and k != (desc or ("",))[0]}, {"title"})
    if members is None and pdf is not None:  # members straight from the assignments
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
    if "k_sweep" not in figs:
        sec.blocks.append(Text(w("k_panel_missing")))
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


def k_sweep_figure(cat: Catalog):
    """The seed's KMeans / MiniBatchKMeans panels per k, from the cluster stage's stored labels
    (``cluster_k_labels``) on its stored coordinates (``cluster_assignments.pc1/pc2``); None when
    the stage has not stored them. Nothing is refitted here."""
    kl = cat.read_frame("cluster_k_labels")
    assign = cat.read_frame("cluster_assignments")
    if kl.empty or assign.empty or not {"algorithm", "k", "track_id", "label"} <= set(kl.columns):
        return None
    if "clip_index" in assign.columns:
        assign = assign[assign["clip_index"] == 0]
    assign = assign.drop_duplicates("track_id")
    order = assign["track_id"].astype(str).tolist()
    labels = {}
    for (algo, k), g in kl.groupby(["algorithm", "k"]):
        m = dict(zip(g["track_id"].astype(str), g["label"], strict=False))
        labels[(str(algo), int(k))] = [m.get(t, -1) for t in order]
    return vc.k_sweep_grid(assign[["pc1", "pc2"]].to_numpy(float), labels)


def genre_section(cat: Catalog, w: Words, fc) -> Section | None:
    tables = stage_tables(cat, "genre_")
    if not tables:
        return None
    sec = Section("genre", w("genre"))
    used: set[str] = set()
    conf = _confusion(tables, _best_model(tables))
    if conf is not None:
        name, matrix, labels = conf
        used.add(name)
        sec.blocks.append(fc.figure("confusion", (matrix.tolist(), labels), lambda: vc.confusion_matrix(matrix, labels),
                                    w("cap_confusion")))
    pred = find_table(tables, {"track_id", "label"}) or find_table(tables, {"track_id"})
    if pred:
        name, df = pred
        lab = first_col(df, "label", "top_label", "predicted", "prediction", "genre", "style")
        if lab:
            used.add(name)
            view = df.merge(cat.tracks()[["track_id", "title", "author"]], on="track_id", how="left") \
                if "title" not in df.columns else df
            cols = ["rank", "title", lab, "confidence", "margin", "model"]
            t = table_from_frame(view, columns=cols, max_rows=len(view), caption=f"{w('from_table')} {name}")
            t.sortable = True
            sec.blocks.append(t)
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


def midi_section(cat: Catalog, w: Words, data_dir: Path, fc, media_dir: Path | None = None,
                 max_songs: int = 4) -> Section | None:
    """Per-song transcription table, players (linked Opus files under ``media_dir`` beside the report,
    so the page carries audio for the song cards only) and the stored SSMs."""
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
        shown = no_ids(view.drop(columns=path_cols))
        shown = shown[["title"] + [c for c in shown.columns if c != "title"]] if "title" in shown.columns else shown
        sec.blocks.append(table_from_frame(shown, columns=list(shown.columns)[:10], max_rows=12,
                                           caption=f"{w('from_table')} {name}",
                                           more_note=w("more_rows", n=len(view) - 12, t=name)))
        for i, (_, r) in enumerate(view.head(max_songs).iterrows()):
            label = str(r.get("title")) if isinstance(r.get("title"), str) else f"{name} {i + 1}"
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
                    src = _cached_audio(fc, p, _render_midi, media_dir)
                    if src:
                        players.append({"label": f"{kind} (FluidSynth)", "src": src})
                else:
                    src = _cached_audio(fc, p, _embed_audio, media_dir)
                    if src:
                        players.append({"label": kind, "src": src})
            if players:
                sec.blocks.append(Audio(players, caption=label))
            if ssms:
                key = [(k, m.shape, hashlib.sha256(np.ascontiguousarray(m).tobytes()).hexdigest()) for k, m in ssms]
                sec.blocks.append(fc.figure(f"ssm_{name}_{i}", (key, label), lambda ssms=ssms, label=label: _ssm_row(
                    ssms, label), w("cap_ssm"), wide=True))
    sec.blocks += generic_tables(tables, used, w)
    return sec


def _cached_audio(fc, path: Path, make, media_dir: Path | None = None) -> str | None:
    """A player's source: Opus made by ``make`` once per file content (cached beside the figures),
    written to ``media_dir`` and linked (``media/<digest>.ogg``), or embedded when no folder is given."""
    from ..fsutil import atomic_write_bytes
    from .media import data_uri

    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    name = f"{make.__name__.strip('_')}-{digest[:16]}.ogg"
    cached = fc.root / "audio" / name if fc.root else None
    ogg = cached.read_bytes() if cached is not None and cached.is_file() else make(path)
    if not ogg:
        return None
    if cached is not None and not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, ogg)
    if media_dir is None:
        return data_uri(ogg, "audio/ogg")
    out = media_dir / name
    if not out.is_file() or out.stat().st_size != len(ogg):
        media_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, ogg)
    return f"{media_dir.name}/{name}"


def _ssm_row(ssms: list[tuple[str, np.ndarray]], label: str):
    from ..viz.audio import self_similarity
    from ..viz.common import new_figure, title

    fig, axes = new_figure(3.3 * len(ssms), 3.3, ncols=len(ssms))
    for a, (kind, m) in zip(np.atleast_1d(axes), ssms, strict=False):
        self_similarity(matrix=m, ax=a, title_text=kind)
    fig.suptitle(title(label), x=0.01, ha="left", fontsize=10.5, fontweight="bold")
    return fig


def _render_midi(path: Path, max_s: float = 30.0) -> bytes | None:
    """A transcribed or composed .mid rendered through the General MIDI SoundFont, as Opus."""
    from ..synth import render_midi
    from .media import encode_opus

    try:
        y = render_midi(path, sr=16000, stereo=False)[: int(max_s * 16000)]
        return encode_opus(y, 16000) if y.size else None
    except Exception:  # a MIDI file FluidSynth cannot play costs its player only
        return None


def _resolve(data_dir: Path, value: object) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    p = Path(value)
    p = p if p.is_absolute() else data_dir / p
    return p if p.is_file() else None


def _embed_audio(path: Path, max_s: float = 30.0) -> bytes | None:
    """Decode any audio file as Opus for embedding (rendered WAVs are large; Opus keeps the page small)."""
    from ..audio.decode import load
    from ..errors import BgmscopeError
    from .media import encode_opus

    try:
        y, sr = load(path, sr=16000, duration=max_s)
        return encode_opus(y, sr)
    except (BgmscopeError, OSError, ValueError):
        return None


def current_failures(cat: Catalog) -> pd.DataFrame:
    """Failures still standing: those of the latest run of each stage (per parameter set: a run with
    other parameters, e.g. another clip kind, is another job). An item that failed once and
    succeeded in a later run of the same stage is no longer a problem."""
    if not (cat.has_table("runs") and cat.has_table("failures")):
        return pd.DataFrame(columns=["run_id", "stage", "item", "reason", "failed_at"])
    return cat.query("""
        WITH latest AS (SELECT arg_max(run_id, started_at) AS run_id FROM runs GROUP BY stage, params)
        SELECT f.* FROM failures f JOIN latest USING (run_id) ORDER BY f.failed_at""")


def resolved_failures(cat: Catalog) -> int:
    """Items that failed in an earlier run of a stage and not in its latest run (same parameters)."""
    if not (cat.has_table("runs") and cat.has_table("failures")):
        return 0
    return int(cat.query("""
        WITH latest AS (SELECT stage, params, arg_max(run_id, started_at) AS run_id FROM runs GROUP BY stage, params),
        old AS (SELECT DISTINCT r.stage, r.params, f.item FROM failures f JOIN runs r USING (run_id)
                WHERE f.run_id NOT IN (SELECT run_id FROM latest)),
        now AS (SELECT DISTINCT l.stage, l.params, f.item FROM failures f JOIN latest l USING (run_id))
        SELECT count(*) AS n FROM old o WHERE NOT EXISTS (
            SELECT 1 FROM now n WHERE n.stage = o.stage AND n.params = o.params AND n.item = o.item)
        """)["n"].iloc[0])


def _item_names(cat: Catalog) -> dict[str, str]:
    """A failure's item (a track id, an audio digest or a clip id) as the song's title."""
    t = cat.tracks()
    names = {str(k): str(v) for k, v in zip(t["track_id"], t["title"], strict=False) if isinstance(v, str) and v}
    af = cat.audio_files(status=None)
    if not af.empty and "sha256" in af.columns and "track_id" in af.columns:
        names.update({str(d): names.get(str(tid), Path(str(p)).name) for d, tid, p in
                      zip(af["sha256"], af["track_id"], af["path"], strict=False) if isinstance(d, str)})
    return names


def failures_section(cat: Catalog, w: Words, limit: int = 20) -> Section | None:
    f = current_failures(cat)
    resolved = resolved_failures(cat)
    if f.empty and not resolved:
        return None
    sec = Section("failures", w("failures"))
    if not f.empty:
        names = _item_names(cat)
        f = f.sort_values("failed_at", ascending=False).copy()
        f["what"] = [_named(str(i), names) for i in f["item"]]
        f["reason"] = [_named(str(r), names) for r in f["reason"]]
        sec.blocks.append(table_from_frame(f, columns=["stage", "what", "reason"], max_rows=limit,
                                           headers={"what": w("song")},
                                           more_note=w("more_rows", n=len(f) - limit, t="failures")))
    if resolved:
        sec.blocks.append(Text(w("fail_resolved", n=resolved)))
    return sec


def _named(text: str, names: dict[str, str]) -> str:
    """A failure's item or reason with every song id or digest in it replaced by the song's title
    (a path by its file name first); an id of no known song is shortened."""
    if text in names:
        return names[text]
    text = re.sub(r"(?:/[^\s'\"]+)+/([^/\s'\"]+)", r"\1", text)  # absolute paths: the file name
    text = re.sub(r"\b(\d{15,}|[0-9a-f]{32,})\b", lambda m: names.get(m.group(1), m.group(1)[:8] + "…"), text)
    return text


SectionBuilder = Callable[..., Section | None]
