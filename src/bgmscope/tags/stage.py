"""The tags stage: label every chart song with the musicnn tagger's scores on several clips.

Clips per song: the first 15 s, the hook (from the versions stage's ``hook_positions`` table, when it
exists; else that clip is skipped) and 15 s around the middle. Each song is decoded once (at the
tagger's 16 kHz) and the clips are cut from it.

Table ``tags`` (replaced whole): track_id, model, tag, mean, std, n_clips -- one row per song and
tag, the mean and the spread (population std) of the tag's score over the song's clips.
Each song's scores are cached in ``<data>/cache/tags/<sha256>-<model>-v<N>-<hook>.npz`` so a rerun
decodes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..context import PipelineContext
from ..engine import run_map
from ..errors import CatalogError, NotEnoughData, ParameterError
from ..fsutil import atomic_path
from ..tasks import Outcome

TAGS_VERSION = 1  # bump when the clips or the scoring change
CLIP_S = 15.0
MIN_AUDIO_S = 1.0
SR = 16000  # the tagger's own rate: decoding at it spares a second resampling
COLUMNS = ["track_id", "model", "tag", "mean", "std", "n_clips"]
NO_TAGGER = "no tagger: pip install 'bgmscope[models]'"


@dataclass(frozen=True)
class TagTask:
    path: str
    sha256: str
    model: str
    hook_start_s: float | None
    hook_length_s: float
    cache_dir: str


@dataclass
class TagSummary:
    songs: int = 0
    cached: int = 0
    failed: int = 0
    model: str = "MSD"
    failures: list[tuple[str, str]] = field(default_factory=list)
    table: pd.DataFrame | None = None


def have_tagger() -> bool:
    """True with onnxruntime (the ``[models]`` extra) installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def clip_spans(duration_s: float, hook_start_s: float | None, hook_length_s: float) -> list[tuple[str, float, float]]:
    """(name, start, length) of each clip of a song ``duration_s`` long."""
    spans = [("first", 0.0, min(CLIP_S, duration_s))]
    if hook_start_s is not None and np.isfinite(hook_start_s) and hook_start_s < duration_s:
        spans.append(("hook", float(hook_start_s), min(hook_length_s, duration_s - hook_start_s)))
    mid = max(0.0, duration_s / 2 - CLIP_S / 2)
    spans.append(("middle", mid, min(CLIP_S, duration_s - mid)))
    return spans


def _cache_file(task: TagTask) -> Path:
    hook = "nohook" if task.hook_start_s is None else f"h{task.hook_start_s:.2f}-{task.hook_length_s:g}"
    return Path(task.cache_dir) / f"{task.sha256}-{task.model}-v{TAGS_VERSION}-{hook}.npz"


def _cached(task: TagTask) -> dict | None:
    cache = _cache_file(task)
    if not cache.exists():
        return None
    z = np.load(cache)
    return {"scores": z["scores"], "clips": [str(c) for c in z["clips"]], "cached": True}


def tag_audio(task: TagTask) -> dict:
    """Worker: decode a song once, score each clip (cached by content hash, model, code version)."""
    cache = _cache_file(task)
    hit = _cached(task)
    if hit is not None:
        return hit
    from ..audio.decode import load
    from ..models.tagger import tag_scores, tags

    y, sr = load(task.path, sr=SR)
    duration = y.size / sr
    if duration < MIN_AUDIO_S:
        raise ParameterError(f"only {duration:.2f} s of audio decoded (truncated?); need >= {MIN_AUDIO_S:g} s")
    names = tags(task.model)
    spans = clip_spans(duration, task.hook_start_s, task.hook_length_s)
    rows = []
    for _, start, length in spans:
        a = int(round(start * sr))
        clip = y[a: a + max(1, int(round(length * sr)))]
        s = tag_scores(clip, sr, model=task.model)
        rows.append([s[t] for t in names])
    scores = np.asarray(rows, dtype=np.float32)
    clips = np.asarray([n for n, _, _ in spans])
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache, durable=False) as tmp:  # a regenerable cache
        with open(tmp, "wb") as fh:
            np.savez(fh, scores=scores, clips=clips)
    return {"scores": scores, "clips": clips.tolist(), "cached": False}


def tag_catalog(catalog: Catalog, settings: Settings, *, jobs: int | None = None, model: str = "MSD",
                show_progress: bool = True) -> TagSummary:
    """Tag every chart song with audio and write the ``tags`` table.

    Raises NotEnoughData without onnxruntime (the ``[models]`` extra), CatalogError without audio.
    """
    if not have_tagger():
        raise NotEnoughData(NO_TAGGER)
    from ..models.tagger import MODELS, tags

    if model not in MODELS:
        raise ParameterError(f"model must be one of {MODELS}, got {model!r}")
    names = tags(model)
    audio = catalog.audio_files(status="ok")
    if audio.empty:
        raise CatalogError("no audio in the catalog: run 'bgmscope ingest' (or 'bgmscope demo') first")
    audio = audio[audio["track_id"].notna()].drop_duplicates("track_id")
    hooks: dict[str, tuple[float, float]] = {}
    if catalog.has_table("hook_positions"):
        h = catalog.read_frame("hook_positions")
        hooks = {str(r.track_id): (float(r.hook_start_s), float(r.hook_length_s)) for r in h.itertuples()}
    summary = TagSummary(model=model)
    run_id = catalog.start_run("tags", {"model": model, "tags_version": TAGS_VERSION, "clip_s": CLIP_S})
    cache_dir = str(settings.data_dir / "cache" / "tags")
    owners: dict[TagTask, list[str]] = {}  # songs sharing bytes and hook are tagged once
    for r in audio.itertuples():
        start, length = hooks.get(str(r.track_id), (None, settings.clip_length_s))
        owners.setdefault(TagTask(r.path, r.sha256, model, start, length, cache_dir), []).append(str(r.track_id))
    frames = []
    # cache hits are read here: no pool to start on a rerun, and a remote worker cannot see them
    hits = {t: _cached(t) for t in owners}
    todo = [t for t, hit in hits.items() if hit is None]
    done = (Outcome(t, hit) for t, hit in hits.items() if hit is not None)
    for out in chain(done, run_map(tag_audio, todo, jobs=jobs, desc="tag songs", show_progress=show_progress)):
        t = out.item
        if not out.ok:
            summary.failed += 1
            summary.failures.append((t.path, out.error))
            catalog.record_failure(run_id, "tags", t.path, out.error)
            continue
        S = np.asarray(out.result["scores"], dtype=np.float64)
        for track_id in owners[t]:
            summary.songs += 1
            summary.cached += bool(out.result["cached"])
            frames.append(pd.DataFrame({"track_id": track_id, "model": model, "tag": names,
                                        "mean": S.mean(axis=0), "std": S.std(axis=0), "n_clips": len(S)}))
    table = (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS))[COLUMNS]
    table = table.sort_values(["track_id", "tag"], kind="stable").reset_index(drop=True)
    summary.table = table
    catalog.write_frame("tags", table)
    catalog.finish_run(run_id, summary.songs, summary.failed, summary.cached)
    return summary


def top_by_song(table: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Each song's ``k`` highest-scoring tags (track_id, rank, tag, mean)."""
    t = table.sort_values(["track_id", "mean", "tag"], ascending=[True, False, True])
    t = t.groupby("track_id", sort=True).head(k).copy()
    t["rank"] = t.groupby("track_id").cumcount() + 1
    return t[["track_id", "rank", "tag", "mean"]].reset_index(drop=True)


def run_stage(ctx: PipelineContext) -> dict:
    """Pipeline entry: musicnn tags for every chart song (skipped without the [models] extra)."""
    s = tag_catalog(ctx.catalog, ctx.settings, jobs=ctx.jobs, show_progress=False)
    top = s.table.groupby("tag")["mean"].mean().sort_values(ascending=False) if len(s.table) else None
    return {"songs tagged": s.songs, "from cache": s.cached, "failed": s.failed, "model": f"musicnn-{s.model}",
            "top tags": ", ".join(top.index[:3]) if top is not None else "-"}
