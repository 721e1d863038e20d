"""The versions stage: every song's scan (version signature + hook position), duplicate edits grouped.

Tables: ``versions``, ``version_pairs``, ``hook_positions`` (read by the hits and report stages).
A song's scan is made by the prepare stage's song pass (:mod:`bgmscope.prepare.scan`: one decode,
one STFT, signature and hook) and cached in ``<data>/cache/scan/<sha256>-v<N>-<rate>-<hook length>.npz``
(N covers the signature's and the scan's code). This stage reads those files in the client; only a
song without one (a catalog that was never prepared, or prepared at another rate) is decoded and
scanned, in the pool. The pair alignments run in the pool too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

import pandas as pd

from ..catalog import Catalog
from ..config import Settings, default_jobs
from ..context import PipelineContext
from ..engine import run_map
from ..errors import CatalogError
from ..prepare.scan import MIN_SCAN_S, SCAN_VERSION, read_scan, scan_cache_path, scan_file  # noqa: F401
from ..tasks import Outcome
from . import grouping as V
from .signature import Signature


@dataclass(frozen=True)
class ScanTask:
    path: str
    sha256: str
    track_id: str
    sample_rate: int
    hook_length_s: float
    cache_dir: str

    @property
    def cache(self):
        return scan_cache_path(self.cache_dir, self.sha256, self.sample_rate, self.hook_length_s)


@dataclass
class ScanSummary:
    songs: int = 0
    cached: int = 0
    failed: int = 0
    groups: int = 0          # version groups with more than one song
    candidates: int = 0      # pairs the index proposed (each aligned)
    group_checks: int = 0    # further pairs aligned to check a group
    edits: int = 0           # songs folded into another (group members beyond the first)
    failures: list[tuple[str, str]] = field(default_factory=list)
    pairs: pd.DataFrame | None = None
    versions: pd.DataFrame | None = None
    hooks: pd.DataFrame | None = None


def scan_audio(task: ScanTask) -> dict:
    """Worker: decode a song once; its version signature and hook start, stored in the scan cache.
    (The cache is read by :func:`scan_songs` in the client, so a worker is only sent songs without one.)"""
    return {**scan_file(task.path, task.sample_rate, task.hook_length_s, task.cache), "cached": False}


def scan_songs(catalog: Catalog, settings: Settings, *, jobs: int | None = None,
               threshold: float = V.DEFAULT_THRESHOLD, min_overlap_s: float = V.MIN_OVERLAP_S,
               show_progress: bool = True) -> ScanSummary:
    """Scan every song with audio, group versions, and write versions / version_pairs / hook_positions."""
    audio = catalog.audio_files(status="ok")
    if audio.empty:
        raise CatalogError("no audio in the catalog: run 'bgmscope ingest' (or 'bgmscope demo') first")
    audio = audio[audio["track_id"].notna()].drop_duplicates("track_id")
    # songs sharing the same bytes (twins) are scanned once and all get the result
    twins = audio.groupby("sha256")["track_id"].apply(lambda ids: sorted(map(str, ids))).to_dict()
    audio = audio.drop_duplicates("sha256")
    summary = ScanSummary()
    run_id = catalog.start_run("versions", {"threshold": threshold, "min_overlap_s": min_overlap_s,
                                            "scan_version": SCAN_VERSION})
    cache_dir = str(settings.data_dir / "cache" / "scan")
    tasks = [ScanTask(r.path, r.sha256, str(r.track_id), settings.sample_rate, settings.clip_length_s, cache_dir)
             for r in audio.itertuples()]
    # the scans the prepare stage (or an earlier run) stored are read here: a rerun, local or on a
    # cluster whose workers cannot see the cache, sends nothing
    stored = {t: read_scan(t.cache) for t in tasks}
    todo = [t for t, scan in stored.items() if scan is None]
    done = (Outcome(t, {**scan, "cached": True}) for t, scan in stored.items() if scan is not None)
    sigs: dict[str, Signature] = {}
    hooks = []
    for out in chain(done, run_map(scan_audio, todo, jobs=jobs, desc="scan songs", show_progress=show_progress)):
        t = out.item
        if not out.ok:
            summary.failed += 1
            summary.failures.append((t.path, out.error))
            catalog.record_failure(run_id, "versions", t.path, out.error)
            continue
        summary.songs += 1
        summary.cached += out.result["cached"]
        for track_id in twins.get(t.sha256, [t.track_id]):
            sigs[track_id] = out.result["signature"]
            hooks.append({"track_id": track_id, "audio_sha256": t.sha256,
                          "hook_start_s": out.result["hook_start_s"], "hook_length_s": t.hook_length_s,
                          "duration_s": out.result["duration_s"]})
    sigs = dict(sorted(sigs.items()))  # deterministic pair order whatever order workers finished in
    pairs, groups, stats = V.find_versions(sigs, threshold=threshold, min_overlap_s=min_overlap_s,
                                           jobs=jobs or default_jobs(), with_stats=True)
    for what, err in stats["failures"]:
        summary.failed += 1
        summary.failures.append((what, err))
        catalog.record_failure(run_id, "versions", what, err)
    summary.candidates, summary.group_checks = stats["candidates"], stats["group_checks"]
    tracks = catalog.tracks()[["track_id", "title", "user_count", "rank"]]
    groups = groups.merge(tracks, on="track_id", how="left")
    multi = groups[groups["group_size"] > 1]
    summary.groups = int(multi["group_id"].nunique())
    summary.edits = int(len(multi) - summary.groups)
    summary.pairs, summary.versions = pairs, groups
    summary.hooks = pd.DataFrame(hooks, columns=["track_id", "audio_sha256", "hook_start_s", "hook_length_s",
                                                 "duration_s"]).sort_values("track_id").reset_index(drop=True)
    catalog.write_frame("versions", groups)
    catalog.write_frame("version_pairs", pairs)
    catalog.write_frame("hook_positions", summary.hooks)
    catalog.finish_run(run_id, summary.songs, summary.failed, summary.cached)
    return summary


def demo_truth(corpus) -> dict[str, str]:
    """track_id -> the music_id of the full song (the demo chart's edit_of column).

    Read from the CSV as text: 19-digit ids do not survive a float column."""
    songs = pd.read_csv(corpus.chart_csv, dtype=str, keep_default_na=False)
    edit = songs["edit_of"] if "edit_of" in songs.columns else pd.Series([""] * len(songs))
    return {i: (e.strip() or i) for i, e in zip(songs["音乐ID"].str.strip(), edit, strict=True)}


VERSIONS_INPUTS = ["audio_files", "tracks"]
VERSIONS_TABLES = ["versions", "version_pairs", "hook_positions"]


def stage_cache(ctx: PipelineContext):
    """The stage's inputs: the audio (by sha256, which names its scan file), the track facts copied
    into ``versions``, the rate and hook length the scans are made at, and the code of the scan."""
    from ..select.stagecache import StageCache

    s = ctx.settings
    return StageCache(ctx.catalog, s.data_dir, "versions", inputs=VERSIONS_INPUTS, outputs=VERSIONS_TABLES,
                      params={"threshold": V.DEFAULT_THRESHOLD, "min_overlap_s": V.MIN_OVERLAP_S,
                              "sample_rate": s.sample_rate, "hook_length_s": s.clip_length_s,
                              "scan_version": SCAN_VERSION, "demo": bool(ctx.demo)},
                      code=["versions", "prepare/scan", "prepare/signature", "prepare/hook", "prepare/recurrence"])


def run_stage(ctx: PipelineContext, force: bool = False) -> dict:
    """Pipeline entry: duplicate edits and hook positions from the whole songs. Skipped when the audio,
    the track facts, the options and the code are those of the stored run (``select.stagecache``)."""
    from ..select.stagecache import cached_stage

    def compute() -> dict:
        scan = scan_songs(ctx.catalog, ctx.settings, jobs=ctx.jobs, show_progress=False)
        result: dict = {"songs scanned": scan.songs, "version groups": scan.groups, "edits": scan.edits,
                        "failed": scan.failed}
        if ctx.demo and ctx.demo_corpus is not None:
            truth = demo_truth(ctx.demo_corpus)
            p, r = V.pair_scores(scan.versions, truth)
            result["edit P/R"] = f"{p:.2f}/{r:.2f}"
        return result

    return cached_stage(stage_cache(ctx), compute, force=force, console=ctx.console)
