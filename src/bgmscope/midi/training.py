"""Compose from the catalog: the transcribed melodies of the chart or of one cluster train the model.

``compose_from_catalog`` reads ``midi_notes`` and ``midi_songs`` (the transcribe stage), picks the
songs of a cluster (``cluster_assignments``, k-means labels; ``'top'`` = the cluster whose songs
have the highest median ``user_count``) or the whole chart, fits :class:`MelodyModel`, composes,
writes MIDI + rendered audio under ``data_dir/midi/compositions`` and appends a row to the
``midi_compositions`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..catalog import Catalog, now
from ..config import Settings
from ..errors import CatalogError, ParameterError
from ..fsutil import atomic_path
from .compose import Composition, MelodyModel, compose, corpus_stats, tokens_from_notes
from .melody import Note
from .render import render_file
from .songs import midi_dir

MIN_TRAIN_SONGS = 3


def cluster_tracks(catalog: Catalog, cluster: str) -> tuple[list[str], str]:
    """Track ids of ``cluster`` ('top' or a k-means label) and a description of the choice."""
    assign = catalog.read_frame("cluster_assignments")
    if assign.empty:
        raise CatalogError("no cluster_assignments table: run 'bgmscope cluster' first, or compose from the chart")
    col = "kmeans" if "kmeans" in assign else ("label" if "label" in assign else None)
    if col is None:
        raise CatalogError("cluster_assignments has no kmeans/label column")
    assign = assign.drop_duplicates("track_id")
    done = set(catalog.read_frame("midi_songs").get("track_id", pd.Series(dtype=str)))
    assign = assign[assign["track_id"].isin(done)]
    if cluster == "top":
        tracks = catalog.tracks()[["track_id", "user_count"]]
        m = assign.merge(tracks, on="track_id", how="left")
        g = m.groupby(col).agg(n=("track_id", "size"), med=("user_count", "median"))
        g = g[g["n"] >= MIN_TRAIN_SONGS]
        if g.empty:
            raise CatalogError(f"no cluster has {MIN_TRAIN_SONGS}+ transcribed songs")
        label = g.sort_values(["med", "n"], ascending=False).index[0]
        why = f"cluster {label} (top: median user_count {g.loc[label, 'med']:.0f}, {g.loc[label, 'n']} songs)"
    else:
        try:
            label = type(assign[col].iloc[0])(cluster) if len(assign) else cluster
        except (TypeError, ValueError):
            raise ParameterError(f"not a cluster label: {cluster!r}") from None
        why = f"cluster {label}"
    ids = sorted(assign.loc[assign[col] == label, "track_id"])
    if len(ids) < MIN_TRAIN_SONGS:
        raise ParameterError(f"cluster {label} has {len(ids)} transcribed songs; need {MIN_TRAIN_SONGS}")
    return ids, why


def training_melodies(catalog: Catalog, track_ids: list[str] | None = None
                      ) -> list[tuple[list[Note], float]]:
    """(notes, tempo) of each transcribed song (or of ``track_ids``)."""
    songs = catalog.read_frame("midi_songs")
    notes = catalog.read_frame("midi_notes")
    if songs.empty or notes.empty:
        raise CatalogError("no transcribed melodies: run 'bgmscope transcribe' first")
    if track_ids is not None:
        songs = songs[songs["track_id"].isin(track_ids)]
    out = []
    by_track = dict(tuple(notes.groupby("track_id")))
    for r in songs.itertuples(index=False):
        df = by_track.get(r.track_id)
        if df is None or len(df) < 3:
            continue
        out.append(([Note(float(a), float(b), int(p), int(v)) for a, b, p, v in
                     df[["start_s", "end_s", "pitch", "velocity"]].itertuples(index=False)], float(r.tempo_bpm)))
    return out


@dataclass
class ComposeResult:
    composition: Composition
    midi_path: Path
    audio_path: Path | None
    source: str
    n_songs: int
    n_tokens: int


def compose_from_catalog(
    catalog: Catalog,
    settings: Settings,
    *,
    seed: int = 0,
    cluster: str | None = None,
    out: Path | None = None,
    n_bars: int = 16,
    key: str = "C",
    mode: str = "major",
    tempo_bpm: float | None = None,
    max_order: int = 3,
    audio_format: str | None = ".mp3",
) -> ComposeResult:
    """Train on the chart (``cluster=None``) or a cluster, compose, write MIDI and audio, log a row."""
    if cluster is not None:
        ids, source = cluster_tracks(catalog, cluster)
    else:
        ids, source = None, "chart"
    mels = training_melodies(catalog, ids)
    if len(mels) < MIN_TRAIN_SONGS:
        raise CatalogError(f"only {len(mels)} songs with a melody to learn from; need {MIN_TRAIN_SONGS}")
    seqs = [t for notes, tempo in mels for t in tokens_from_notes(notes, tempo)]
    model = MelodyModel(max_order=max_order, random_state=seed).fit(seqs)
    comp = compose(model, corpus_stats(mels), seed=seed, n_bars=n_bars, key=key, mode=mode,
                   tempo_bpm=tempo_bpm)
    out = Path(out) if out else midi_dir(settings) / "compositions" / f"seed{seed}.mid"
    if out.suffix.lower() not in (".mid", ".midi"):
        raise ParameterError(f"--out must end in .mid, got {out.name}")
    with atomic_path(out) as tmp:
        comp.midi.write(str(tmp))
    audio = render_file(comp.midi, out.with_suffix(audio_format)) if audio_format else None
    row = pd.DataFrame([{
        "created_at": now(), "seed": seed, "source": source, "n_train_songs": len(mels),
        "n_train_tokens": model.n_tokens_, "max_order": max_order, "key": comp.key, "n_bars": n_bars,
        "tempo_bpm": comp.tempo_bpm, "drum_style": comp.drum_style, "n_notes": comp.n_notes,
        "longest_copied": comp.longest_copied,
        "copied_share": comp.longest_copied / max(1, len(comp.tokens)),
        "midi_path": str(out), "audio_path": str(audio) if audio else None}])
    old = catalog.read_frame("midi_compositions")
    catalog.write_frame("midi_compositions", pd.concat([old, row], ignore_index=True) if not old.empty else row)
    return ComposeResult(comp, out, audio, source, len(mels), int(model.n_tokens_))

