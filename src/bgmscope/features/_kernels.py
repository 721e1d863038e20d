"""Compiled inner loops (numba, which librosa already depends on) for the few places where numpy
needs several passes and big temporaries over a whole clip, or a Python loop per frame.

Each kernel has a plain-numpy twin elsewhere in the package that the tests compare it with.
Compiled once per installation (``cache=True``), so a worker process pays only a load.
"""

from __future__ import annotations

import numba
import numpy as np

# sums may be reordered (so LLVM vectorises the reductions): results move by float rounding only;
# no assumption about NaN or inf, which stay what they are
_FAST = {"reassoc", "contract"}


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
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
        # whole blocks of 16 bins first (their sums vectorise), then bin by bin inside the block
        # where the running sum reaches the threshold
        run = 0.0
        idx = k - 1
        j0 = 0
        while j0 + 16 <= k:
            b = 0.0
            for j in range(j0, j0 + 16):
                b += M[t, j]
            if run + b >= thresh:
                break
            run += b
            j0 += 16
        for j in range(j0, k):
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
                d = max(M[t, j] * a - M[t - 1, j] * b, 0.0)
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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
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
            acc = np.float32(0.0)
            for j in range(stops[k] - a):
                acc += weights[o + j] * P[t, a + j]
            out[k, t] = acc
    return out


@numba.njit(cache=True, nogil=True)
def pulse_scores(env, periods):
    """rhythm.pulse_score for each of ``periods`` (fractional frames) on ``env``: the best-phase
    mean of env on pulses at rint(phase + k * period), phases 0 .. ceil(period) - 1."""
    n = env.size
    out = np.zeros(periods.size)
    for q in range(periods.size):
        p = periods[q]
        if p < 1 or n < p * 2:
            continue
        n_k = int((n - 1) // p) + 1
        best = -1e300
        for ph in range(int(np.ceil(p))):
            s = 0.0
            cnt = 0
            for k in range(n_k):
                i = int(np.rint(ph + k * p))
                if i < n:
                    s += env[i]
                    cnt += 1
            v = s / max(cnt, 1)
            if v > best:
                best = v
        out[q] = best
    return out


@numba.njit(cache=True, nogil=True)
def yin_pick(r, yp, hop, W, min_lag, threshold, voicing_threshold):
    """YIN's dip of each frame from its correlation r (n_frames, max_lag + 1) and the padded
    signal yp the frames were cut from (its running energy sum C[i] = sum of the first i
    squares, float64, gives the shifted windows' energies): returns (tau + the
    parabolic shift, aperiodicity at tau, window energy e0) per frame, as pitch.f0_contour's
    numpy steps compute them (difference function, cumulative mean normalisation, first dip
    below ``threshold``, else below ``voicing_threshold``, else the deepest)."""
    n, m = r.shape
    max_lag = m - 1
    C = np.empty(yp.size + 1)
    acc = 0.0
    C[0] = 0.0
    for j in range(yp.size):
        v = float(yp[j])
        acc += v * v
        C[j + 1] = acc
    period = np.zeros(n)
    aper = np.zeros(n)
    e0s = np.zeros(n)
    d = np.zeros(m)
    cm = np.ones(m)
    for i in range(n):
        s0 = i * hop
        e0 = C[s0 + W] - C[s0]
        e0s[i] = e0
        d[0] = 0.0
        cm[0] = 1.0
        csum = 0.0
        for t in range(1, m):
            v = e0 + (C[s0 + t + W] - C[s0 + t]) - 2.0 * r[i, t]
            v = v if v > 0.0 else 0.0
            d[t] = v
            csum += v
            cm[t] = v * t / csum if csum > 1e-12 else 1.0
        first = -1
        second = -1
        amin = min_lag
        for t in range(min_lag, max_lag + 1):
            if cm[t] < cm[amin]:
                amin = t
            if min_lag < t < max_lag and cm[t] <= cm[t - 1] and cm[t] <= cm[t + 1]:
                if first < 0 and cm[t] < threshold:
                    first = t
                if second < 0 and cm[t] < voicing_threshold:
                    second = t
        tau = first if first >= 0 else (second if second >= 0 else amin)
        aper[i] = cm[tau]
        tl = min(max(tau - 1, 1), max_lag)
        tr = min(max(tau + 1, 1), max_lag)
        a = d[tl]
        b = d[tau]
        c = d[tr]
        den = a - 2.0 * b + c
        sh = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
        sh = min(max(sh, -0.5), 0.5)
        period[i] = tau + sh
    return period, aper, e0s


@numba.njit(cache=True, nogil=True)
def flush_power(M, floor):
    """In place, zero the bins of a frame-major magnitude M (n_frames, n_bins) below ``floor``
    (their squares would be float32 denormals, which slow BLAS ~100x); returns the power M^2
    laid out bin-major (n_bins, n_frames)."""
    n, k = M.shape
    P = np.empty((k, n), dtype=np.float32)
    zero = np.float32(0.0)
    for t0 in range(0, n, 16):  # tiles of 16 frames: each row of P gets a cache line at a time
        t1 = min(t0 + 16, n)
        for j in range(k):
            for t in range(t0, t1):
                m = M[t, j]
                if m < floor:
                    m = zero
                    M[t, j] = zero
                P[j, t] = m * m
    return P


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def band_matmul_rows(P, starts, stops, weights, offsets):
    """out[k, t] = sum_j W_k[j] * P[starts[k] + j, t] for a bin-major power P (n_bins, n_frames):
    one scaled row added per (filter, bin), vectorised along the frames."""
    _, n = P.shape
    nb = starts.size
    out = np.zeros((nb, n), dtype=np.float32)
    for k in range(nb):
        a = starts[k]
        o = offsets[k]
        for j in range(stops[k] - a):
            w = weights[o + j]
            for t in range(n):
                out[k, t] += w * P[a + j, t]
    return out
