"""Nearest catalog songs to a song of the catalog or to any audio file.

By default (``basis='auto'``), when the catalog holds the songs' audio, songs are compared over
their whole length (:mod:`.signature`: windows every 2.5 s after the leading and trailing silence is
trimmed), so a cut from the middle of a song or a copy with silence in front finds the song.
Without audio (or with ``basis='clip'``, or ``metric='popularity'``) they are compared as follows.

Songs are compared on their clip descriptors (the same clip kind for every song), by default the
features the latest genetic selection kept (``select_features``), else every descriptor. Each
feature is standardised over the catalog (z-score), so the distance is the root-mean-square
difference in standard deviations: 0 is identical, about 1.4 is two random songs. The key is
compared as a category: its pitch class as a point on a circle (sin/cos, so B is next to C), its
mode as 0/1. A missing value (NaN, e.g. no f0 in an unvoiced clip) takes the catalog's median.

``metric='popularity'`` is a learned metric: each feature's squared difference is weighted by its
permutation importance in the held-out popularity model (``hits_importance``, negatives as 0), so
songs are near when they agree on what predicted popularity. It needs ``bgmscope hits`` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..catalog import Catalog
from ..errors import CatalogError, ParameterError
from ..features.extract import encode_categorical, source_columns
from ..hits.popularity import choose_kind, describe_file, song_features


@dataclass
class SimilarResult:
    query: str                 # what was asked (track_id or file path)
    feature_set: str           # 'selected (n)' or 'all (n)'
    clip_kind: str
    metric: str                # 'euclidean' or 'popularity'

    neighbours: pd.DataFrame   # rank, track_id, title, distance, user_count, chart_rank, same_recording
    basis: str = "clip"        # 'song' (whole-song windows) or 'clip' (one clip's descriptors)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (track_id, why it was left out)


def feature_choice(catalog: Catalog, available: list[str], use: str) -> tuple[list[str], str]:
    """The columns to compare on: 'selected' (falls back to all when there is no selection) or 'all'."""
    if use not in ("selected", "all"):
        raise ParameterError(f"features must be 'selected' or 'all', got {use!r}")
    if use == "selected":
        from ..select.stage import latest_selection

        sel = latest_selection(catalog)
        if sel:
            # a selected key_pc_sin / key_pc_cos is the stored key_pc (encoded again below)
            cols = [c for c in source_columns(sel[0]) if c in available]
            if cols:
                return cols, f"selected ({len(cols)})"
    return list(available), f"all ({len(available)})"


def resolve_song(tracks: pd.DataFrame, query: str, groups: pd.DataFrame | None = None) -> str:
    """A track_id from a track_id, a music_id, an exact title or a unique title fragment (a fragment
    matching only one recording's edits, e.g. '学猫叫', picks that group's full version)."""
    q = query.strip()
    for col in ("track_id", "music_id", "title"):
        hit = tracks[tracks[col].astype(str) == q]
        if len(hit) >= 1:
            return str(hit["track_id"].iloc[0])
    hit = tracks[tracks["title"].fillna("").str.contains(q, regex=False, case=False)]
    if len(hit) == 1:
        return str(hit["track_id"].iloc[0])
    if len(hit) > 1 and groups is not None and not groups.empty:
        gid = dict(zip(groups["track_id"], groups["group_id"], strict=True))
        owners = {gid.get(t, t) for t in hit["track_id"]}
        if len(owners) == 1:
            return str(owners.pop())
    if len(hit) > 1:
        names = "; ".join(f"{t} ({i})" for t, i in zip(hit["title"].head(5), hit["track_id"].head(5), strict=True))
        raise ParameterError(f"{query!r} matches {len(hit)} songs: {names}… — give a track_id")
    raise ParameterError(f"no song {query!r} in the catalog (try a music_id, track_id or part of a title)")


def similar(
    catalog: Catalog,
    *,
    song: str | None = None,
    file: str | Path | None = None,
    k: int = 10,
    features: str = "selected",
    clip_kind: str | None = None,
    metric: str = "euclidean",
    sample_rate: int = 16000,
    clip_length_s: float = 15.0,
    basis: str = "auto",
    jobs: int = 1,
    cache_dir: str | Path | None = None,
) -> SimilarResult:
    """The ``k`` nearest catalog songs to ``song`` (in the catalog) or to ``file`` (any audio file).

    ``basis``: ``'song'`` (whole-song windows, needs the songs' audio; ``features`` and ``clip_kind``
    do not apply), ``'clip'`` (the stored descriptors of one clip kind) or ``'auto'`` (song when the
    catalog has audio for the songs and the metric is euclidean, else clip). ``jobs``: worker
    processes for describing songs not yet cached (in ``cache_dir``, default ``<data>/cache/similar``).
    """
    if (song is None) == (file is None):
        raise ParameterError("give either a SONG from the catalog or --file new.mp3")
    if k < 1:
        raise ParameterError(f"-k must be >= 1, got {k}")
    if metric not in ("euclidean", "popularity"):
        raise ParameterError(f"metric must be 'euclidean' or 'popularity', got {metric!r}")
    if basis not in ("auto", "song", "clip"):
        raise ParameterError(f"basis must be 'auto', 'song' or 'clip', got {basis!r}")
    if basis == "song" and metric == "popularity":
        raise ParameterError("the popularity metric weights clip descriptors: use basis 'clip'")
    if basis != "clip" and metric == "euclidean":
        audio = song_audio(catalog)
        has_query = True
        if song is not None and not audio.empty:
            groups = catalog.read_frame("versions") if catalog.has_table("versions") else None
            try:
                has_query = resolve_song(catalog.tracks(), song, groups) in set(audio["track_id"])
            except ParameterError:
                has_query = basis == "song"  # let the song path raise its own clear error
        if basis == "song" or (len(audio) >= 2 and has_query):
            return _similar_songs(catalog, audio, song=song, file=file, k=k, sample_rate=sample_rate, jobs=jobs,
                                  cache_dir=cache_dir)
    if not catalog.has_table("features"):
        raise CatalogError("no features table: run 'bgmscope features' first")
    feats = catalog.read_frame("features")
    if feats.empty:
        raise CatalogError("the features table is empty: run 'bgmscope features' first")
    kind = choose_kind(feats, clip_kind)
    songs = song_features(feats, kind)
    available = [c for c in songs.columns if c != "track_id"]
    cols, label = feature_choice(catalog, available, features)
    # the key encoded (sin/cos of the pitch class), then median impute -> z-score, fitted on the catalog
    E = encode_categorical(songs[cols].apply(pd.to_numeric, errors="coerce"))
    E = E.where(np.isfinite(E.to_numpy()))
    sd = E.std(ddof=0)
    cols = [c for c in E.columns if sd[c] > 1e-12]  # all-NaN columns have sd NaN and go too
    if not cols:
        raise CatalogError("no feature varies across the catalog's songs")
    scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(E[cols])
    pair = [cols.index(c) for c in ("key_pc_sin", "key_pc_cos") if c in cols]
    if len(pair) == 2:  # one scale for both, or the key circle becomes an ellipse (F# nearer B than E)
        sc = scale[-1]
        sc.scale_[pair] = np.sqrt(sc.var_[pair].mean())
    Z = scale.transform(E[cols])
    tracks = catalog.tracks()
    if song is not None:
        groups = catalog.read_frame("versions") if catalog.has_table("versions") else None
        tid = resolve_song(tracks, song, groups)
        where = np.flatnonzero(songs["track_id"].to_numpy() == tid)
        if where.size == 0:
            raise CatalogError(f"{tid} has no {kind!r} clip features: run 'bgmscope prepare' and 'bgmscope features'")
        q = Z[where[0]]
        query = tid
    else:
        path = Path(file).expanduser()
        if not path.is_file():
            raise ParameterError(f"no such file: {path}")
        vec = describe_file((str(path), sample_rate, clip_length_s, kind == "hook"))
        qe = encode_categorical(pd.DataFrame([vec]))
        qv = pd.DataFrame([{c: qe[c].iloc[0] if c in qe else np.nan for c in cols}], dtype=float)
        q = scale.transform(qv.where(np.isfinite(qv.to_numpy())))[0]  # a missing value: the catalog median
        query, tid = str(path), None
    weights = np.ones(len(cols))
    if metric == "popularity":
        imp = catalog.read_frame("hits_importance") if catalog.has_table("hits_importance") else pd.DataFrame()
        if imp.empty:
            raise CatalogError("the popularity metric needs hits_importance: run 'bgmscope hits' first")
        w = imp.groupby("feature")["importance_mean"].mean().clip(lower=0)
        weights = np.array([float(w.get(c, 0.0)) for c in cols])
        if weights.sum() <= 0:
            raise CatalogError("no feature has a positive importance in hits_importance: the popularity "
                               "model found no signal to weight by")
    dist = np.sqrt(((Z - q) ** 2 * weights).sum(axis=1) / weights.sum())
    out = pd.DataFrame({"track_id": songs["track_id"], "distance": dist})
    return SimilarResult(query, label, kind, metric, _finish(catalog, out, tracks, tid, k))


def _finish(catalog: Catalog, out: pd.DataFrame, tracks: pd.DataFrame, tid: str | None, k: int) -> pd.DataFrame:
    """The k nearest (the query itself left out) with titles, chart numbers and same-recording marks."""
    if tid is not None:
        out = out[out["track_id"] != tid]
    out = out.merge(tracks[["track_id", "title", "user_count", "rank"]].rename(columns={"rank": "chart_rank"}),
                    on="track_id", how="left")
    out["same_recording"] = False
    if tid is not None and catalog.has_table("versions"):
        v = catalog.read_frame("versions")
        gid = dict(zip(v["track_id"], v["group_id"], strict=True))
        out["same_recording"] = out["track_id"].map(lambda t: gid.get(t) is not None and gid.get(t) == gid.get(tid))
    out = out.sort_values(["distance", "track_id"], kind="stable").head(k).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[["rank", "track_id", "title", "distance", "user_count", "chart_rank", "same_recording"]]


def song_audio(catalog: Catalog) -> pd.DataFrame:
    """One readable audio file per track (track_id, path, sha256); empty when the catalog has none."""
    empty = pd.DataFrame(columns=["track_id", "path", "sha256"])
    if not catalog.has_table("audio_files"):
        return empty
    a = catalog.audio_files(status="ok")
    if a.empty or not {"track_id", "path"} <= set(a.columns):
        return empty
    a = a[a["track_id"].notna()].drop_duplicates("track_id")
    a = a[[Path(str(p)).is_file() for p in a["path"]]]
    return a[["track_id", "path", "sha256"]].assign(track_id=a["track_id"].astype(str)).reset_index(drop=True)


def _similar_songs(catalog: Catalog, audio: pd.DataFrame, *, song, file, k: int, sample_rate: int, jobs: int,
                   cache_dir) -> SimilarResult:
    from ..engine import run_map
    from .signature import HOP_S, QUERY_HOP_S, WINDOW_S, WindowIndex, WindowTask, song_windows

    if audio.empty:
        raise CatalogError("no readable audio in the catalog for whole-song similarity: run 'bgmscope ingest' "
                           "(or use the clip descriptors: basis 'clip')")
    cache = Path(cache_dir) if cache_dir is not None else catalog.path.parent / "cache" / "similar"
    tracks = catalog.tracks()
    tid = None
    if song is not None:
        groups = catalog.read_frame("versions") if catalog.has_table("versions") else None
        tid = resolve_song(tracks, song, groups)
        if tid not in set(audio["track_id"]):
            raise CatalogError(f"{tid} has no readable audio in the catalog for whole-song similarity")
    else:
        path = Path(file).expanduser()
        if not path.is_file():
            raise ParameterError(f"no such file: {path}")
    tasks = [WindowTask(str(r.path), str(r.sha256 or ""), r.track_id, sample_rate, str(cache))
             for r in audio.itertuples()]
    wins: dict[str, np.ndarray] = {}
    notes: list[tuple[str, str]] = []
    for o in run_map(song_windows, tasks, jobs=jobs, desc="whole-song windows", show_progress=False):
        if o.ok:
            wins[o.item.track_id] = o.result
        else:
            notes.append((o.item.track_id, str(o.error)))
    if tid is not None and tid not in wins:
        raise CatalogError(f"{tid}: its audio could not be described: {dict(notes).get(tid, 'unknown error')}")
    if not wins:
        raise CatalogError("no catalog song's audio could be described: " + "; ".join(r for _, r in notes[:3]))
    order = sorted(wins)
    index = WindowIndex.build({t: wins[t] for t in order})
    if tid is not None:
        q, query = wins[tid], tid
    else:
        q = song_windows(WindowTask(str(path), "", "query", sample_rate, None, hop_s=QUERY_HOP_S))
        query = str(path)
    out = pd.DataFrame({"track_id": index.track_ids, "distance": index.distances(q)})
    label = f"whole song ({WINDOW_S:g} s windows every {HOP_S:g} s, silence trimmed)"
    return SimilarResult(query, label, "whole song", "euclidean", _finish(catalog, out, tracks, tid, k),
                         basis="song", notes=notes)
