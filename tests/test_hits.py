"""`bgmscope hits` end to end on a catalog: planted popularity, grouped edits, a reference folder,
growth across snapshots and the CLI, with real descriptors from extract_clip."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import click_song, write_audio
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli import app
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.features.extract import extract_clip
from bgmscope.hits.popularity import HitsOptions, analyse, load_reference, write_tables

SR = 16000
CLIP_S = 4.0


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> Path:
    """A catalog of 24 chart songs whose popularity is planted on tempo (clicks per minute)."""
    d = tmp_path_factory.mktemp("hits")
    rng = np.random.default_rng(0)
    bpms = rng.uniform(70, 170, 24)
    pitches = rng.uniform(200, 600, 24)
    rows, tracks = [], []
    for i, (bpm, pitch) in enumerate(zip(bpms, pitches, strict=True)):
        v = extract_clip(click_song(bpm, pitch, i), SR)
        rows.append({"clip_id": f"c{i}", "track_id": f"t{i}", "clip_kind": "first", "clip_index": 0, **v})
    log_count = 10 + 1.2 * (bpms - bpms.mean()) / bpms.std() + rng.normal(0, 0.4, 24)
    counts = np.round(np.exp(log_count)).astype(int)
    order = np.argsort(-counts)
    ranks = np.empty(24, int)
    ranks[order] = np.arange(1, 25)
    for i in range(24):
        tracks.append({"track_id": f"t{i}", "music_id": f"t{i}", "title": f"歌曲{i}", "user_count": int(counts[i]),
                       "user_incr": int(counts[i] * rng.uniform(0.05, 0.2)), "rank": int(ranks[i]),
                       "chart": "test", "source": "test", "is_demo": False})
    with Catalog(d / "catalog.duckdb") as cat:
        cat.upsert_frame("tracks", pd.DataFrame(tracks))
        cat.write_frame("features", pd.DataFrame(rows))
    return d


def test_planted_tempo_effect_is_found(chart):
    with Catalog(chart / "catalog.duckdb") as cat:
        res = analyse(cat, HitsOptions(n_boot=200, n_repeats=1))
        write_tables(cat, res)
        stored = cat.read_frame("hits_correlations")
    corr = res.tables["hits_correlations"]
    uc = corr[corr["target"] == "user_count"].set_index("feature")
    assert uc.loc["tempo_bpm", "q"] < 0.05 and uc.loc["tempo_bpm", "rho"] > 0.5
    # rank 1 is the most used song, so the same effect shows as a negative rho with rank
    assert corr[(corr["target"] == "rank") & (corr["feature"] == "tempo_bpm")]["rho"].iloc[0] < -0.5
    assert len(stored) == len(corr)
    model = res.tables["hits_model"].iloc[0]
    assert model["n"] == 24 and np.isfinite(model["r2"])
    assert set(res.tables["hits_summary"]["topic"]) >= {"correlation", "model", "note"}
    # the key is a category: no rank correlation, a Kruskal-Wallis test of its own (if it varies)
    assert not corr["feature"].isin(["key_pc", "key_mode"]).any()
    kw = res.tables.get("hits_categorical")
    if kw is not None:
        assert set(kw["feature"]) <= {"key_pc", "key_mode"} and kw["p"].between(0, 1).all()
        assert "key" in set(res.tables["hits_summary"]["topic"])
    assert not model["n_features"] == 0


def test_unvoiced_songs_keep_their_rows_and_the_f0_tests_drop_them(chart, tmp_path):
    """Songs with no voiced frame have a NaN f0: they stay in the model, leave only the f0 tests."""
    import shutil

    d = tmp_path / "nan"
    shutil.copytree(chart, d)
    with Catalog(d / "catalog.duckdb") as cat:
        f = cat.read_frame("features")
        f.loc[f.index[:5], ["f0_median_hz", "f0_mean_midi"]] = np.nan
        cat.write_frame("features", f)
        res = analyse(cat, HitsOptions(n_boot=50, n_repeats=1))
    corr = res.tables["hits_correlations"]
    uc = corr[corr["target"] == "user_count"].set_index("feature")
    assert uc.loc["f0_mean_midi", "n"] == 19 and uc.loc["centroid_mean", "n"] == 24
    # tempo is NaN where its confidence is low (features stage): those songs leave the tempo test only
    assert uc.loc["tempo_bpm", "n"] == f.drop_duplicates("track_id")["tempo_bpm"].notna().sum()
    assert res.tables["hits_model"].iloc[0]["n"] == 24


def test_versions_count_once_and_growth(chart, tmp_path):
    import shutil

    db = tmp_path / "catalog.duckdb"
    shutil.copy(chart / "catalog.duckdb", db)
    with Catalog(db) as cat:
        tr = cat.tracks()
        groups = pd.DataFrame({"track_id": tr["track_id"],
                               "group_id": ["t0" if t in ("t1", "t2") else t for t in tr["track_id"]],
                               "group_size": [3 if t in ("t0", "t1", "t2") else 1 for t in tr["track_id"]]})
        cat.write_frame("versions", groups)
        base = datetime(2026, 11, 1)
        snaps = []
        for day in range(3):
            for r in tr.itertuples():
                snaps.append({"snapshot_id": f"s{day}", "chart": "test", "music_id": r.music_id,
                              "user_count": int(r.user_count * (1 + 0.1 * day * (int(r.track_id[1:]) % 3))),
                              "user_incr": int(r.user_incr), "fetched_at": base + timedelta(days=day)})
        cat.upsert_frame("chart_entries", pd.DataFrame(snaps))
        once = analyse(cat, HitsOptions(n_boot=50, n_repeats=1))
        each = analyse(cat, HitsOptions(n_boot=50, n_repeats=1, count_groups_once=False))
    assert once.n_songs == 22 and each.n_songs == 24
    assert "growth" in set(once.tables["hits_correlations"]["target"])


def test_reference_folder_is_told_apart(chart, tmp_path):
    ref = tmp_path / "reference"
    for i in range(10):  # reference songs: no clicks, low drones
        t = np.arange(int(CLIP_S * SR)) / SR
        write_audio(ref / f"参考{i}.wav", (0.3 * np.sin(2 * np.pi * (80 + 5 * i) * t)).astype(np.float32), SR)
    (ref / "broken.wav").write_bytes(b"not audio at all")
    failures: list = []
    with Catalog(chart / "catalog.duckdb") as cat:
        res = analyse(cat, HitsOptions(n_boot=50, n_repeats=1, reference=ref),
                      reference_loader=lambda p, k: load_reference(p, k, clip_length_s=CLIP_S, jobs=1,
                                                                  failures=failures))
    assert len(failures) == 1 and "broken.wav" in failures[0][0]
    cmp = res.tables["hits_reference"]
    assert (cmp["q"] < 0.05).sum() >= 5
    assert cmp.iloc[0]["magnitude"] == "large"
    assert res.tables["hits_reference_model"]["auc"].iloc[0] > 0.9


def test_missing_features_and_bad_reference(tmp_path):
    with Catalog(tmp_path / "catalog.duckdb") as cat:
        with pytest.raises(CatalogError, match="features"):
            analyse(cat)
    with pytest.raises(ParameterError, match="does not exist"):
        load_reference(tmp_path / "nowhere", "first")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no audio"):
        load_reference(tmp_path / "empty", "first")


def test_cli_hits_and_similar(chart, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["--data-dir", str(chart), "hits", "--bootstrap", "100"])
    assert res.exit_code == 0, res.output
    assert "hits_correlations" in res.output and "correlation" in res.output
    with Catalog(chart / "catalog.duckdb") as cat:
        stored = cat.read_frame("hits_correlations").query("target == 'user_count'").set_index("feature")
    assert stored.loc["tempo_bpm", "q"] < 0.05
    res = runner.invoke(app, ["--data-dir", str(chart), "similar", "歌曲3", "-k", "3", "--all-features"])
    assert res.exit_code == 0, res.output
    assert res.output.count("t") and "歌曲3" not in res.output.split("nearest", 1)[1].split("\n", 2)[2]
    f = write_audio(tmp_path / "new.wav", click_song(120, 300, 99), SR)
    res = runner.invoke(app, ["--data-dir", str(chart), "similar", "--file", str(f), "-k", "2"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--data-dir", str(chart), "hits", "--clip", "hook"])
    assert res.exit_code != 0 and "no features for clip kind" in str(res.exception)
