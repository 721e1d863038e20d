"""The versions stage: scan every song once (version signature + hook position), group duplicate edits.

Tables: ``versions``, ``version_pairs``, ``hook_positions`` (read by the hits, tags and report stages).
Each song's scan (decode, one STFT, signature, hook) runs in the pool and is cached in
``<data>/cache/scan/<sha256>-v<N>-<rate>-<hook length>.npz`` (N covers the signature's and the
scan's code), so a rerun decodes nothing; the pair alignments run in the pool too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.stft import N_FFT, stft_hop
from ..catalog import Catalog
from ..config import Settings, default_jobs
from ..context import PipelineContext
from ..engine import run_map
from ..errors import CatalogError, ParameterError
from ..fsutil import atomic_path
from . import grouping as V
from .signature import SIGNATURE_VERSION, Signature, version_signature

SCAN_VERSION = 3 * 100 + SIGNATURE_VERSION  # bump the 3 when the scan or the hook finder changes
MIN_SCAN_S = 2.0  # shorter audio (a truncated download) has no structure to compare


@dataclass(frozen=True)
class ScanTask:
    path: str
    sha256: str
    track_id: str
    sample_rate: int
    hook_length_s: float
    cache_dir: str


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
    """Worker: decode a song once; its version signature and hook start (cached by content hash)."""
    from ..audio.decode import load
    from ..prepare.hook import find_hook

    cache = Path(task.cache_dir) / f"{task.sha256}-v{SCAN_VERSION}-{task.sample_rate}-{task.hook_length_s:g}.npz"
    if cache.exists():
        with np.load(cache) as z:
            return {"signature": Signature.from_arrays(z), "hook_start_s": float(z["hook"]),
                    "duration_s": float(z["duration"]), "cached": True}
    y, sr = load(task.path, sr=task.sample_rate)
    if y.size < MIN_SCAN_S * sr:
        raise ParameterError(f"only {y.size / sr:.2f} s of audio decoded (truncated?); need >= {MIN_SCAN_S:g} s")
    import librosa

    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=stft_hop(sr)))  # one STFT for both
    sig = version_signature(y, sr, S=S)
    hook = find_hook(y, sr, length_s=task.hook_length_s, S=S)
    duration = y.size / sr
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache, durable=False) as tmp:  # a regenerable cache
        with open(tmp, "wb") as fh:
            np.savez(fh, hook=hook, duration=duration, **sig.to_arrays())
    return {"signature": sig, "hook_start_s": hook, "duration_s": duration, "cached": False}


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
    sigs: dict[str, Signature] = {}
    hooks = []
    for out in run_map(scan_audio, tasks, jobs=jobs, desc="scan songs", show_progress=show_progress):
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


def run_stage(ctx: PipelineContext) -> dict:
    """Pipeline entry: duplicate edits and hook positions from the whole songs."""
    scan = scan_songs(ctx.catalog, ctx.settings, jobs=ctx.jobs, show_progress=False)
    result: dict = {"songs scanned": scan.songs, "version groups": scan.groups, "edits": scan.edits,
                    "failed": scan.failed}
    if ctx.demo and ctx.demo_corpus is not None:
        truth = demo_truth(ctx.demo_corpus)
        p, r = V.pair_scores(scan.versions, truth)
        result["edit P/R"] = f"{p:.2f}/{r:.2f}"
    return result
