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
