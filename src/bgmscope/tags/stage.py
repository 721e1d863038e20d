"""The tags stage: label every chart song with the musicnn tagger's scores on several clips.

Clips per song, read from the WAVs the prepare stage cut (no song is decoded here): the first 15 s
(``first``), the hook (``hook``, the song pass's hook clip) and a middle-ish one: the second of the
``two`` clips, centred at 2/3 of the song (of a song under 30 s, its second half) -- the first
``two`` clip (1/3) sits closer to the first 15 s, and the chorus of a pop form more often falls in
the second half. A song has as many clips as the catalog holds of these (``n_clips``); one with none
(never prepared) is not tagged and is counted in ``no_clips``.

Table ``tags`` (replaced whole): track_id, model, tag, mean, std, n_clips -- one row per song and
tag, the mean and the spread (population std) of the tag's score over the song's clips.
Each song's scores are cached in ``<data>/cache/tags/<sha256>-<model>-v<N>-<clips>.npz`` (``clips``:
a hash of the clip files' content-addressed names), read in the client, so a rerun sends nothing.
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
from ..fsutil import atomic_path, short_hash
from ..tasks import Outcome

TAGS_VERSION = 2  # bump when the clips or the scoring change
MIN_AUDIO_S = 1.0
SR = 16000  # the tagger's own rate (clips at another rate are resampled by the tagger)
CLIPS = (("first", "first", 0), ("hook", "hook", 0), ("middle", "two", 1))  # (name, clip kind, index)
COLUMNS = ["track_id", "model", "tag", "mean", "std", "n_clips"]
NO_TAGGER = "no tagger: pip install 'bgmscope[models]'"


@dataclass(frozen=True)
class TagTask:
    sha256: str
    model: str
    clips: tuple[tuple[str, str], ...]  # (name, absolute path of the prepared WAV)
    cache_dir: str

    @property
    def path(self) -> str:  # what a failure names
        return self.clips[0][1] if self.clips else self.sha256


@dataclass
class TagSummary:
    songs: int = 0
    cached: int = 0
    failed: int = 0
    no_clips: int = 0  # songs with audio but none of the clips (not prepared)
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


def song_clips(clips: pd.DataFrame, data_dir: Path) -> dict[str, tuple[tuple[str, str], ...]]:
    """track_id -> the (name, path) of each of its clips that :data:`CLIPS` asks for, in that order."""
    want = {(kind, index): name for name, kind, index in CLIPS}
    order = {name: i for i, (name, _, _) in enumerate(CLIPS)}
    out: dict[str, list[tuple[str, str]]] = {}
    for r in clips.itertuples():
        name = want.get((str(r.clip_kind), int(r.clip_index)))
        if name is not None:
            out.setdefault(str(r.track_id), []).append((name, str(Path(data_dir) / r.path)))
    return {t: tuple(sorted(c, key=lambda x: order[x[0]])) for t, c in out.items()}


def _cache_file(task: TagTask) -> Path:
    key = short_hash(*(f"{n}={Path(p).name}" for n, p in task.clips), n=16)
    return Path(task.cache_dir) / f"{task.sha256}-{task.model}-v{TAGS_VERSION}-{key}.npz"


def _cached(task: TagTask) -> dict | None:
    cache = _cache_file(task)
    if not cache.exists():
        return None
    with np.load(cache) as z:
        return {"scores": z["scores"], "clips": [str(c) for c in z["clips"]], "cached": True}


def tag_audio(task: TagTask) -> dict:
    """Worker: score each prepared clip of one song (cached by content, clips, model, code version)."""
    import soundfile as sf

    from ..models.tagger import tag_scores, tags

    names = tags(task.model)
    rows = []
    for name, path in task.clips:
        y, sr = sf.read(path, dtype="float32", always_2d=False)
        if y.ndim == 2:
            y = y.mean(axis=1)
        if y.size < MIN_AUDIO_S * sr:
            raise ParameterError(f"the {name} clip holds {y.size / sr:.2f} s of audio; need >= {MIN_AUDIO_S:g} s")
        s = tag_scores(y, sr, model=task.model)
        rows.append([s[t] for t in names])
    scores = np.asarray(rows, dtype=np.float32)
    clips = np.asarray([n for n, _ in task.clips])
    cache = _cache_file(task)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache, durable=False) as tmp:  # a regenerable cache
        with open(tmp, "wb") as fh:
            np.savez(fh, scores=scores, clips=clips)
    return {"scores": scores, "clips": clips.tolist(), "cached": False}


def tag_catalog(catalog: Catalog, settings: Settings, *, jobs: int | None = None, model: str = "MSD",
                show_progress: bool = True) -> TagSummary:
    """Tag every chart song with prepared clips and write the ``tags`` table.

    Raises NotEnoughData without onnxruntime (the ``[models]`` extra), CatalogError without clips.
    """
    if not have_tagger():
        raise NotEnoughData(NO_TAGGER)
    from ..models.tagger import MODELS, tags

    if model not in MODELS:
        raise ParameterError(f"model must be one of {MODELS}, got {model!r}")
    names = tags(model)
    if not catalog.has_table("clips") or catalog.clips().empty:
        raise CatalogError("no clips in the catalog: run 'bgmscope prepare' (or 'bgmscope demo') first")
    clips = catalog.clips()
    by_song = song_clips(clips, settings.data_dir)
    audio = catalog.audio_files(status="ok")
    audio = audio[audio["track_id"].notna()].drop_duplicates("track_id")
    summary = TagSummary(model=model)
    run_id = catalog.start_run("tags", {"model": model, "tags_version": TAGS_VERSION,
                                        "clips": ",".join(f"{n}={k}[{i}]" for n, k, i in CLIPS)})
    cache_dir = str(settings.data_dir / "cache" / "tags")
    owners: dict[TagTask, list[str]] = {}  # songs sharing bytes (hence clip files) are tagged once
    for r in audio.itertuples():
        mine = by_song.get(str(r.track_id))
        if not mine:
            summary.no_clips += 1
            continue
        owners.setdefault(TagTask(str(r.sha256), model, mine, cache_dir), []).append(str(r.track_id))
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
