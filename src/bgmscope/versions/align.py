"""Align two version signatures over their whole overlap, tolerant of a +-12 % speed change.

The score of a pair is the correlation of their aligned band-energy sequences (:mod:`.signature`)
over everything both songs play at that alignment: each band centred over the overlap (so gain and
a constant timbre cancel), then the cosine of the two centred (time x band) blocks. Two copies of
one recording move together in every band at every moment (re-encode ~0.95, 20 dB noise ~0.8);
two different recordings, however alike in timbre, key or tempo, do not (their notes and dynamics
differ frame by frame) — see ``bench/versions.py`` for both distributions.

A speed change is handled on the compact sequences, never on audio: the second song is stretched
in time by a factor from a coarse grid (1.4 % apart) and the best lag for each found by FFT
cross-correlation on a coarse copy (half-octave bands, 0.2 s frames); the best factor is refined
in 0.15 % steps, and at full resolution the band axis is optionally shifted by the same factor
(a resampled speed-up also raises the pitch; a time-stretch keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, rfft
from scipy.signal import fftconvolve

from .signature import BANDS_PER_OCTAVE, COARSE, HOP_S

MAX_STRETCH = 1.12
COARSE_STEPS = 8          # factors on each side of 1 in the coarse grid (1.12 ** (1/8) = 1.42 % apart)
FINE_STEP = 0.0015        # refinement step of the stretch factor (0.15 %)
MIN_OVERLAP_S = 8.0
SILENT_DB = 45.0
DETAIL_FRAMES = 20        # the score sees each band minus its 2 s moving average (section loudness out)
FRAME_CENTRE = True     # and each frame centred over its bands (a loudness change out)          # frames this far below the song's loudest take no part


@dataclass(frozen=True)
class Alignment:
    score: float        # correlation over the overlap (1 = the same audio); NaN: no overlap
    offset_s: float     # where b starts inside a, in a's seconds (negative: a starts inside b)
    overlap_s: float    # seconds of a that both share at that alignment
    stretch: float      # a's seconds per b's second (1.05: b is a 5 % speed-up of a)
    pitch_shifted: bool  # the bands of b were shifted by the stretch (a resampled speed change)


NO_ALIGNMENT = Alignment(float("nan"), 0.0, 0.0, 1.0, False)


def prepare(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames float32, their detail: each band minus its moving average, mask of non-silent frames)."""
    import scipy.ndimage

    F = np.asarray(frames, np.float32)
    if F.size == 0:
        return F.reshape(0, 0), F.reshape(0, 0), np.zeros(0, bool)
    loud = F.max(axis=1)
    D = F - scipy.ndimage.uniform_filter1d(F, size=DETAIL_FRAMES, axis=0, mode="nearest")
    if FRAME_CENTRE:
        D = D - D.mean(axis=1, keepdims=True)
    return F, D, loud >= loud.max() - SILENT_DB


def stretch_time(F: np.ndarray, r: float) -> np.ndarray:
    """F resampled in time by r (r > 1: longer), linear interpolation of each band."""
    n = len(F)
    m = max(1, int(np.floor((n - 1) * r)) + 1)
    u = np.arange(m) / r
    i0 = np.minimum(u.astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (u - i0)[:, None].astype(np.float32)
    return F[i0] * (1 - w) + F[i1] * w


def shift_bands(F: np.ndarray, s: float) -> np.ndarray:
    """Band j of the result is band j + s of F (fractional, edges held)."""
    if abs(s) < 1e-6:
        return F
    nb = F.shape[1]
    j = np.clip(np.arange(nb) + s, 0, nb - 1)
    j0 = np.minimum(j.astype(int), nb - 1)
    j1 = np.minimum(j0 + 1, nb - 1)
    w = (j - j0).astype(np.float32)
    return F[:, j0] * (1 - w) + F[:, j1] * w


def _coarse(F: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, nb = F.shape
    n2 = n // 2 * 2
    C = F[:n2, : nb - nb % COARSE].reshape(n2 // 2, 2, -1, COARSE).mean(axis=(1, 3))
    m = mask[:n2].reshape(-1, 2).all(axis=1)
    return C, m


def _centred(C: np.ndarray, m: np.ndarray) -> np.ndarray:
    if not m.any():
        return np.zeros_like(C)
    X = C - C[m].mean(axis=0)
    X[~m] = 0.0
    return X


def _ncc_all_lags(A: np.ndarray, ma: np.ndarray, B: np.ndarray, mb: np.ndarray,
                  need: float, near: tuple[int, int] | None = None) -> tuple[int, float]:
    """Best lag (b starts at lag frames in a) by globally centred normalised cross-correlation;
    ``near=(lag, w)`` keeps to lags within w of lag."""
    Xa, Xb = _centred(A, ma), _centred(B, mb)
    num = fftconvolve(Xa, Xb[::-1], mode="full", axes=0).sum(axis=1)
    ea, eb = (Xa ** 2).sum(axis=1), (Xb ** 2).sum(axis=1)
    fa, fb = ma.astype(float), mb.astype(float)
    Ea = fftconvolve(ea, fb[::-1], mode="full")
    Eb = fftconvolve(fa, eb[::-1], mode="full")
    cnt = np.round(fftconvolve(fa, fb[::-1], mode="full"))
    ok = (cnt >= need) & (Ea > 1e-6) & (Eb > 1e-6)
    if near is not None:
        lags = np.arange(len(ok)) - (len(B) - 1)
        ok &= np.abs(lags - near[0]) <= near[1]
    if not ok.any():
        return 0, -np.inf
    # a short overlap correlates high by chance: weigh by the share of the shorter song it covers
    cover = np.sqrt(np.minimum(1.0, cnt / max(1.0, min(fa.sum(), fb.sum()))))
    ncc = np.where(ok, cover * num / np.sqrt(np.maximum(Ea * Eb, 1e-12)), -np.inf)
    k = int(np.argmax(ncc))
    return k - (len(B) - 1), float(ncc[k])


def overlap_score(A: np.ndarray, ma: np.ndarray, B: np.ndarray, mb: np.ndarray, lag: int,
                  need: float) -> tuple[float, int]:
    """(score, frames) of b placed at ``lag`` frames inside a: each band centred over the frames
    both play, then the cosine of the two blocks."""
    a0, a1 = max(0, lag), min(len(A), lag + len(B))
    if a1 - a0 <= 0:
        return -np.inf, 0
    sa, sb = A[a0:a1], B[a0 - lag: a1 - lag]
    m = ma[a0:a1] & mb[a0 - lag: a1 - lag]
    k = int(m.sum())
    if k < need:
        return -np.inf, k
    xa, xb = sa[m], sb[m]
    xa = xa - xa.mean(axis=0)
    xb = xb - xb.mean(axis=0)
    den = float(np.sqrt((xa ** 2).sum() * (xb ** 2).sum()))
    if den <= 1e-9:
        return -np.inf, k
    return float((xa * xb).sum() / den), k


class Song:
    """One signature's frames made ready for aligning, once per song (not once per pair): the detail
    and mask, the coarse copy centred, its spectra as the first song of a pair (by FFT size), and
    its stretched coarse copies on the fixed grid of speed factors, with their spectra, as the
    second song of a pair. :func:`align_songs` reuses all of them across the pairs of a batch."""

    def __init__(self, frames: np.ndarray) -> None:
        self.F, self.D, self.mask = prepare(frames)
        ok = len(self.F) >= 2 and bool(self.mask.any())
        self.C, self.mc = _coarse(self.F, self.mask) if ok else (np.zeros((0, 0), np.float32), np.zeros(0, bool))
        self.ok = ok and len(self.C) >= 2
        self.X = _centred(self.C, self.mc) if self.ok else self.C
        self.e = (self.X.astype(np.float64) ** 2).sum(axis=1)
        self.f = self.mc.astype(np.float64)
        self._a: dict[int, tuple] = {}
        self._b: dict[tuple[float, int], tuple] = {}
        self._grid: dict[float, tuple] = {}

    def a_spectra(self, nfft: int) -> tuple:
        if nfft not in self._a:
            self._a[nfft] = (rfft(self.X, nfft, axis=0), rfft(self.e, nfft), rfft(self.f, nfft))
        return self._a[nfft]

    def stretched(self, r: float, *, cache: bool) -> tuple:
        """(centred stretched coarse copy, its mask, its band energies, its mask as floats)."""
        hit = self._grid.get(r) if cache else None
        if hit is None:
            Br = stretch_time(self.C, r)
            mr = stretch_time(self.mc[:, None].astype(np.float32), r)[:, 0] > 0.5
            X = _centred(Br, mr)
            hit = (X, mr, (X.astype(np.float64) ** 2).sum(axis=1), mr.astype(np.float64))
            if cache:
                self._grid[r] = hit
        return hit

    def b_spectra(self, r: float, nfft: int) -> tuple:
        key = (r, nfft)
        if key not in self._b:
            X, _, e, f = self.stretched(r, cache=True)
            self._b[key] = (rfft(X[::-1], nfft, axis=0), rfft(e[::-1], nfft), rfft(f[::-1], nfft))
        return self._b[key]


def _pick(num, Ea, Eb, cnt, lags, need: float, fa_sum: float, fb_sum: float) -> tuple[int, float]:
    """The best lag of a normalised cross-correlation (as :func:`_ncc_all_lags` scores it)."""
    ok = (cnt >= need) & (Ea > 1e-6) & (Eb > 1e-6)
    if not ok.any():
        return 0, -np.inf
    cover = np.sqrt(np.minimum(1.0, cnt / max(1.0, min(fa_sum, fb_sum))))
    ncc = np.where(ok, cover * num / np.sqrt(np.maximum(Ea * Eb, 1e-12)), -np.inf)
    k = int(np.argmax(ncc))
    return int(lags[k]), float(ncc[k])


def _grid_lags(A: Song, B: Song, r: float, need: float) -> tuple[int, float]:
    """:func:`_ncc_all_lags` of A and B stretched by a grid factor ``r``, from the songs' cached
    spectra: the bands' products are summed before one inverse FFT (the transform is linear)."""
    X, mr, _, f = B.stretched(r, cache=True)
    la, lb = len(A.X), len(X)
    nfft = 1 << int(np.ceil(np.log2(la + lb - 1)))
    FXa, Fea, Ffa = A.a_spectra(nfft)
    FXb, Feb, Ffb = B.b_spectra(r, nfft)
    prod = np.stack([np.einsum("ij,ij->i", FXa, FXb), Fea * Ffb, Ffa * Feb, Ffa * Ffb])
    num, Ea, Eb, cnt = irfft(prod, nfft, axis=1)[:, : la + lb - 1]
    lags = np.arange(la + lb - 1) - (lb - 1)
    return _pick(num, Ea, Eb, np.round(cnt), lags, need, float(A.f.sum()), float(f.sum()))


def _near_lags(A: Song, B: Song, r: float, need: float, lag0: int, w: int) -> tuple[int, float]:
    """:func:`_ncc_all_lags` with ``near=(lag0, w)``: only 2w+1 lags, so computed directly."""
    X, mr, e, f = B.stretched(r, cache=False)
    la, lb = len(A.X), len(X)
    lags = np.arange(max(lag0 - w, -(lb - 1)), min(lag0 + w, la - 1) + 1)
    if lags.size == 0:
        return 0, -np.inf
    # a's frames padded by lb on both sides: b frame j meets a frame lag + j
    pad = lambda v: np.concatenate([np.zeros((lb, *v.shape[1:]), v.dtype), v, np.zeros((lb, *v.shape[1:]), v.dtype)])  # noqa: E731
    Xa, ea, fa = pad(A.X.astype(np.float64)), pad(A.e), pad(A.f)
    idx = lags + lb
    win = np.lib.stride_tricks.sliding_window_view
    num = np.einsum("lkj,jk->l", win(Xa, lb, axis=0)[idx], X.astype(np.float64))
    Ea = win(ea, lb)[idx] @ f
    Eb = win(fa, lb)[idx] @ e
    cnt = np.round(win(fa, lb)[idx] @ f)
    return _pick(num, Ea, Eb, cnt, lags, need, float(A.f.sum()), float(f.sum()))


def align(a: np.ndarray, b: np.ndarray, *, min_overlap_s: float = MIN_OVERLAP_S,
          max_stretch: float = MAX_STRETCH) -> Alignment:
    """Best alignment of two signatures' ``frames`` over every offset and speed factor."""
    return align_songs(Song(a), Song(b), min_overlap_s=min_overlap_s, max_stretch=max_stretch)


def align_songs(A: Song, B: Song, *, min_overlap_s: float = MIN_OVERLAP_S,
                max_stretch: float = MAX_STRETCH) -> Alignment:
    """:func:`align` of two prepared songs (reuse each :class:`Song` across the pairs it is in)."""
    if len(A.F) < 2 or len(B.F) < 2 or not A.mask.any() or not B.mask.any():
        return NO_ALIGNMENT
    ma, mb, DA, DB = A.mask, B.mask, A.D, B.D
    need = max(2.0, min(min_overlap_s / HOP_S, 0.9 * min(ma.sum(), mb.sum())))
    if not A.ok or not B.ok:
        return NO_ALIGNMENT
    steps = COARSE_STEPS if max_stretch > 1 else 0
    grid = max_stretch ** (np.arange(-steps, steps + 1) / max(steps, 1))
    best = (-np.inf, 1.0, 0)
    for r in grid:
        lag, v = _grid_lags(A, B, float(r), need / 2)
        if v > best[0]:
            best = (v, float(r), lag)
    if not np.isfinite(best[0]):
        return NO_ALIGNMENT
    # refine the factor on the coarse copy near the coarse lag
    _, r0, lag0 = best
    fine = r0 * (1 + FINE_STEP) ** np.arange(-5, 6) if steps else np.array([1.0])
    fine = fine[(fine <= max_stretch * 1.0001) & (fine >= 1 / max_stretch / 1.0001)]
    best = (-np.inf, r0, lag0)
    for r in fine:
        lag, v = _near_lags(A, B, float(r), need / 2, lag0, 8)
        if v > best[0]:
            best = (v, float(r), lag)
    _, r1, lag1 = best
    # full resolution: the factor +- one step, the band axis as is or shifted with the speed
    out = (-np.inf, r1, 2 * lag1, False, 0)
    for r in (r1 / (1 + FINE_STEP), r1, r1 * (1 + FINE_STEP)) if steps else (1.0,):
        Br = stretch_time(DB, r)
        mr = stretch_time(mb[:, None].astype(np.float32), r)[:, 0] > 0.5
        s = BANDS_PER_OCTAVE * np.log2(r)
        for shifted in ((False, True) if abs(s) > 0.05 else (False,)):
            Bs = shift_bands(Br, s) if shifted else Br
            for lag in range(2 * lag1 - 2, 2 * lag1 + 3):
                v, k = overlap_score(DA, ma, Bs, mr, lag, need)
                if v > out[0]:
                    out = (v, float(r), lag, shifted, k)
    v, r, lag, shifted, k = out
    if not np.isfinite(v):
        return NO_ALIGNMENT
    return Alignment(float(v), float(lag * HOP_S), float(k * HOP_S), float(r), bool(shifted))
