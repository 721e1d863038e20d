"""Compiled inner loops (numba, which librosa already depends on) for the few places where numpy
needs several passes and big temporaries over a whole clip, or a Python loop per frame.

Each kernel has a plain-numpy twin elsewhere in the package that the tests compare it with.
Compiled once per installation (``cache=True``), so a worker process pays only a load.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def moments4(x):
    """(mean, std, skew, kurt) of x in two passes, float64 accumulators, no temporaries.
    Constant input gives (mean, 0, 0, 0)."""
    n = x.size
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0
    s = 0.0
    for i in range(n):
        s += x[i]
    mean = s / n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for i in range(n):
        c = x[i] - mean
        c2 = c * c
        m2 += c2
        m3 += c2 * c
        m4 += c2 * c2
    var = m2 / n
    std = np.sqrt(var)
    if std <= 1e-12:
        return mean, 0.0, 0.0, 0.0
    return mean, std, (m3 / n) / std ** 3, (m4 / n) / (var * var)


@numba.njit(cache=True, nogil=True)
def diff_moments4(x):
    """moments4 of x[1:] - x[:-1] without building the difference (its mean is closed-form)."""
    n = x.size - 1
    if n <= 0:
        return 0.0, 0.0, 0.0, 0.0
    mean = (float(x[n]) - float(x[0])) / n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for i in range(n):
        c = (float(x[i + 1]) - float(x[i])) - mean
        c2 = c * c
        m2 += c2
        m3 += c2 * c
        m4 += c2 * c2
    var = m2 / n
    std = np.sqrt(var)
    if std <= 1e-12:
        return mean, 0.0, 0.0, 0.0
    return mean, std, (m3 / n) / std ** 3, (m4 / n) / (var * var)


@numba.njit(cache=True, nogil=True)
def prefix_energy_crossings(y, threshold):
    """Running sums over y: energy e[i] = sum(y[:i]^2) and sign changes z[i] among y[:i]."""
    n = y.size
    e = np.zeros(n + 1)
    z = np.zeros(n + 1, dtype=np.int64)
    acc = 0.0
    cnt = 0
    prev = False
    for i in range(n):
        v = float(y[i])
        acc += v * v
        neg = v < -threshold
        if i > 0 and neg != prev:
            cnt += 1
        prev = neg
        e[i + 1] = acc
        z[i + 1] = cnt
    return e, z


@numba.njit(cache=True, nogil=True)
def rolloff_flux(M, roll_percent):
    """Per frame of a frame-major magnitude spectrogram M (n_frames, n_bins): the rolloff bin
    (first bin where the running sum reaches roll_percent of the total) and the flux (L2 norm of
    the positive change of the L1-normalised spectrum from the previous frame)."""
    n, k = M.shape
    roll = np.zeros(n, dtype=np.int64)
    flux = np.zeros(n)
    prev_tot = 0.0
    for t in range(n):
        tot = 0.0
        for j in range(k):
            tot += M[t, j]
        thresh = roll_percent * tot
        run = 0.0
        idx = k - 1
        for j in range(k):
            run += M[t, j]
            if run >= thresh:
                idx = j
                break
        roll[t] = idx
        if t > 0:
            a = 1.0 / tot if tot > 0 else 0.0
            b = 1.0 / prev_tot if prev_tot > 0 else 0.0
            f = 0.0
            for j in range(k):
                d = M[t, j] * a - M[t - 1, j] * b
                if d > 0:
                    f += d * d
            flux[t] = np.sqrt(f)
        prev_tot = tot
    return roll, flux


@numba.njit(cache=True, nogil=True)
def dp_beats(local, lo_off, hi_off, txwt, thresh):
    """Ellis's dynamic programme: cumulative score and back-links for each frame."""
    n = local.size
    cum = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    first = True
    for i in range(n):
        hi = i - hi_off
        if hi < 0:
            cum[i] = local[i]
            continue
        lo = i - lo_off
        start = lo if lo > 0 else 0
        best = -1e300
        bj = start
        for j in range(start, hi + 1):
            v = cum[j] + txwt[j - lo]
            if v > best:
                best = v
                bj = j
        if first and local[i] < thresh:  # nothing to follow before the music starts
            cum[i] = local[i]
        else:
            cum[i] = local[i] + best
            back[i] = bj
            first = False
    return cum, back


@numba.njit(cache=True, nogil=True)
def band_matmul(P, starts, stops, weights, offsets):
    """out[k, t] = sum_j W_k[j] * P[t, starts[k] + j]: a filterbank whose filters each span a
    contiguous run of bins (mel triangles), applied to frame-major power P (n_frames, n_bins)."""
    n, _ = P.shape
    nb = starts.size
    out = np.zeros((nb, n), dtype=np.float32)
    for t in range(n):
        for k in range(nb):
            a = starts[k]
            o = offsets[k]
            acc = 0.0
            for j in range(stops[k] - a):
                acc += weights[o + j] * P[t, a + j]
            out[k, t] = acc
    return out
