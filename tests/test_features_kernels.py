"""The compiled kernels equal their plain-numpy twins."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import clicks, sine

from bgmscope.features import spectral, temporal
from bgmscope.features._kernels import diff_moments4, moments4
from bgmscope.features.spectrum import stft
from bgmscope.features.stats42 import moments

SR = 16000


def signals():
    rng = np.random.default_rng(1)
    return [sine(330, 2) + clicks(100, 2), (0.1 * rng.standard_normal(SR)).astype(np.float32),
            np.zeros(SR, np.float32), np.full(999, 0.3, np.float32), np.zeros(1, np.float32)]


@pytest.mark.parametrize("y", signals())
def test_moments_kernels(y):
    x = y.astype(np.float64)
    np.testing.assert_allclose(moments4(x), moments(x), rtol=1e-9, atol=1e-12)
    ref = moments(np.diff(x)) if x.size > 1 else (0.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(diff_moments4(x), ref, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("y", signals())
def test_rms_zcr_kernel(y):
    r, z, per_s = temporal.rms_zcr(y, SR)
    np.testing.assert_allclose(r, temporal.rms(y), rtol=1e-6, atol=1e-12)  # float32 input
    np.testing.assert_array_equal(z, temporal.zero_crossing_rate(y))
    assert per_s == pytest.approx(temporal.zero_crossings_per_second(y, SR))


@pytest.mark.parametrize("y", signals()[:3])
def test_rolloff_flux_kernel(y):
    spec = stft(y, SR)
    roll, flux = spectral.rolloff_and_flux(spec)
    np.testing.assert_array_equal(roll, spectral.rolloff(spec))
    # the numpy twin normalises in float32, the kernel in float64
    np.testing.assert_allclose(flux, spectral.flux(spec), rtol=1e-3, atol=1e-5 * max(1e-9, flux.max()))


def test_mel_band_kernel_equals_the_dense_product():
    from bgmscope.features.spectrum import apply_mel, mel_filterbank

    spec = stft(signals()[0], SR)
    dense = mel_filterbank(SR, spec.n_fft) @ spec.power
    np.testing.assert_allclose(apply_mel(spec.power, SR, spec.n_fft), dense, rtol=1e-4, atol=1e-6 * dense.max())


@pytest.mark.parametrize("y", signals()[:3])
def test_pulse_scores_kernel_equals_pulse_score(y):
    from bgmscope.features import rhythm
    from bgmscope.features._kernels import pulse_scores

    env = rhythm.onset_strength(stft(y, SR))
    env3 = np.convolve(env, np.ones(3), mode="same")
    periods = np.array([0.5, 1.0, 7.25, 15.5, 15.625, 31.0, 40.0, env.size / 2 + 1.0])
    ours = pulse_scores(env3, periods)
    ref = [rhythm.pulse_score(env3, p) for p in periods]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert ours[-1] == 0.0 and ours[0] == 0.0  # too long for two pulses; below one frame


@pytest.mark.parametrize("y", signals()[:3] + [sine(220, 1) * np.linspace(0, 1, SR, dtype=np.float32)])
def test_yin_kernel_equals_its_numpy_twin(y):
    import scipy.fft

    from bgmscope.features._kernels import yin_pick
    from bgmscope.features.pitch import _yin_numpy
    from bgmscope.features.spectrum import frame_signal

    L, hop, max_lag, min_lag = 1024, 384, 247, 13
    W = L - max_lag
    fr = frame_signal(y, L, hop)
    A = scipy.fft.rfft(fr[:, :W], n=L, axis=1)
    r = scipy.fft.irfft(np.conj(A) * scipy.fft.rfft(fr, axis=1), n=L, axis=1)[:, : max_lag + 1]
    r = np.ascontiguousarray(r, dtype=np.float32)
    yp = np.pad(y, L // 2).astype(np.float64)
    C = np.concatenate([[0.0], np.cumsum(yp * yp)])
    k_period, k_aper, k_e0 = yin_pick(r, np.pad(y, L // 2), hop, W, min_lag, 0.1, 0.25)
    n_period, n_aper, n_e0 = _yin_numpy(r.astype(np.float64), C, hop, W, min_lag, 0.1, 0.25)
    # window energies are differences of a running sum: the last bits cancel
    np.testing.assert_allclose(k_e0, n_e0, rtol=1e-7)
    np.testing.assert_allclose(k_aper, n_aper, rtol=1e-6, atol=1e-6)  # a deep dip is a difference of near-equal energies
    np.testing.assert_allclose(k_period, n_period, rtol=1e-6)
    assert min_lag - 0.5 <= k_period.min() and k_period.max() <= max_lag + 0.5


def test_both_mel_layouts_and_the_stored_power():
    from bgmscope.features.spectrum import apply_mel, mel_filterbank

    spec = stft(signals()[0], SR)
    assert spec.power.flags["C_CONTIGUOUS"] and spec.power.shape == spec.S.shape  # bin-major
    np.testing.assert_array_equal(spec.power, spec.S * spec.S)
    dense = mel_filterbank(SR, spec.n_fft) @ spec.power
    frame_major = np.ascontiguousarray(spec.power.T).T  # the other layout takes band_matmul
    for P in (spec.power, frame_major):
        np.testing.assert_allclose(apply_mel(P, SR, spec.n_fft), dense, rtol=1e-4, atol=1e-6 * dense.max())
