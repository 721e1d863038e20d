"""Selection and clustering on the seed's 42 statistics computed from audio the test makes.

Three kinds of synthetic song (a low bass tone that swells; a harmonic-rich tone with fast clicks;
band-limited noise with a mid tone), six songs each, two 3 s clips per song that differ in pitch
wobble, phase and noise. The 42 are computed by the features area (``stats42``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import homogeneity_score

from bgmscope.cluster.clustering import ClusterOptions, cluster_songs, describe_clusters
from bgmscope.select import SelectOptions, select_features

stats42_mod = pytest.importorskip("bgmscope.features.stats42")
SR = 16000


def clip(style: int, p: dict, rng: np.random.Generator, seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f = p["f0"] * (1 + 0.01 * rng.normal())
    if style == 0:  # bass tone, slow swell
        y = 0.6 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t)
        y *= 0.7 + 0.3 * np.sin(2 * np.pi * p["lfo"] * t)
    elif style == 1:  # bright harmonic tone + decaying clicks at a fast tempo
        y = sum(0.3 / k * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 6)) for k in range(1, 8))
        step = int(SR * 60 / p["bpm"])
        for k in range(60):
            y[k::step] += 0.9 * np.exp(-k / 10)
    else:  # smoothed noise + a mid tone
        n = np.convolve(rng.normal(size=t.size), np.hanning(9) / 4.5, "same")
        y = 0.3 * n + 0.3 * np.sin(2 * np.pi * f * t)
    y = y + 0.01 * rng.normal(size=t.size)
    return (0.5 * y / np.abs(y).max() * p["gain"]).astype(np.float32)


@pytest.fixture(scope="module")
def corpus() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rows, songs, styles = [], [], []
    for s in range(18):
        style = s % 3
        p = {"f0": (rng.uniform(55, 110), rng.uniform(500, 900), rng.uniform(250, 400))[style],
             "lfo": rng.uniform(0.5, 3), "bpm": rng.uniform(120, 160), "gain": rng.uniform(0.4, 1.0)}
        for _ in range(2):
            rows.append(stats42_mod.stats42(clip(style, p, rng), SR))
            songs.append(s)
        styles.append(style)
    return pd.DataFrame(rows, columns=list(stats42_mod.STAT42_NAMES)), np.array(songs), np.array(styles)


def test_ga_on_audio_statistics_beats_all_and_random_subsets(corpus):
    X, songs, _ = corpus
    r = select_features(X, songs, options=SelectOptions(population=24, generations=20, folds=0, n_random=30))
    assert r.insample["ga"] < r.insample["all"]
    assert r.insample["ga"] < r.insample["random"]
    # the waveform's DC offset carries no song identity: the search leaves most of it out
    offsets = {"amp1mean", "amp10mean", "amp100mean", "amp1000mean"}
    assert len(offsets & set(r.selected)) <= 2


def test_clusters_on_audio_statistics_keep_the_kinds_apart(corpus):
    X, _, styles = corpus
    first = X.iloc[0::2].reset_index(drop=True)
    res = cluster_songs(first, ClusterOptions(k_min=2, k_max=5, stability_seeds=5, bootstrap=5))
    # every cluster holds one kind of song (k may split a kind, never mix two)
    assert homogeneity_score(styles, res.kmeans) == pytest.approx(1.0)
    d = describe_clusters(res.Z, res.kmeans, res.feature_names).set_index("cluster")
    bass_cluster = np.bincount(res.kmeans[styles == 0]).argmax()
    assert "bass" in d.loc[bass_cluster, "description_en"] and "低" in d.loc[bass_cluster, "description_zh"]
