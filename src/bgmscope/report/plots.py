"""``bgmscope plot KIND [SONG...]``: every figure of the study, drawn from the catalog.

Per-song kinds draw one figure per song (the chart's top song when none is named); corpus kinds
draw one figure from the stage tables. A song that cannot be found or decoded is reported and
the others are still drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..errors import BgmscopeError, ParameterError
from ..viz import audio as va
from ..viz import corpus as vc
from ..viz.common import FORMATS, save_figure

SONG, CORPUS = "per song", "corpus"
KINDS: dict[str, tuple[str, str]] = {
    "waveform": (SONG, "amplitude over time, both channels when the source is stereo"),
    "spectrogram": (SONG, "log-frequency spectrogram in dB"),
    "pitch": (SONG, "f0 contour (Hz) and relative pitch curve (semitones)"),
    "centroid": (SONG, "spectral centroid over the waveform"),
    "mfcc": (SONG, "MFCC heatmap"),
    "ssm": (SONG, "self-similarity matrix (the transcription's when stored, else chroma)"),
    "card": (SONG, "the report's song panel: waveform + centroid, spectrogram, pitch"),
    "zcr": (CORPUS, "zero-crossing counts across songs (top 9, or the songs named)"),
    "features": (CORPUS, "songs x the 42 statistics heatmap (z-scored)"),
    "pca": (CORPUS, "PCA scatter coloured by cluster (--html: hover shows title, author, use count)"),
    "ksweep": (CORPUS, "the cluster stage's stored KMeans and MiniBatchKMeans labels per k (cluster_k_labels), on PCA"),
    "metrics": (CORPUS, "silhouette / Calinski-Harabasz / Davies-Bouldin against k"),
    "ga": (CORPUS, "genetic feature selection convergence"),
    "confusion": (CORPUS, "genre classifier confusion matrix"),
    "genres": (CORPUS, "the chart's predicted genre distribution"),
    "tempo": (CORPUS, "tempo distribution"),
    "key": (CORPUS, "key distribution"),
    "popularity": (CORPUS, "use count of the chart's top songs"),
}


@dataclass
class PlotResult:
    paths: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def resolve_songs(clips: pd.DataFrame, queries: list[str]) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Rows of ``clips`` (one per song) matching each query: track id, music id, rank or title part."""
    rows, missing = [], []
    for q in queries:
        m = (clips["track_id"].astype(str) == q)
        if "music_id" in clips.columns:
            m |= clips["music_id"].astype(str) == q
        if q.isdigit():
            m |= clips["rank"].astype("Int64").astype(str) == q
        if not m.any():
            m = clips["title"].astype(str).str.contains(q, case=False, regex=False, na=False)
        if m.any():
            rows.append(clips[m].head(1))
        else:
            missing.append((q, "no song matches (give a track id, music id, chart rank or part of a title)"))
    return (pd.concat(rows).drop_duplicates("track_id") if rows else clips.head(0)), missing


def _song_clips(cat: Catalog) -> pd.DataFrame:
    from .builder import _song_clips as song_clips

    return song_clips(cat)


def _stem(out_dir: Path, kind: str, row) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(row.track_id))  # file names come from ids, never titles
    return out_dir / f"{kind}_{safe}"


def make_plots(cat: Catalog, settings: Settings, kind: str, songs: list[str], *, out_dir: Path | None = None,
               formats: tuple[str, ...] = FORMATS, interactive: bool = False) -> PlotResult:
    if kind not in KINDS:
        raise ParameterError(f"unknown plot kind {kind!r}; kinds: {', '.join(KINDS)}")
    out_dir = Path(out_dir or settings.report_dir / "figures")
    res = PlotResult()
    if KINDS[kind][0] == SONG:
        clips = _song_clips(cat)
        if clips.empty:
            raise BgmscopeError("no clips in the catalog: run 'bgmscope prepare' first")
        chosen, res.failures = resolve_songs(clips, songs) if songs else (clips.head(1), [])
        for row in chosen.itertuples():
            try:
                fig = _song_figure(cat, settings, kind, row)
                res.paths += save_figure(fig, _stem(out_dir, kind, row), formats)
            except (BgmscopeError, OSError, ValueError) as exc:
                res.failures.append((str(row.track_id), f"{type(exc).__name__}: {exc}"))
        return res
    fig, extra = _corpus_figure(cat, settings, kind, songs, interactive)
    res.paths += save_figure(fig, out_dir / kind, formats)
    if extra is not None:
        from ..viz.interactive import write_html

        res.paths.append(write_html(extra, out_dir / f"{kind}.html"))
    return res


def _song_figure(cat: Catalog, settings: Settings, kind: str, row):
    from ..prepare.clips import load_clip

    title = f"{row.title}" + (f" — {row.author}" if isinstance(row.author, str) and row.author else "")
    if kind == "waveform":  # from the source file, so a stereo song shows both channels
        af = cat.audio_files()
        src = af[af["sha256"] == row.audio_sha256]
        if not src.empty:
            from ..audio.decode import load

            y, sr = load(src["path"].iloc[0], sr=settings.sample_rate, offset=float(row.offset_s or 0),
                         duration=float(row.length_s or settings.clip_length_s), mono=False)
            return va.waveform(y, sr, title_text=title)
    y, sr = load_clip(settings.data_dir, row.path)
    drawers = {"waveform": va.waveform, "spectrogram": va.spectrogram, "pitch": va.pitch,
               "centroid": va.centroid_over_waveform, "mfcc": va.mfcc_heatmap, "card": va.song_card}
    if kind in drawers:
        return drawers[kind](y, sr, title_text=title)
    if kind == "ssm":
        from .evidence import stored_ssm

        m = stored_ssm(cat, settings, row.track_id)
        return va.self_similarity(matrix=m, title_text=title) if m is not None else va.self_similarity(y, sr, title_text=title)
    raise ParameterError(kind)


def _corpus_figure(cat: Catalog, settings: Settings, kind: str, songs: list[str], interactive: bool):
    from . import sections as S

    need = lambda what, stage: BgmscopeError(f"no {what} in the catalog: run 'bgmscope {stage}' first")  # noqa: E731
    if kind in ("zcr", "tempo", "key"):
        from .songs import SongTask, add_stored_facts, song_job

        clips = _song_clips(cat)
        if clips.empty:
            raise need("clips", "prepare")
        chosen = resolve_songs(clips, songs)[0] if songs else clips.head(9 if kind == "zcr" else len(clips))
        rows = [song_job(SongTask(r.clip_id, r.track_id, str(settings.data_dir), r.path, str(r.title), False))
                for r in chosen.itertuples()]
        add_stored_facts({r["clip_id"]: r for r in rows}, cat.read_frame("features"))
        df = pd.DataFrame(rows).assign(title=chosen["title"].to_numpy())
        if kind == "zcr":
            return vc.zcr_bars(df["title"].tolist(), df["zero_crossings"].tolist(), title_text="zero crossings"), None
        if kind == "tempo":
            return vc.histogram(df["tempo_bpm"], bins=np.arange(40, 241, 10), xlabel="BPM", title_text="tempo"), None
        return vc.distribution_bars(df.loc[df["key"] != "", "key"].value_counts(), title_text="key"), None
    if kind == "popularity":
        t = cat.tracks().dropna(subset=["user_count"]).sort_values("user_count", ascending=False).head(15)
        if t.empty:
            raise need("chart rows", "ingest")
        return vc.popularity_bars(t["title"].fillna(t["track_id"]).tolist(), t["user_count"].tolist()), None
    if kind == "features":
        feats = cat.read_frame("features")
        if feats.empty:
            raise need("features table", "features")
        try:
            from ..features.stats42 import STAT42_NAMES
        except ImportError:
            STAT42_NAMES = [c for c in feats.columns if re.fullmatch(r"(amp\d+d?(mean|std|skew|kurt)|power\d+)", c)]
        if not any(c in feats.columns for c in STAT42_NAMES):
            raise BgmscopeError("the features table lacks the 42 statistics (amp1mean … power10)")
        f = feats[feats["clip_index"] == 0].drop_duplicates("track_id") if "clip_index" in feats.columns else feats
        f = cat.tracks()[["track_id", "title"]].merge(f, on="track_id")
        return vc.feature_heatmap(f[[c for c in STAT42_NAMES if c in f.columns]], f["title"].tolist(),
                                  title_text="42 statistics"), None
    if kind == "ksweep":
        fig = S.k_sweep_figure(cat)
        if fig is None:
            raise need("per-k cluster labels (cluster_k_labels)", "cluster")
        return fig, None
    if kind == "pca":
        hit = S.find_table(S.stage_tables(cat, "cluster_"), {"pc1", "pc2"})
        if not hit:
            raise need("cluster assignments (pc1, pc2)", "cluster")
        df = hit[1]
        if "title" not in df.columns and "track_id" in df.columns:
            df = df.merge(cat.tracks()[["track_id", "title", "author", "user_count"]], on="track_id", how="left")
        lab = S.first_col(df, "cluster", "label", "labels", "cluster_id")
        fig = vc.pca_scatter(df["pc1"], df["pc2"], df[lab] if lab else None, names=df.get("title"), annotate=8,
                             title_text="PCA")
        extra = None
        if interactive:
            from ..viz.interactive import pca_scatter

            extra = pca_scatter(df.rename(columns={lab: "cluster"}) if lab else df, color="cluster" if lab else None,
                                title_text="PCA")
        return fig, extra
    if kind == "metrics":
        hit = S.find_table(S.stage_tables(cat, "cluster_"), {"k", "silhouette"})
        if not hit:
            raise need("cluster sweep (k, silhouette)", "cluster")
        df = hit[1]
        metrics = [m for m in ("silhouette", "calinski_harabasz", "davies_bouldin", "inertia") if m in df.columns]
        return vc.metric_curves(df, metrics, group_col=S.first_col(df, "algorithm", "model", "method")), None
    if kind == "ga":
        hit = S.find_table(S.stage_tables(cat, "select_"), {"generation"})
        if not hit:
            raise need("GA convergence table", "select")
        df = hit[1].sort_values("generation")
        best = S.first_col(df, "best", "max", "best_.*", "fitness_best")
        mean = S.first_col(df, "mean", "avg", "mean_.*", "fitness_mean")
        if best is None:
            raise BgmscopeError(f"{hit[0]} has no 'best' column")
        return vc.ga_convergence(df["generation"], df[best], df[mean] if mean else None), None
    if kind == "confusion":
        conf = S._confusion(S.stage_tables(cat, "genre_"))
        if conf is None:
            raise need("confusion table", "genre eval")
        return vc.confusion_matrix(conf[1], conf[2]), None
    if kind == "genres":
        hit = S.find_table(S.stage_tables(cat, "genre_"), {"track_id"})
        lab = S.first_col(hit[1], "label", "top_label", "predicted", "prediction", "genre", "style") if hit else None
        if not lab:
            raise need("genre predictions", "genre predict")
        return vc.distribution_bars(hit[1][lab].astype(str).value_counts(), title_text="genres"), None
    raise ParameterError(kind)

