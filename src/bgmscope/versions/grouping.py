"""Duplicate edits: find cuts and edits of the same recording ('学猫叫-剪辑版', '生日快乐~1').

Each song becomes a gain-invariant sequence of spectral-shape and chroma frames (4 per second).
Two songs are versions of one recording when, at some time offset, their frames agree almost
everywhere they overlap: the mean cosine similarity of the aligned frames, found for every offset
at once by FFT cross-correlation (scipy.signal), passes ``threshold``. Matches are joined into groups
(connected components); each group gets a representative (the longest file) so the analyses can count a
song once however many edits of it sit on the chart.

What it finds: cuts at any offset and length, gain changes, re-encodes. What it does not: covers,
tempo-changed or re-arranged versions (those are different recordings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import correlate, correlation_lags, fftconvolve
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..audio.stft import N_FFT, check_stft, stft_hop
from ..errors import ParameterError

HOP_S = 0.25            # one signature frame per 0.25 s
SMOOTH_S = 0.75         # frames average this much audio, so a sub-hop misalignment barely matters
MIN_OVERLAP_S = 8.0     # two songs must share at least this much audio to be called versions
DEFAULT_THRESHOLD = 0.85  # cuts score >= 0.97, unrelated songs <= 0.72 in development


def version_signature(y: np.ndarray, sr: int, *, S: np.ndarray | None = None) -> np.ndarray:
    """Frames (n, d) float32 of a song: per-frame centred log spectral shape and log chroma, each
    half unit-norm, so the cosine of two frames is in [-1, 1] and a gain change leaves it unchanged.
    Near-silent frames are all zero (they neither match nor mismatch).

    ``S``: the song's magnitude STFT (``n_fft=2048``, ``hop_length=stft_hop(sr)``), shared with
    :func:`bgmscope.prepare.hook.find_hook` so a song is transformed once."""
    import librosa
    import scipy.ndimage

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"expected a non-empty mono signal, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("the signal holds NaN or infinite samples")
    hop = stft_hop(sr)
    S = check_stft(S, y, sr) ** 2 if S is not None else np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop)) ** 2
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=40, fmax=min(8000.0, sr / 2))
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, tuning=0.0)  # edits share tuning; no estimate (fails on silence)
    size = max(1, int(round(SMOOTH_S * sr / hop)))
    step = max(1, int(round(HOP_S * sr / hop)))
    energy = scipy.ndimage.uniform_filter1d(mel.sum(axis=0), size=size)[::step]
    parts = []
    for X in (mel, chroma):
        X = scipy.ndimage.uniform_filter1d(X, size=size, axis=1)[:, ::step]
        X = np.log(X / (X.max(axis=0, keepdims=True) + 1e-20) + 1e-3)  # frame-relative: gain-free
        X = X - X.mean(axis=0, keepdims=True)
        X = X / (np.linalg.norm(X, axis=0, keepdims=True) + 1e-9)
        parts.append(X / np.sqrt(2))
    F = np.vstack(parts).T.astype(np.float32)
    silent = energy < (energy.max() * 1e-4 if energy.size else 0) + 1e-12
    F[silent] = 0.0
    return F




@dataclass(frozen=True)
class Alignment:
    score: float       # mean cosine of aligned frames over the overlap (1 = identical audio)
    offset_s: float    # where b starts inside a (negative: a starts inside b)
    overlap_s: float   # audio both share at that offset


def align(a: np.ndarray, b: np.ndarray, *, min_overlap_s: float = MIN_OVERLAP_S) -> Alignment:
    """Best alignment of two signatures over every offset (FFT cross-correlation)."""
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return Alignment(float("nan"), 0.0, 0.0)
    va = (np.abs(a).sum(axis=1) > 0).astype(float)
    vb = (np.abs(b).sum(axis=1) > 0).astype(float)
    # corr[k] = sum_t a[t + k] . b[t] for every lag k in -(nb-1) .. na-1: the cross-correlation
    # along time (b reversed and convolved), summed over the signature's dimensions
    corr = fftconvolve(a, b[::-1], mode="full", axes=0).sum(axis=1)
    cnt = np.round(correlate(va, vb, mode="full", method="fft"))  # frames both have at each lag
    lags = correlation_lags(na, nb, mode="full")
    need = max(1.0, min_overlap_s / HOP_S)
    need = min(need, 0.9 * min(va.sum(), vb.sum()))  # a very short clip still can match as a whole
    ok = cnt >= max(need, 1.0)
    if not ok.any():
        return Alignment(float("nan"), 0.0, 0.0)
    mean = np.where(ok, corr / np.maximum(cnt, 1), -np.inf)
    k = int(np.argmax(mean))
    return Alignment(float(mean[k]), float(lags[k] * HOP_S), float(cnt[k] * HOP_S))


def _prefilter(sigs: list[np.ndarray]) -> np.ndarray:
    """Cosine of whole-song mean frames: a cheap bound to skip pairs that cannot be versions."""
    m = np.array([s.mean(axis=0) if len(s) else np.zeros(sigs[0].shape[1]) for s in sigs])
    m = m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)
    return m @ m.T


def find_versions(
    signatures: dict[str, np.ndarray],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_overlap_s: float = MIN_OVERLAP_S,
    prefilter: float = 0.0,
    report_above: float = 0.7,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare every pair of songs; group versions.

    Parameters
    ----------
    signatures : dict
        track_id -> :func:`version_signature`.
    threshold : float
        Mean aligned cosine at or above which two songs are versions of one recording.
    prefilter : float
        Pairs whose whole-song mean frames have a cosine below this are not aligned. Off by
        default: a 15 s cut of one section against its whole pop-form song scored as low as 0.72
        in development while unrelated songs reached 0.92, so it only saves time at a recall risk.
        Aligning two 2-3 min songs takes ~1.2 ms, so a 400-song chart (80k pairs) costs ~100 s.

    Returns
    -------
    (pairs, groups)
        ``pairs``: track_a, track_b, score, offset_s, overlap_s, duplicate (pairs scoring at least
        ``report_above``). ``groups``: track_id, group_id, group_size, best_match, best_score,
        offset_s, signature_s.
    """
    if not 0 < threshold <= 1:
        raise ParameterError(f"threshold must be in (0, 1], got {threshold}")
    ids = list(signatures)
    sigs = [signatures[i] for i in ids]
    n = len(ids)
    pre = _prefilter(sigs) if n else np.zeros((0, 0))
    dup_edges: list[tuple[int, int]] = []
    rows = []
    best = {i: (None, float("nan"), 0.0) for i in range(n)}
    for i in range(n):
        for j in range(i + 1, n):
            if pre[i, j] < prefilter:
                continue
            al = align(sigs[i], sigs[j], min_overlap_s=min_overlap_s)
            if not np.isfinite(al.score):
                continue
            for a, b, off in ((i, j, al.offset_s), (j, i, -al.offset_s)):
                if best[a][0] is None or al.score > best[a][1]:
                    best[a] = (b, al.score, off)
            dup = al.score >= threshold
            if dup:
                dup_edges.append((i, j))
            if al.score >= report_above:
                rows.append({"track_a": ids[i], "track_b": ids[j], "score": al.score,
                             "offset_s": al.offset_s, "overlap_s": al.overlap_s, "duplicate": dup})
    pairs = pd.DataFrame(rows, columns=["track_a", "track_b", "score", "offset_s", "overlap_s", "duplicate"])
    lengths = np.array([len(s) * HOP_S for s in sigs])
    # versions are the connected components of the graph of duplicate pairs
    edges = np.array(dup_edges, dtype=int).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(int(label[i]), []).append(i)
    out = []
    for group in members.values():
        rep = max(group, key=lambda k: (lengths[k], ids[k]))  # the longest file is the full version
        for k in group:
            b, s, off = best[k]
            out.append({"track_id": ids[k], "group_id": ids[rep], "group_size": len(group),
                        "is_representative": k == rep,
                        "best_match": ids[b] if b is not None else None, "best_score": s,
                        "offset_s": off if b is not None else None, "signature_s": lengths[k]})
    groups = pd.DataFrame(out, columns=["track_id", "group_id", "group_size", "is_representative",
                                        "best_match", "best_score", "offset_s", "signature_s"])
    return pairs, groups.sort_values(["group_id", "track_id"]).reset_index(drop=True)


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
