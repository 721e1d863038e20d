"""CREPE decoding where the activations are weak (a melody in a mix): crepe_f0's default decoder."""

import inspect

import numpy as np

from bgmscope.models import pitch


def weak_peak(n=200, peak_bin=150, height=0.35, floor=0.05, seed=0):
    rng = np.random.default_rng(seed)
    p = floor + 0.02 * rng.random((n, pitch.N_BINS))
    p[:, peak_bin - 1:peak_bin + 2] = [0.6 * height, height, 0.6 * height]
    return p.astype(np.float32)


def test_the_weighted_decoder_follows_a_weak_peak():
    bins, f0, conf = pitch.decode(weak_peak(), decoder="weighted")
    assert np.all(bins == 150)
    cents = 1200 * np.log2(f0 / pitch._cents_to_hz(pitch.BIN_CENTS[150]))
    assert np.abs(cents).max() < 5.0 and np.allclose(conf, 0.35)  # the noise floor nudges the average


def test_viterbi_loses_a_weak_peak_so_crepe_f0_decodes_weighted_by_default():
    bins, _, conf = pitch.decode(weak_peak(), decoder="viterbi")
    assert np.mean(bins == 150) < 0.5 and np.median(conf) < 0.35  # why "weighted" is crepe_f0's default
    assert inspect.signature(pitch.crepe_f0).parameters["decoder"].default == "weighted"
