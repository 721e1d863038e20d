"""Duplicate edits: find cuts and edits of the same recording ('学猫叫-剪辑版', '生日快乐~1').

1. **Candidates** (:mod:`.index`): nearest neighbours among every song's 10 s window embeddings;
   each song keeps a bounded number of partners, so the pairs grow linearly with the chart.
2. **Confirmation** (:mod:`.align`): each candidate pair is aligned over its whole overlap, with
   speed factors within +-12 %; its score is the correlation of the two songs' band-energy detail
   along that overlap. The pairs run in the engine's pool, in batches carrying their signatures.
3. **Grouping**: songs linked by confirmed pairs (score >= ``threshold``) form a component; its
   members are placed on one timeline through the strongest links, every pair expected to overlap
   there (and within the speed range of each other) is aligned too, and the component is split by
   average linkage over those pairs: two sets of songs join only when, on average, the pairs
   between them that play the same music match. One false link between two families is outvoted
   by the many pairs between them that do not match; two cuts of different parts of one song are
   not expected to overlap, so they do not count against each other.
4. **Representative**: the member closest to the group's (upper) median non-silent length, with the least
   leading and trailing silence (so neither a short cut nor a padded edit stands for the song).

What it finds: cuts at any offset and length, re-encodes, gain changes, noise, resampled speed
changes and time-stretches within +-12 %, added intros and silence. What it does not: covers,
remixes or re-arranged versions (those are different recordings).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .align import MAX_STRETCH, MIN_OVERLAP_S, Alignment, Song, align, align_songs  # noqa: F401
from .signature import Signature, version_signature  # noqa: F401 (re-exported: callers import it here)

DEFAULT_THRESHOLD = 0.6   # same recording >= 0.8, unrelated <= 0.45 in bench/versions.py
BATCH = 48                # pairs per pool task
MAX_COMPONENT = 400       # a component this large is not checked pair by pair (reported)

PAIR_COLUMNS = ["track_a", "track_b", "score", "offset_s", "overlap_s", "stretch", "pitch_shifted",
                "duplicate", "source"]
GROUP_COLUMNS = ["track_id", "group_id", "group_size", "is_representative", "best_match", "best_score",
                 "offset_s", "stretch", "signature_s", "duration_s", "lead_silence_s", "trail_silence_s"]


@dataclass(frozen=True)
class PairBatch:
    pairs: list[tuple[str, str]]
    frames: dict[str, np.ndarray]
    min_overlap_s: float
    max_stretch: float


def align_batch(batch: PairBatch) -> dict:
    """Worker: align each pair of a batch; its CPU seconds (pool workers are not our children)."""
    t0 = time.process_time()
    songs = {t: Song(f) for t, f in batch.frames.items()}  # each song prepared once per batch
    # a second song's stretched spectra serve all its pairs: its longest partner first sets the FFT size
    order = sorted(batch.pairs, key=lambda p: (p[1], -len(batch.frames[p[0]]), p[0]))
    out = [(a, b, align_songs(songs[a], songs[b], min_overlap_s=batch.min_overlap_s,
                              max_stretch=batch.max_stretch)) for a, b in order]  # BLAS: one thread (call_item)
    return {"alignments": out, "cpu_s": time.process_time() - t0}


def _align_all(pairs: list[tuple[str, str]], sigs: dict[str, Signature], *, min_overlap_s: float,
               max_stretch: float, jobs: int, engine: str | None, scheduler: str | None,
               failures: list[tuple[str, str]], cpu: list[float]) -> dict[tuple[str, str], Alignment]:
    from ..engine import run_map

    batches = []
    pairs = sorted(pairs, key=lambda p: (p[1], p[0]))  # a song's pairs as the second song together
    for s in range(0, len(pairs), BATCH):
        chunk = pairs[s: s + BATCH]
        names = {x for p in chunk for x in p}
        batches.append(PairBatch(chunk, {t: sigs[t].frames for t in names}, min_overlap_s, max_stretch))
    out: dict[tuple[str, str], Alignment] = {}
    for o in run_map(align_batch, batches, jobs=jobs if len(pairs) > BATCH else 1, desc="align pairs",
                     show_progress=False, engine=engine, scheduler=scheduler):
        if not o.ok:
            failures.append((f"{len(o.item.pairs)} pairs from {o.item.pairs[0][0]}", o.error))
            continue
        cpu.append(o.result["cpu_s"])
        for a, b, al in o.result["alignments"]:
            out[(a, b)] = al
    return out


def _components(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.array(edges, dtype=int).reshape(-1, 2)
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _place(members: list[str], strong: dict[tuple[str, str], Alignment]) -> dict[str, tuple[float, float]]:
    """Each member's map to one timeline, ``t = scale * t_own + offset``, along the strongest links
    (Prim's maximum spanning tree from the best-connected member)."""
    adj: dict[str, list[tuple[float, str, str, Alignment]]] = {m: [] for m in members}
    for (a, b), al in strong.items():
        adj[a].append((al.score, a, b, al))
        adj[b].append((al.score, a, b, al))
    root = max(members, key=lambda m: (len(adj[m]), m))
    place = {root: (1.0, 0.0)}
    frontier = list(adj[root])
    while frontier:
        frontier.sort(key=lambda e: e[0])
        _, a, b, al = frontier.pop()
        if a in place and b in place:
            continue
        if a in place:  # t_a = r * t_b + off
            sa, oa = place[a]
            place[b] = (sa * al.stretch, sa * al.offset_s + oa)
            new = b
        else:           # t_b = (t_a - off) / r
            sb, ob = place[b]
            place[a] = (sb / al.stretch, ob - sb * al.offset_s / al.stretch)
            new = a
        frontier.extend(adj[new])
    return place


def _comparable(a: str, b: str, place, sigs, min_overlap_s: float, max_stretch: float) -> bool:
    """Whether two placed members should play the same music for at least ``min_overlap_s``."""
    (sa, oa), (sb, ob) = place[a], place[b]
    if not 1 / max_stretch <= sb / sa <= max_stretch:
        return False
    ia = (oa + sa * sigs[a].lead_silence_s, oa + sa * (sigs[a].duration_s - sigs[a].trail_silence_s))
    ib = (ob + sb * sigs[b].lead_silence_s, ob + sb * (sigs[b].duration_s - sigs[b].trail_silence_s))
    return min(ia[1], ib[1]) - max(ia[0], ib[0]) >= min_overlap_s * max(sa, sb)


def _average_linkage(members: list[str], score: dict[tuple[str, str], float], comparable: set,
                     linked: set, threshold: float) -> list[list[str]]:
    """Merge clusters while the best mean score over comparable pairs between two clusters that
    share a confirmed link reaches ``threshold``."""
    clusters = [[m] for m in members]
    while len(clusters) > 1:
        best = (-np.inf, -1, -1)
        for x in range(len(clusters)):
            for y in range(x + 1, len(clusters)):
                vals, link = [], False
                for a in clusters[x]:
                    for b in clusters[y]:
                        key = (a, b) if a < b else (b, a)
                        link |= key in linked
                        if key in comparable and key in score:
                            vals.append(score[key])
                if link and vals and np.mean(vals) > best[0]:
                    best = (float(np.mean(vals)), x, y)
        if best[0] < threshold:
            break
        _, x, y = best
        clusters[x] = clusters[x] + clusters[y]
        del clusters[y]
    return clusters


def representative(members: list[str], sigs: dict[str, Signature]) -> str:
    """The member closest to the median non-silent length, with the least silence at its ends.

    The upper median: of a song and its one cut, the song."""
    lengths = sorted(sigs[m].active_s for m in members)
    med = lengths[len(lengths) // 2]
    return min(members, key=lambda m: (abs(sigs[m].active_s - med) + sigs[m].lead_silence_s
                                       + sigs[m].trail_silence_s, m))


def find_versions(
    signatures: dict[str, Signature],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_overlap_s: float = MIN_OVERLAP_S,
    max_stretch: float = MAX_STRETCH,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    with_stats: bool = False,
):
    """Group the versions among ``signatures`` (track_id -> :class:`~.signature.Signature`).

    Returns
    -------
    (pairs, groups) or (pairs, groups, stats)
        ``pairs``: every aligned pair (:data:`PAIR_COLUMNS`; ``duplicate``: score >= threshold;
        ``source``: 'index' or 'group check'). ``groups``: one row per song (:data:`GROUP_COLUMNS`).
        ``stats``: candidates, group_checks, index_s, threshold, failures, unchecked components,
        align_cpu_s (summed over the workers), main_cpu_s (this process: index, grouping, pickling).

    The alignments run where ``engine`` says; None: where the enclosing :func:`bgmscope.engine.use`
    block says (a ``--scheduler`` cluster included), as every pooled stage's map.
    """
    if not 0 < threshold <= 1:
        raise ParameterError(f"threshold must be in (0, 1], got {threshold}")
    if not 1 <= max_stretch <= 1.5:
        raise ParameterError(f"max_stretch must be in [1, 1.5], got {max_stretch}")
    from .index import candidate_pairs

    ids = sorted(signatures)
    sigs = {t: signatures[t] for t in ids}
    failures: list[tuple[str, str]] = []
    cpu: list[float] = []
    t0 = time.process_time()
    cands = candidate_pairs({t: s.windows for t, s in sigs.items()})
    index_s = time.process_time() - t0
    kw = dict(min_overlap_s=min_overlap_s, max_stretch=max_stretch, jobs=jobs, engine=engine,
              scheduler=scheduler, failures=failures, cpu=cpu)
    aligned = _align_all(cands, sigs, **kw)
    source = dict.fromkeys(aligned, "index")
    pos = {t: i for i, t in enumerate(ids)}
    strong = {k: al for k, al in aligned.items() if np.isfinite(al.score) and al.score >= threshold}
    label = _components(len(ids), [(pos[a], pos[b]) for a, b in strong])
    comps: dict[int, list[str]] = {}
    for t in ids:
        comps.setdefault(int(label[pos[t]]), []).append(t)
    # members of a component that should overlap: align those pairs too (in the pool, all at once)
    plans, extra, unchecked = {}, [], 0
    for c, members in comps.items():
        if len(members) < 3:
            continue
        if len(members) > MAX_COMPONENT:
            unchecked += 1
            continue
        inside = set(members)
        place = _place(members, {k: v for k, v in strong.items() if k[0] in inside})
        comparable = set()
        for x, a in enumerate(members):
            for b in members[x + 1:]:
                if (a, b) in strong or _comparable(a, b, place, sigs, min_overlap_s, max_stretch):
                    comparable.add((a, b))
                    if (a, b) not in aligned:
                        extra.append((a, b))
        plans[c] = comparable
    if extra:
        more = _align_all(sorted(extra), sigs, **kw)
        aligned.update(more)
        source.update(dict.fromkeys(more, "group check"))
    score = {k: al.score for k, al in aligned.items() if np.isfinite(al.score)}
    groups: list[list[str]] = []
    for c, members in comps.items():
        if c in plans:
            groups += _average_linkage(members, score, plans[c], set(strong), threshold)
        else:
            groups.append(members)
    pairs = pd.DataFrame([{"track_a": a, "track_b": b, "score": al.score, "offset_s": al.offset_s,
                           "overlap_s": al.overlap_s, "stretch": al.stretch, "pitch_shifted": al.pitch_shifted,
                           "duplicate": bool(np.isfinite(al.score) and al.score >= threshold),
                           "source": source[(a, b)]}
                          for (a, b), al in sorted(aligned.items()) if np.isfinite(al.score)],
                         columns=PAIR_COLUMNS)
    out = _group_rows(groups, aligned, sigs)
    if not with_stats:
        return pairs, out
    stats = {"candidates": len(cands), "group_checks": len(extra), "index_s": index_s, "threshold": threshold,
             "failures": failures, "unchecked_components": unchecked, "align_cpu_s": float(sum(cpu)),
             "main_cpu_s": time.process_time() - t0}
    return pairs, out, stats


def _group_rows(groups: list[list[str]], aligned: dict[tuple[str, str], Alignment],
                sigs: dict[str, Signature]) -> pd.DataFrame:
    best: dict[str, tuple[str, Alignment, bool]] = {}
    for (a, b), al in aligned.items():
        if not np.isfinite(al.score):
            continue
        for me, other, flip in ((a, b, False), (b, a, True)):
            if me not in best or al.score > best[me][1].score:
                best[me] = (other, al, flip)
    rows = []
    for members in groups:
        rep = representative(members, sigs)
        for m in members:
            s = sigs[m]
            other, al, flip = best.get(m, (None, None, False))
            # offset: where best_match starts inside this song (negative: this one starts inside it)
            off = None if al is None else (-al.offset_s / al.stretch if flip else al.offset_s)
            stretch = None if al is None else (1 / al.stretch if flip else al.stretch)
            rows.append({"track_id": m, "group_id": rep, "group_size": len(members),
                         "is_representative": m == rep, "best_match": other,
                         "best_score": None if al is None else al.score, "offset_s": off,
                         "stretch": stretch, "signature_s": s.duration_s, "duration_s": s.duration_s,
                         "lead_silence_s": s.lead_silence_s, "trail_silence_s": s.trail_silence_s})
    df = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    return df.sort_values(["group_id", "track_id"]).reset_index(drop=True)


def pair_scores(groups: pd.DataFrame, truth: dict[str, str]) -> tuple[float, float]:
    """Precision and recall of the grouped pairs against ``truth`` (track_id -> true group key)."""
    pred = dict(zip(groups["track_id"], groups["group_id"], strict=True))
    ids = [t for t in pred if t in truth]
    tp = fp = fn = 0
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = ids[x], ids[y]
            same_pred, same_true = pred[a] == pred[b], truth[a] == truth[b]
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def collapse_groups(df: pd.DataFrame, groups: pd.DataFrame, *, id_col: str = "track_id") -> pd.DataFrame:
    """One row per version group: the representative's features, the group's summed user_count and
    user_incr and best rank (edits of one song share its audience). Songs without a group pass."""
    if groups is None or groups.empty or df.empty:
        return df
    gid = dict(zip(groups["track_id"], groups["group_id"], strict=True))
    df = df.copy()
    df["_group"] = df[id_col].map(lambda t: gid.get(t, t))
    sums = {c: df.groupby("_group")[c].sum(min_count=1) for c in ("user_count", "user_incr") if c in df}
    best_rank = df.groupby("_group")["rank"].min() if "rank" in df else None
    rep = df[df[id_col] == df["_group"]]
    lone = df[~df["_group"].isin(rep["_group"])].drop_duplicates("_group")  # rep not in df: keep one
    out = pd.concat([rep, lone], ignore_index=True)
    for c, s in sums.items():
        out[c] = out["_group"].map(s)
    if best_rank is not None:
        out["rank"] = out["_group"].map(best_rank)
    return out.drop(columns="_group").reset_index(drop=True)
