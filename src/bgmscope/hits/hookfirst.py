"""The hook against the first 15 s, on the same songs: does the seed's first-15-s clip hear what
the chorus-like window does?

Hook clips come from the ``features`` table: the pipeline's prepare stage (the song pass) cuts every
song's hook clip and the features stage describes every clip, so after ``bgmscope run`` nothing is
decoded here. Only a catalog without hook clips (prepared by ``bgmscope prepare`` alone, then
``versions``) falls back to the versions stage's ``hook_positions`` (kept: it is small and costs
nothing when hook clips exist): each song's window there is decoded
the way ``prepare`` cuts clips (mono, the catalog's rate, scaled down only if it would clip) and
described by :func:`bgmscope.features.extract.extract_clip`, cached by content hash, window and
extractor version (``<data>/cache/hookfeat/``) so a rerun decodes nothing.

``hits_hook_vs_first`` (one row per numeric descriptor): paired Wilcoxon signed-rank test of
hook − first over the songs that have both, BH q over the descriptors, and the matched-pairs
rank-biserial correlation (Kerby 2014: share of the rank sum of |d| where the hook is higher minus
where it is lower; +1: every song's hook is higher).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy import stats as sps

from ..catalog import Catalog
from ..engine import run_map
from ..errors import DecodeError
from ..features.extract import CATEGORICAL, FEATURE_VERSION, descriptor_columns, extract_clip
from ..fsutil import atomic_path
from . import stats

COLUMNS = ["feature", "n", "median_first", "median_hook", "median_diff", "p", "q", "rank_biserial", "source"]
SOURCE_CLIPS = "hook clips (prepare --clip hook)"
SOURCE_POSITIONS = "hook_positions (versions stage)"


@dataclass(frozen=True)
class HookTask:
    path: str
    sha256: str
    start_s: float
    length_s: float
    sample_rate: int
    cache_dir: str


def _cache_file(t: HookTask) -> Path:
    return Path(t.cache_dir) / f"{t.sha256}-{t.start_s:.3f}-{t.length_s:g}-{t.sample_rate}-f{FEATURE_VERSION}.npz"


def describe_hook(task: HookTask) -> dict:
    """Worker: the descriptors of one song's hook window (cached)."""
    from ..audio.decode import load

    cache = _cache_file(task)
    if cache.exists():
        z = np.load(cache)
        return {"values": dict(zip([str(n) for n in z["names"]], z["values"].tolist(), strict=True)),
                "cached": True}
    y, sr = load(task.path, sr=task.sample_rate, offset=task.start_s, duration=task.length_s)
    if y.size < sr:  # less than a second where the hook should be
        raise DecodeError(f"only {y.size / sr:.2f} s of audio at the hook ({task.start_s:.1f} s)")
    peak = float(np.max(np.abs(y)))
    if peak > 1.0:  # as prepare does before writing PCM_16
        y = y / peak
    # and as its 16-bit file reads back, so a hook at 0 s describes exactly like the first clip
    buf = io.BytesIO()
    sf.write(buf, y, sr, subtype="PCM_16", format="WAV")
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    values = extract_clip(y, sr)
    names = np.asarray(list(values))
    with atomic_path(cache, durable=False) as tmp:  # a regenerable cache
        with open(tmp, "wb") as fh:
            np.savez(fh, names=names, values=np.asarray([values[n] for n in names], dtype=np.float64))
    return {"values": values, "cached": False}


def needs_positions(catalog: Catalog) -> bool:
    """True when the features table has first-15-s clips but no hook clips (so the hook windows
    of ``hook_positions`` are to be described)."""
    if not catalog.has_table("features") or not catalog.has_table("hook_positions"):
        return False
    kinds = set(catalog.query("SELECT DISTINCT clip_kind FROM features")["clip_kind"])
    return "first" in kinds and "hook" not in kinds


def hook_features_from_positions(catalog: Catalog, *, data_dir: Path, sample_rate: int, jobs: int | None = None,
                                 failures: list[tuple[str, str]] | None = None) -> pd.DataFrame | None:
    """A features-like frame (track_id, clip_kind 'hook', clip_index 0, descriptors) of every song
    in ``hook_positions``; None without that table. Songs whose window cannot be described are
    appended to ``failures`` and left out."""
    if not catalog.has_table("hook_positions"):
        return None
    hooks = catalog.read_frame("hook_positions")
    audio = catalog.audio_files(status="ok")
    if hooks.empty or audio.empty:
        return None
    path_of = dict(zip(audio["sha256"], audio["path"], strict=False))
    owners: dict[HookTask, list[str]] = {}
    cache_dir = str(Path(data_dir) / "cache" / "hookfeat")
    for r in hooks.itertuples():
        if r.audio_sha256 in path_of and np.isfinite(r.hook_start_s):
            t = HookTask(str(path_of[r.audio_sha256]), str(r.audio_sha256), round(float(r.hook_start_s), 3),
                         float(r.hook_length_s), int(sample_rate), cache_dir)
            owners.setdefault(t, []).append(str(r.track_id))
    rows = []
    for out in run_map(describe_hook, list(owners), jobs=jobs, desc="hook clips", show_progress=False):
        if not out.ok:
            if failures is not None:
                failures.append((out.item.path, f"hook clip at {out.item.start_s:.1f} s: {out.error}"))
            continue
        for track_id in owners[out.item]:
            rows.append({"track_id": track_id, "clip_kind": "hook", "clip_index": 0, **out.result["values"]})
    return pd.DataFrame(rows) if rows else None


def rank_biserial(d: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of differences ``d`` (zeros dropped, as Wilcoxon's)."""
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    r = sps.rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def compare(first: pd.DataFrame, hook: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Per numeric descriptor: hook − first over the songs in both frames (one row per track_id)."""
    a = first.set_index("track_id")
    b = hook.set_index("track_id")
    ids = a.index.intersection(b.index)
    cols = [c for c in descriptor_columns(a, "numeric") if c in b.columns and c not in CATEGORICAL]
    rows = []
    for c in cols:
        x = pd.to_numeric(a.loc[ids, c], errors="coerce").to_numpy(float)
        y = pd.to_numeric(b.loc[ids, c], errors="coerce").to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        d = y - x
        if x.size < stats.MIN_SONGS or not np.any(d != 0):
            continue  # too few pairs, or the two clips agree on every song (nothing to test)
        p = stats.wilcoxon_p(d)
        rows.append({"feature": c, "n": int(x.size), "median_first": float(np.median(x)),
                     "median_hook": float(np.median(y)), "median_diff": float(np.median(d)), "p": p,
                     "rank_biserial": rank_biserial(d)})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("q", "source")])
    out["q"] = stats.bh_qvalues(out["p"])
    out["source"] = source
    return out.sort_values(["p", "feature"], kind="stable").reset_index(drop=True)[COLUMNS]


def findings(table: pd.DataFrame, *, alpha: float = 0.05, top: int = 3) -> str:
    """One ``hits_summary`` sentence on what differs between the hook and the first 15 s."""
    n = int(table["n"].max())
    sig = table[table["q"] < alpha]
    if sig.empty:
        return (f"hook vs first 15 s ({n} songs): no descriptor differs at FDR {alpha:g} across "
                f"{len(table)} paired tests (smallest q = {table['q'].min():.2f})")
    big = sig.reindex(sig["rank_biserial"].abs().sort_values(ascending=False).index).head(top)
    parts = ", ".join(f"{r.feature} {'higher' if r.rank_biserial > 0 else 'lower'} in the hook "
                      f"(median {r.median_first:.3g} → {r.median_hook:.3g}, r = {r.rank_biserial:+.2f}, q = {r.q:.2g})"
                      for r in big.itertuples())
    return (f"hook vs first 15 s ({n} songs): {len(sig)} of {len(table)} descriptors differ at FDR {alpha:g} "
            f"(Wilcoxon signed-rank); largest: {parts}")


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c not in ("feature", "source") else object) for c in COLUMNS})

