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


def _rows(M: np.ndarray, start: int, n: int) -> np.ndarray:
    """Rows ``start .. start + n`` of M, zeros where they fall outside it."""
    out = np.zeros((n, *M.shape[1:]), M.dtype)
    lo, hi = max(0, start), min(len(M), start + n)
    if hi > lo:
        out[lo - start: hi - start] = M[lo:hi]
    return out


def _stacked(mats: list[np.ndarray]) -> np.ndarray:
    """Arrays of different lengths stacked on a new first axis, zero-padded to the longest."""
    out = np.zeros((len(mats), max(len(m) for m in mats), *mats[0].shape[1:]), mats[0].dtype)
    for i, m in enumerate(mats):
        out[i, : len(m)] = m
    return out


def _ncc(num, Ea, Eb, cnt, ok_lag, need: float, fa_sum: float, fb_sum) -> np.ndarray:
    """Normalised cross-correlation of globally centred copies, weighed by the share of the shorter
    song the overlap covers (a short overlap correlates high by chance); -inf where not allowed."""
    ok = ok_lag & (cnt >= need) & (Ea > 1e-6) & (Eb > 1e-6)
    cover = np.sqrt(np.minimum(1.0, cnt / np.maximum(1.0, np.minimum(fa_sum, fb_sum))))
    with np.errstate(invalid="ignore", divide="ignore"):
        v = cover * num / np.sqrt(np.maximum(Ea * Eb, 1e-12))
    return np.where(ok, v, -np.inf)


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
        self._stretched: dict[float, tuple] = {}   # the grid's stretched copies
        self._grid: tuple | None = None   # (grid, nfft, spectra): the last FFT size only (memory)

    def a_spectra(self, nfft: int) -> tuple:
        if nfft not in self._a:
            self._a[nfft] = (rfft(self.X, nfft, axis=0), rfft(self.e, nfft), rfft(self.f, nfft))
        return self._a[nfft]

    def stretched(self, r: float, *, cache: bool = False) -> tuple:
        """(centred stretched coarse copy, its band energies, its mask as floats)."""
        hit = self._stretched.get(r)
        if hit is None:
            Br = stretch_time(self.C, r)
            mr = stretch_time(self.mc[:, None].astype(np.float32), r)[:, 0] > 0.5
            X = _centred(Br, mr)
            hit = X, (X.astype(np.float64) ** 2).sum(axis=1), mr.astype(np.float64)
            if cache:
                self._stretched[r] = hit
        return hit

    def grid_lengths(self, grid: tuple[float, ...]) -> list[int]:
        return [max(1, int(np.floor((len(self.C) - 1) * r)) + 1) for r in grid]

    def b_spectra(self, grid: tuple[float, ...], nfft: int) -> tuple:
        """For every factor of the grid: the reversed stretched copy's spectra (stacked, at FFT size
        ``nfft`` or the larger one kept from an earlier pair: zero padding changes no correlation),
        the FFT size, and each copy's length and mask sum."""
        if self._grid is None or self._grid[0] != grid or self._grid[1] < nfft:
            parts = [self.stretched(r, cache=True) for r in grid]
            FX = np.stack([rfft(X[::-1], nfft, axis=0) for X, _, _ in parts])
            Fe = rfft(_stacked([e[::-1] for _, e, _ in parts]), nfft, axis=1)
            Ff = rfft(_stacked([f[::-1] for _, _, f in parts]), nfft, axis=1)
            lens = np.array([len(X) for X, _, _ in parts])
            fsum = np.array([f.sum() for _, _, f in parts])
            self._grid = (grid, nfft, (FX, Fe, Ff, lens, fsum))
        return (*self._grid[2], self._grid[1])


def _grid_best(A: Song, B: Song, grid: tuple[float, ...], need: float) -> tuple[float, float, int]:
    """(score, factor, lag) of the best lag over every factor of the grid (b stretched by the factor
    starts ``lag`` coarse frames into a), by FFT cross-correlation from the songs' cached spectra:
    the bands' products are summed before one inverse FFT (the transform is linear), all factors
    in one transform."""
    la, lbs = len(A.X), B.grid_lengths(grid)
    nfft = 1 << int(np.ceil(np.log2(la + max(lbs) - 1)))
    FXb, Feb, Ffb, lens, fsum, nfft = B.b_spectra(grid, nfft)
    FXa, Fea, Ffa = A.a_spectra(nfft)
    prod = np.stack([np.einsum("ij,rij->ri", FXa, FXb), Fea * Ffb, Ffa * Feb, Ffa * Ffb], axis=1)
    n = la + int(lens.max()) - 1
    num, Ea, Eb, cnt = np.moveaxis(irfft(prod, nfft, axis=2)[:, :, :n], 1, 0)
    k = np.arange(n)
    ok = k[None, :] < (la + lens - 1)[:, None]       # output k is lag k - (len_r - 1)
    v = _ncc(num, Ea, Eb, np.round(cnt), ok, need, float(A.f.sum()), fsum[:, None])
    i, j = np.unravel_index(int(np.argmax(v)), v.shape)
    return float(v[i, j]), float(grid[i]), int(j - (lens[i] - 1))


def _near_best(A: Song, B: Song, factors: np.ndarray, need: float, lag0: int, w: int) -> tuple[float, float, int]:
    """:func:`_grid_best` over other factors, keeping to lags within w of lag0: only 2w + 1 lags,
    so computed directly, every factor in one product each."""
    la = len(A.X)
    parts = [B.stretched(float(r)) for r in factors]
    lens = np.array([len(X) for X, _, _ in parts])
    n = int(lens.max())
    X = _stacked([p[0] for p in parts]).reshape(len(factors), -1)               # (factors, n * bands)
    e, f = _stacked([p[1] for p in parts]).astype(np.float32), _stacked([p[2] for p in parts]).astype(np.float32)
    lags = np.arange(lag0 - w, lag0 + w + 1)
    # a's frames from the first lag to the last lag's end (zeros outside a)
    ax = _rows(A.X, int(lags[0]), len(lags) - 1 + n)
    ae = _rows(A.e.astype(np.float32), int(lags[0]), len(lags) - 1 + n)
    af = _rows(A.f.astype(np.float32), int(lags[0]), len(lags) - 1 + n)
    num, Ea, Eb, cnt = (np.empty((len(lags), len(factors)), np.float32) for _ in range(4))
    for i in range(len(lags)):     # b's frame j meets a's frame lag + j: contiguous slices, BLAS products
        num[i] = X @ ax[i: i + n].reshape(-1)
        Ea[i], Eb[i], cnt[i] = f @ ae[i: i + n], e @ af[i: i + n], f @ af[i: i + n]
    ok = (lags[:, None] >= -(lens[None, :] - 1)) & (lags[:, None] <= la - 1)
    v = _ncc(num, Ea, Eb, np.round(cnt), ok, need, float(A.f.sum()), f.sum(axis=1)[None, :]).T
    i, j = np.unravel_index(int(np.argmax(v)), v.shape)
    return float(v[i, j]), float(factors[i]), int(lags[j])


def _overlap_best(A: Song, B: Song, factors, lag1: int, need: float, w: int = 2) -> tuple[float, float, int, bool, int]:
    """(score, factor, lag, shifted, frames): the best full-resolution overlap score over the
    factors, the band axis as is or shifted with the speed, and the lags within w of lag1.

    The score of b placed at ``lag`` frames inside a: over the frames both play, each band centred,
    then the cosine of the two (time x band) blocks, from sums over the overlap:
    sum (a - mean a)(b - mean b) = sum ab - sum a sum b / k, for every placement at once."""
    configs, bands, masks = [], [], []
    for r in factors:
        Br = stretch_time(B.D, r)
        mr = stretch_time(B.mask[:, None].astype(np.float32), r)[:, 0] > 0.5
        s = BANDS_PER_OCTAVE * np.log2(r)
        for shifted in ((False, True) if abs(s) > 0.05 else (False,)):
            configs.append((float(r), shifted))
            bands.append((shift_bands(Br, s) if shifted else Br).astype(np.float32))
            masks.append(mr.astype(np.float32))
    mb = _stacked(masks)                                                        # (c, n)
    Bm = _stacked(bands) * mb[:, :, None]                                       # (c, n, bands)
    Bm2 = Bm ** 2
    c_n, n, nb = Bm.shape
    lags = np.arange(lag1 - w, lag1 + w + 1)
    # a's frames from the first lag to the last lag's end (zeros outside a), silent frames zeroed
    ma = _rows(A.mask.astype(np.float32), int(lags[0]), len(lags) - 1 + n)
    Am = _rows(A.D.astype(np.float32), int(lags[0]), len(lags) - 1 + n) * ma[:, None]
    Am2 = Am ** 2
    k, s_ab = np.empty((len(lags), c_n), np.float32), np.empty((len(lags), c_n), np.float32)
    s_a, s_aa, s_b, s_bb = (np.empty((len(lags), c_n, nb), np.float32) for _ in range(4))
    flat_b = Bm.reshape(c_n, -1)
    for i in range(len(lags)):     # b's frame j meets a's frame lag + j: contiguous slices, BLAS products
        seg, seg2, m = Am[i: i + n], Am2[i: i + n], ma[i: i + n]
        k[i], s_ab[i] = mb @ m, flat_b @ seg.reshape(-1)
        s_a[i], s_aa[i] = mb @ seg, mb @ seg2
        s_b[i], s_bb[i] = m @ Bm, m @ Bm2
    kk = np.maximum(k, 1.0)[:, :, None]
    num = s_ab - (s_a * s_b / kk).sum(axis=2)
    ea = (s_aa - s_a ** 2 / kk).sum(axis=2)
    eb = (s_bb - s_b ** 2 / kk).sum(axis=2)
    den = np.sqrt(np.maximum(ea, 0) * np.maximum(eb, 0))
    kr = np.round(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where((kr >= need) & (den > 1e-9), num / den, -np.inf).T         # (c, l)
    i, j = np.unravel_index(int(np.argmax(v)), v.shape)
    r, shifted = configs[i]
    return float(v[i, j]), r, int(lags[j]), shifted, int(kr[j, i])


def align(a: np.ndarray, b: np.ndarray, *, min_overlap_s: float = MIN_OVERLAP_S,
          max_stretch: float = MAX_STRETCH) -> Alignment:
    """Best alignment of two signatures' ``frames`` over every offset and speed factor."""
    return align_songs(Song(a), Song(b), min_overlap_s=min_overlap_s, max_stretch=max_stretch)


def align_songs(A: Song, B: Song, *, min_overlap_s: float = MIN_OVERLAP_S,
                max_stretch: float = MAX_STRETCH) -> Alignment:
    """:func:`align` of two prepared songs (reuse each :class:`Song` across the pairs it is in)."""
    if len(A.F) < 2 or len(B.F) < 2 or not A.mask.any() or not B.mask.any():
        return NO_ALIGNMENT
    ma, mb = A.mask, B.mask
    need = max(2.0, min(min_overlap_s / HOP_S, 0.9 * min(ma.sum(), mb.sum())))
    if not A.ok or not B.ok:
        return NO_ALIGNMENT
    steps = COARSE_STEPS if max_stretch > 1 else 0
    grid = tuple(float(r) for r in max_stretch ** (np.arange(-steps, steps + 1) / max(steps, 1)))
    v, r0, lag0 = _grid_best(A, B, grid, need / 2)
    if not np.isfinite(v):
        return NO_ALIGNMENT
    # refine the factor on the coarse copy near the coarse lag
    fine = r0 * (1 + FINE_STEP) ** np.arange(-5, 6) if steps else np.array([1.0])
    fine = fine[(fine <= max_stretch * 1.0001) & (fine >= 1 / max_stretch / 1.0001)]
    v, r1, lag1 = _near_best(A, B, fine, need / 2, lag0, 8)
    if not np.isfinite(v):
        r1, lag1 = r0, lag0
    # full resolution: the factor +- one step, the band axis as is or shifted with the speed
    factors = (r1 / (1 + FINE_STEP), r1, r1 * (1 + FINE_STEP)) if steps else (1.0,)
    v, r, lag, shifted, k = _overlap_best(A, B, factors, 2 * lag1, need)
    if not np.isfinite(v):
        return NO_ALIGNMENT
    return Alignment(float(v), float(lag * HOP_S), float(k * HOP_S), float(r), bool(shifted))
