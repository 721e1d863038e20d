"""Per-song work for the report, run in worker processes: card figure, embedded audio, zero
crossings. Workers read clips from disk and return bytes and numbers; only the main process
touches the catalog. Tempo and key are not estimated here: they are the features stage's stored
values (``tempo_bpm``, ``key_pc``, ``key_mode``, ``key_strength``), added by :func:`add_stored_facts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..features.tonal import key_label


@dataclass(frozen=True)
class SongTask:
    clip_id: str
    track_id: str
    data_dir: str
    path: str
    title: str
    card: bool  # draw the card figure and encode the clip for the player
    lang: str = "en"  # the card's axis words
    also: tuple[str, ...] = ()  # more languages of the same card, drawn from the one figure (``cards_png``)


def stored_facts(features: pd.DataFrame) -> pd.DataFrame:
    """Tempo (BPM, NaN when not stored) and key label ('A minor', '' when none) per ``clip_id``.

    A key whose strength is 0 is no key: the features stage's ``estimate_key`` says so for a
    silent or flat chroma.

    Examples
    --------
    >>> f = pd.DataFrame({"clip_id": ["a", "b"], "tempo_bpm": [120.0, 90.0], "key_pc": [9.0, 0.0],
    ...                   "key_mode": [0.0, 1.0], "key_strength": [0.8, 0.0]})
    >>> stored_facts(f)["key"].tolist()
    ['A minor', '']
    """
    if features.empty or "clip_id" not in features.columns:
        return pd.DataFrame({"tempo_bpm": pd.Series(dtype=float), "key": pd.Series(dtype=object)},
                            index=pd.Index([], name="clip_id"))
    f = features.drop_duplicates("clip_id").set_index("clip_id")
    nan = pd.Series(np.nan, index=f.index)
    tempo = pd.to_numeric(f["tempo_bpm"], errors="coerce") if "tempo_bpm" in f.columns else nan
    pc = pd.to_numeric(f["key_pc"], errors="coerce") if "key_pc" in f.columns else nan
    mode = pd.to_numeric(f["key_mode"], errors="coerce") if "key_mode" in f.columns else nan
    strength = pd.to_numeric(f["key_strength"], errors="coerce") if "key_strength" in f.columns else nan
    keys = ["" if not (np.isfinite(p) and np.isfinite(m)) or (np.isfinite(s) and s <= 0)
            else key_label(int(p), "major" if m >= 0.5 else "minor")
            for p, m, s in zip(pc, mode, strength, strict=True)]
    return pd.DataFrame({"tempo_bpm": tempo.astype(float), "key": keys}, index=f.index)


def add_stored_facts(results: dict[str, dict], features: pd.DataFrame) -> None:
    """Give each ``song_job`` result (keyed by clip id) its stored ``tempo_bpm`` and ``key``."""
    facts = stored_facts(features)
    for clip_id, res in results.items():
        hit = clip_id in facts.index
        res["tempo_bpm"] = float(facts.at[clip_id, "tempo_bpm"]) if hit else float("nan")
        res["key"] = str(facts.at[clip_id, "key"]) if hit else ""


def song_job(task: SongTask) -> dict:
    """What the report needs from one clip's audio (top-level so it pickles for the process pool)."""
    from ..prepare.clips import load_clip
    from ..viz.audio import zero_crossing_count

    y, sr = load_clip(task.data_dir, task.path)
    out: dict = {"clip_id": task.clip_id, "track_id": task.track_id,
                 "zero_crossings": zero_crossing_count(y), "duration_s": len(y) / sr}
    if task.card:
        from ..viz.audio import song_card
        from ..viz.common import png_bytes
        from ..viz.words import localize
        from .media import encode_opus

        # one figure for every language: English first (localize only translates away from it)
        langs = sorted({task.lang, *task.also}, key=lambda lang: lang != "en")
        fig = song_card(y, sr, title_text=task.title)
        pngs = {lang: png_bytes(localize(fig, lang), dpi=80) for lang in langs}
        out["card_png"] = pngs[task.lang]
        out["cards_png"] = pngs
        out["audio_ogg"] = encode_opus(y, sr)
    return out


SONG_CACHE_VERSION = 1  # bump when the card figure or the clip encoding changes


def song_cache_key(task: SongTask) -> str | None:
    """The card's cache key: the clip file's content hash with everything drawn from it (None when
    the clip file is missing; the worker then reports it)."""
    import hashlib
    from pathlib import Path

    p = Path(task.path)
    p = p if p.is_absolute() else Path(task.data_dir) / p
    try:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return None
    extra = f"{task.title}\0{task.lang}\0{task.card}\0{SONG_CACHE_VERSION}".encode()
    return hashlib.sha256(digest.encode() + extra).hexdigest()
