"""End to end on audio the test writes: ingest -> prepare (first + two clips) -> features -> select -> cluster.

Nine 10 s songs of three kinds (a swelling bass tone, a bright tone with fast clicks, noise with a mid
tone), cut into 4 s clips so the run stays small. Everything real: WAV files, the decoder, the clip
cache, the features stage and the DuckDB catalog.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_audio
from sklearn.metrics import homogeneity_score

from bgmscope.catalog import Catalog
from bgmscope.cluster.clustering import ClusterOptions
from bgmscope.cluster.stage import run_cluster
from bgmscope.config import Settings
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest
from bgmscope.select import SelectOptions
from bgmscope.select.stage import run_select

features_stage = pytest.importorskip("bgmscope.features.stage")
SR = 16000


def song(kind: int, rng: np.random.Generator, seconds: float = 10.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    if kind == 0:
        f = rng.uniform(55, 110)
        y = (0.6 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t)) * (0.7 + 0.3 * np.sin(2 * np.pi * t))
    elif kind == 1:
        f = rng.uniform(500, 900)
        y = sum(0.3 / k * np.sin(2 * np.pi * k * f * t) for k in range(1, 8))
        step = int(SR * 60 / rng.uniform(120, 160))
        for k in range(60):
            y[k::step] += 0.9 * np.exp(-k / 10)
    else:
        y = 0.3 * np.convolve(rng.normal(size=t.size), np.hanning(9) / 4.5, "same")
        y += 0.3 * np.sin(2 * np.pi * rng.uniform(250, 400) * t)
    y = y + 0.01 * rng.normal(size=t.size)
    return (0.5 * y / np.abs(y).max() * rng.uniform(0.4, 1.0)).astype(np.float32)


def test_select_and_cluster_run_end_to_end_on_written_audio(tmp_path):
    rng = np.random.default_rng(0)
    audio = tmp_path / "songs"
    for i in range(9):
        write_audio(audio / f"song{i}.wav", song(i % 3, rng), SR)
    settings = Settings(data_dir=tmp_path / "data", clip_length_s=4.0).ensure()
    with Catalog(settings.catalog_path) as cat:
        assert ingest([audio], cat).audio_ok == 9
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        prepare(cat, settings, kind="two", jobs=1, show_progress=False)
        features_stage.run_features(cat, settings, jobs=1, export=False, show_progress=False)

        report, _, notes = run_select(cat, options=SelectOptions(population=16, generations=10, folds=3, n_random=10))
        assert notes == [] and report.n_songs == 9
        assert set(report.heldout) == {"ga", "all", "random", "greedy"}
        assert report.insample["ga"] <= report.insample["all"]

        res, desc, _, _ = run_cluster(cat, settings, options=ClusterOptions(k_min=2, k_max=4, stability_seeds=3,
                                                                           bootstrap=3))
        assert res.feature_names == report.selected  # clustered on the selection
        assign = cat.read_frame("cluster_assignments")
        clips = set(cat.clips("first")["clip_id"])
        assert len(assign) == 9 and set(assign["clip_id"]) == clips
        files = cat.audio_files()
        path_of = dict(zip(files["track_id"], files["path"], strict=True))
        kinds = [int(Path(path_of[t]).stem.removeprefix("song")) % 3 for t in assign["track_id"]]  # from the file name
        assert homogeneity_score(kinds, assign["kmeans"]) > 0.7
        assert len(desc) == res.chosen_k and desc["description_zh"].str.contains("平均").all()


def test_missing_values_and_the_key_reach_the_ga_encoded_and_imputed(tmp_path):
    """f0 missing on two unvoiced songs and a categorical key: the GA sees complete, encoded numbers,
    the clustering the stored columns behind whatever the GA chose."""
    from bgmscope.features.extract import source_columns
    from bgmscope.select.data import one_clip_matrix, two_clip_matrix

    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        base = rng.normal(size=3) * 3
        for kind, idx in (("two", 0), ("two", 1), ("first", 0)):
            rows.append({"clip_id": f"c{i}-{kind}{idx}", "track_id": f"t{i:02d}", "clip_kind": kind, "clip_index": idx,
                         "rms_mean": base[0] + 0.1 * rng.normal(), "centroid_mean": base[1] + 0.1 * rng.normal(),
                         "f0_mean_midi": np.nan if i % 6 == 0 else 60 + base[2] + 0.1 * rng.normal(),
                         "key_pc": float(i * 5 % 12), "key_mode": float(i % 2)})
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        import pandas as pd

        cat.write_frame("features", pd.DataFrame(rows))
        fm = two_clip_matrix(cat, "all")
        assert fm.notes == [] and len(fm.X) == 24  # no song lost to a missing f0
        assert list(fm.X.columns) == ["rms_mean", "centroid_mean", "f0_mean_midi", "key_pc_sin", "key_pc_cos",
                                      "key_mode"]
        assert np.isfinite(fm.X.to_numpy()).all()
        voiced = fm.ids["track_id"].isin([f"t{i:02d}" for i in range(12) if i % 6]).to_numpy()
        assert (fm.X.loc[~voiced, "f0_mean_midi"] == fm.X.loc[voiced, "f0_mean_midi"].median()).all()
        raw = one_clip_matrix(cat, "all", "first")  # the clustering encodes and imputes itself
        assert raw.X["f0_mean_midi"].isna().sum() == 2 and "key_pc" in raw.X.columns

        report, _, _ = run_select(cat, feature_set="all",
                                  options=SelectOptions(population=8, generations=3, folds=0, n_random=5))
        res, _, _, _ = run_cluster(cat, settings, options=ClusterOptions(k_min=2, k_max=3, stability_seeds=0,
                                                                         bootstrap=0))
        assert source_columns(res.feature_names) == source_columns(report.selected)
