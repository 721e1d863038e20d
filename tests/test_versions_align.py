"""The batched alignment search (every speed factor in one transform or product, from each song's
cached spectra) finds what a direct search finds: each factor and lag scored on its own, by
full-length convolutions and a cosine of the centred overlap blocks. The direct search below is
the reference; it is slow and written for clarity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve
from test_versions import SR, beat_song, sig, speed

from bgmscope.versions import align as AL
from bgmscope.versions.grouping import DEFAULT_THRESHOLD, PairBatch, align_batch


def _ncc_direct(A, ma, B, mb, need, near=None):
    Xa, Xb = AL._centred(A, ma), AL._centred(B, mb)
    num = fftconvolve(Xa, Xb[::-1], mode="full", axes=0).sum(axis=1)
    fa, fb = ma.astype(float), mb.astype(float)
    Ea = fftconvolve((Xa ** 2).sum(axis=1), fb[::-1], mode="full")
    Eb = fftconvolve(fa, (Xb ** 2).sum(axis=1)[::-1], mode="full")
    cnt = np.round(fftconvolve(fa, fb[::-1], mode="full"))
    lags = np.arange(len(cnt)) - (len(B) - 1)
    ok = (cnt >= need) & (Ea > 1e-6) & (Eb > 1e-6)
    if near is not None:
        ok &= np.abs(lags - near[0]) <= near[1]
    if not ok.any():
        return 0, -np.inf
    cover = np.sqrt(np.minimum(1.0, cnt / max(1.0, min(fa.sum(), fb.sum()))))
    ncc = np.where(ok, cover * num / np.sqrt(np.maximum(Ea * Eb, 1e-12)), -np.inf)
    k = int(np.argmax(ncc))
    return int(lags[k]), float(ncc[k])


def _overlap_direct(A, ma, B, mb, lag, need):
    a0, a1 = max(0, lag), min(len(A), lag + len(B))
    if a1 <= a0:
        return -np.inf, 0
    m = ma[a0:a1] & mb[a0 - lag: a1 - lag]
    k = int(m.sum())
    if k < need:
        return -np.inf, k
    xa, xb = A[a0:a1][m].astype(float), B[a0 - lag: a1 - lag][m].astype(float)
    xa, xb = xa - xa.mean(axis=0), xb - xb.mean(axis=0)
    den = np.sqrt((xa ** 2).sum() * (xb ** 2).sum())
    return (float((xa * xb).sum() / den), k) if den > 1e-9 else (-np.inf, k)


def align_direct(a, b, max_stretch=AL.MAX_STRETCH, min_overlap_s=AL.MIN_OVERLAP_S):
    A, B = AL.Song(a), AL.Song(b)
    need = max(2.0, min(min_overlap_s / AL.HOP_S, 0.9 * min(A.mask.sum(), B.mask.sum())))
    stretch_mask = lambda m, r: AL.stretch_time(m[:, None].astype(np.float32), r)[:, 0] > 0.5  # noqa: E731
    best = (-np.inf, 1.0, 0)
    for r in max_stretch ** (np.arange(-AL.COARSE_STEPS, AL.COARSE_STEPS + 1) / AL.COARSE_STEPS):
        lag, v = _ncc_direct(A.C, A.mc, AL.stretch_time(B.C, r), stretch_mask(B.mc, r), need / 2)
        if v > best[0]:
            best = (v, float(r), lag)
    if not np.isfinite(best[0]):
        return AL.NO_ALIGNMENT
    _, r0, lag0 = best
    fine = r0 * (1 + AL.FINE_STEP) ** np.arange(-5, 6)
    fine = fine[(fine <= max_stretch * 1.0001) & (fine >= 1 / max_stretch / 1.0001)]
    best = (-np.inf, r0, lag0)
    for r in fine:
        lag, v = _ncc_direct(A.C, A.mc, AL.stretch_time(B.C, r), stretch_mask(B.mc, r), need / 2, (lag0, 8))
        if v > best[0]:
            best = (v, float(r), lag)
    _, r1, lag1 = best
    out = (-np.inf, r1, 0, False, 0)
    for r in (r1 / (1 + AL.FINE_STEP), r1, r1 * (1 + AL.FINE_STEP)):
        Br, mr, s = AL.stretch_time(B.D, r), stretch_mask(B.mask, r), AL.BANDS_PER_OCTAVE * np.log2(r)
        for shifted in ((False, True) if abs(s) > 0.05 else (False,)):
            Bs = AL.shift_bands(Br, s) if shifted else Br
            for lag in range(2 * lag1 - 2, 2 * lag1 + 3):
                v, k = _overlap_direct(A.D, A.mask, Bs, mr, lag, need)
                if v > out[0]:
                    out = (v, float(r), lag, shifted, k)
    v, r, lag, shifted, k = out
    if not np.isfinite(v):
        return AL.NO_ALIGNMENT
    return AL.Alignment(v, lag * AL.HOP_S, k * AL.HOP_S, r, shifted)


@pytest.fixture(scope="module")
def songs():
    base = [beat_song(s, 45, tempo=t) for s, t in ((1, 120), (2, 100), (3, 132))]
    y = base[0]
    edits = {
        "cut": y[8 * SR: 30 * SR],
        "fast": speed(y, 1.06),                           # pitch moves with tempo: bands shifted
        "slow_cut": speed(y[5 * SR:], 0.93),
        "quiet_noisy": 0.2 * y + 0.01 * np.random.default_rng(0).standard_normal(len(y)).astype(np.float32),
    }
    out = {f"song{i}": sig(b).frames for i, b in enumerate(base)}
    out.update({k: sig(v).frames for k, v in edits.items()})
    return out


def test_batched_search_finds_what_the_direct_search_finds(songs):
    names = sorted(songs)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    got = {(a, b): al for a, b, al in align_batch(PairBatch(pairs, songs, AL.MIN_OVERLAP_S, AL.MAX_STRETCH))["alignments"]}
    assert set(got) == set(pairs)
    for a, b in pairs:
        want, have = align_direct(songs[a], songs[b]), got[(a, b)]
        assert have.score == pytest.approx(want.score, abs=1e-5), (a, b)
        assert (have.offset_s, have.overlap_s, have.stretch, have.pitch_shifted) == pytest.approx(
            (want.offset_s, want.overlap_s, want.stretch, want.pitch_shifted)), (a, b)
    # and the search is worth having: the edits of song0 pass the grouping threshold, other songs do not
    for e in ("cut", "fast", "quiet_noisy", "slow_cut"):
        pair = tuple(sorted(("song0", e)))
        assert got[pair].score >= DEFAULT_THRESHOLD, (pair, got[pair])
    assert max(got[p].score for p in [("song0", "song1"), ("song0", "song2"), ("song1", "song2")]) < 0.45
    fast = got[("fast", "song0")]
    assert fast.stretch == pytest.approx(1 / 1.06, rel=0.005) and fast.pitch_shifted


def test_a_song_as_second_of_many_pairs_gives_each_pair_its_own_answer(songs):
    """The second song's spectra are kept between pairs at the largest FFT size needed so far:
    a pair with a shorter partner reuses them, and gets what it gets alone."""
    pairs = [("cut", "song0"), ("quiet_noisy", "song0"), ("song1", "song0")]
    together = align_batch(PairBatch(pairs, songs, AL.MIN_OVERLAP_S, AL.MAX_STRETCH))["alignments"]
    for a, b, al in together:
        alone = AL.align(songs[a], songs[b])
        assert al.score == pytest.approx(alone.score, abs=1e-6) and al.offset_s == alone.offset_s
