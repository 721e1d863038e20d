"""select says what its held-out gain means: mean ± fold sd per baseline, and whether it exceeds
the spread (select_gain, select_runs.gain_vs_*, the command's summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli import app
from bgmscope.select import SelectOptions, select_features
from bgmscope.select.evaluate import GAIN_COLUMNS, gain_table


def _baselines(ga, all_, random) -> pd.DataFrame:
    rows = []
    for fold, rates in enumerate(zip(ga, all_, random, strict=True)):
        for m, r in zip(("ga", "all", "random"), rates, strict=True):
            rows.append({"fold": fold, "method": m, "split": "test", "mismatches": r * 40, "n_clips": 40, "rate": r})
        rows.append({"fold": fold, "method": "ga", "split": "train", "mismatches": 0.0, "n_clips": 160, "rate": 0.0})
    return pd.DataFrame(rows)


def test_gain_within_noise_and_beyond_the_spread():
    # vs all: +0.03 on average but it swings sign across folds; vs random: +0.09 in every fold
    b = _baselines(ga=[0.30, 0.30, 0.30, 0.30, 0.30], all_=[0.40, 0.25, 0.36, 0.24, 0.40],
                   random=[0.39, 0.40, 0.38, 0.40, 0.38])
    g = gain_table(b).set_index("baseline")
    assert list(gain_table(b).columns) == GAIN_COLUMNS and set(g.index) == {"all", "random"}
    assert np.isclose(g.loc["all", "gain"], 0.03) and np.isclose(g.loc["all", "fold_sd"], np.std([.1, -.05, .06, -.06, .1], ddof=1))
    assert not g.loc["all", "exceeds_spread"] and g.loc["all", "verdict"] == "within noise"
    assert g.loc["all", "folds_better"] == 3 and g.loc["all", "n_folds"] == 5
    assert g.loc["all", "sentence"].startswith("GA subset beats all features by 0.030 ± ")
    assert "over 5 folds; better in 3 of 5): within noise" in g.loc["all", "sentence"]
    assert g.loc["random", "exceeds_spread"] and g.loc["random", "folds_better"] == 5
    assert g.loc["random", "verdict"] == "beyond the fold spread"
    # the GA doing clearly worse is said so
    worse = gain_table(_baselines(ga=[0.5] * 3, all_=[0.3, 0.31, 0.29], random=[0.5, 0.5, 0.5])).set_index("baseline")
    assert worse.loc["all", "sentence"].startswith("GA subset trails all features by 0.200")
    assert worse.loc["all", "verdict"].endswith("the baseline does better")
    assert gain_table(b[b["split"] == "train"]).empty  # no held-out check: nothing to say


def _pairs(n_songs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    song = rng.normal(size=(n_songs, 4))
    inf = np.repeat(song, 2, axis=0) + 0.3 * rng.normal(size=(2 * n_songs, 4))
    return np.hstack([inf, rng.normal(size=(2 * n_songs, 8))]), np.repeat(np.arange(n_songs), 2)


def test_select_features_reports_the_gain_of_its_folds():
    X, songs = _pairs(30)
    rep = select_features(X, songs, options=SelectOptions(population=12, generations=8, folds=3, n_random=10,
                                                          greedy=False))
    g = rep.gain.set_index("baseline")
    assert set(g.index) == {"all", "random"} and (g["n_folds"] == 3).all()
    test = rep.baselines.query("split == 'test'").pivot_table(index="fold", columns="method", values="rate")
    assert np.isclose(g.loc["random", "gain"], (test["random"] - test["ga"]).mean())
    # 4 informative columns among 12: the GA subset beats random subsets of its size
    assert g.loc["random", "gain"] > 0 and np.isclose(g.loc["random", "gain_pooled"],
                                                      rep.heldout["random"] - rep.heldout["ga"])


def test_command_stores_and_prints_the_gain(tmp_path):
    X, songs = _pairs(24, seed=1)
    ids = [f"t{s}" for s in songs]
    cols = [f"amp{i}" for i in range(X.shape[1])]
    feats = pd.DataFrame(X, columns=cols).assign(clip_id=[f"c{i}" for i in range(len(X))], track_id=ids,
                                                 clip_kind="two", clip_index=np.tile([0, 1], len(X) // 2))
    with Catalog(tmp_path / "catalog.duckdb") as cat:
        cat.write_frame("features", feats)
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "select", "--features", ",".join(cols),
                                   "--population", "10", "--generations", "4", "--folds", "3", "--random", "5",
                                   "--no-greedy"])
    assert res.exit_code == 0, res.output
    assert "GA subset" in res.output and "folds" in res.output and "select_gain" in res.output
    with Catalog(tmp_path / "catalog.duckdb") as cat:
        g = cat.read_frame("select_gain")
        runs = cat.read_frame("select_runs")
    assert set(g["baseline"]) == {"all", "random"} and g["sentence"].str.contains("± ").all()
    assert runs["gain_vs_random"].iloc[-1] == g.set_index("baseline").loc["random", "gain"]
    assert runs["gain_vs_all_sd"].iloc[-1] == g.set_index("baseline").loc["all", "fold_sd"]
