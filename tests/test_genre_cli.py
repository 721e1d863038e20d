"""The genre commands and stage end to end: styles corpus, train, eval, predict on a real catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from genre_helpers import SR, make_clip, make_dataset
from rich.console import Console
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli import app
from bgmscope.config import Settings
from bgmscope.context import PipelineContext
from bgmscope.errors import ParameterError
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest

BIN = Path(sys.executable).parent / "bgmscope"


@pytest.fixture
def chart(tmp_path) -> Settings:
    """A catalog with six songs (two of each test label, Chinese titles) and their 'first' clips."""
    songs = tmp_path / "songs"
    songs.mkdir()
    rng = np.random.default_rng(5)
    for i, lab in enumerate(["tones", "clicks", "sweeps"] * 2):
        y = np.concatenate([make_clip(lab, rng, seconds=2.0) for _ in range(2)])
        sf.write(str(songs / f"歌曲{i}_{lab}.wav"), y, SR)
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([songs], cat)
        s = prepare(cat, settings, kind="first", length_s=3.0, jobs=1, show_progress=False)
        assert s.ok == 6
    return settings


def test_predict_refuses_without_a_model(chart):
    r = subprocess.run([str(BIN), "--data-dir", str(chart.data_dir), "genre", "predict", "-j", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "no trained genre model" in r.stdout and "genre train" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_train_predict_eval_commands(chart, tmp_path):
    ds = make_dataset(tmp_path / "ds", per_label=6)
    run = CliRunner()
    r = run.invoke(app, ["--data-dir", str(chart.data_dir), "genre", "train", str(ds), "--model", "svm", "-j", "1"])
    assert r.exit_code == 0, r.output
    model_file = chart.model_dir / "genre" / "svm.pkl"
    assert model_file.is_file() and str(model_file) in r.output.replace("\n", "")
    r = run.invoke(app, ["--data-dir", str(chart.data_dir), "genre", "predict", "-j", "1"])
    assert r.exit_code == 0, r.output
    with Catalog(chart.catalog_path) as cat:
        pred = cat.read_frame("genre_predictions")
        long = cat.read_frame("genre_probabilities")
        summ = cat.read_frame("genre_chart_summary")
    assert len(pred) == 6 and set(pred["model"]) == {"svm"}
    truth = pred["title"].str.extract(r"_(\w+)$")[0]
    assert (pred["label"] == truth).mean() >= 5 / 6, pred[["title", "label", "confidence"]]
    assert ((pred["confidence"] > 0) & (pred["confidence"] <= 1)).all()
    assert np.allclose(long.groupby("clip_id")["probability"].sum(), 1, atol=1e-4)
    assert summ["n_songs"].sum() == 6 and np.isclose(summ["share"].sum(), 1)

    r = run.invoke(app, ["--data-dir", str(chart.data_dir), "genre", "eval", str(ds), "--model", "hmm,svm",
                         "--folds", "3", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert "hmm" in r.output and "svm" in r.output and "genre_eval" in r.output
    with Catalog(chart.catalog_path) as cat:
        ev = cat.read_frame("genre_eval")
        conf = cat.read_frame("genre_confusion")
    assert set(ev["model"]) == {"hmm", "svm"} and (ev["folds"] == 3).all()
    assert conf.groupby("model")["count"].sum().tolist() == [18, 18]
    # inputs are cached under the data dir, never written into the (possibly read-only) dataset
    assert any((chart.data_dir / "cache" / "genre-inputs").glob("*.npz"))
    assert sorted(p.name for p in ds.iterdir()) == ["clicks", "sweeps", "tones"]

    r = run.invoke(app, ["--data-dir", str(chart.data_dir), "genre", "eval", str(ds), "--model", "lstm"])
    assert isinstance(r.exception, ParameterError)
    r = run.invoke(app, ["--data-dir", str(chart.data_dir), "genre", "train", str(tmp_path / "nope")])
    assert isinstance(r.exception, ParameterError)


def test_styles_corpus_command(tmp_path):
    out = tmp_path / "styles"
    r = CliRunner().invoke(app, ["genre", "styles-corpus", str(out), "--per-class", "2", "--length", "3",
                                 "--styles", "chinese-folk,bach-chorale", "-j", "2"])
    assert r.exit_code == 0, r.output
    m = pd.read_csv(out / "manifest.csv", encoding="utf-8")
    assert m["label"].value_counts().to_dict() == {"chinese-folk": 2, "bach-chorale": 2}
    assert m["group"].nunique() == 4  # one clip per piece
    assert (m["gain_db"] <= 0).all()
    for rel in m["path"]:
        y, sr = sf.read(str(out / rel))
        assert sr == SR and len(y) == 3 * SR and 0.01 < np.max(np.abs(y)) <= 0.91
    first = {p: (out / p).stat().st_mtime_ns for p in m["path"]}
    r = CliRunner().invoke(app, ["genre", "styles-corpus", str(out), "--per-class", "2", "--length", "3",
                                 "--styles", "chinese-folk,bach-chorale", "-j", "1"])
    assert r.exit_code == 0 and {p: (out / p).stat().st_mtime_ns for p in m["path"]} == first  # resumed
    r = CliRunner().invoke(app, ["genre", "styles-corpus", str(out), "--styles", "polka"])
    assert isinstance(r.exception, ParameterError)


def test_stage_without_model_skips_and_with_one_predicts(chart, tmp_path):
    from bgmscope.genre.stage import run_stage
    from bgmscope.genre.train import train

    with Catalog(chart.catalog_path) as cat:
        ctx = PipelineContext(cat, chart, 1, Console(quiet=True))
        assert run_stage(ctx) == {"skipped": "no trained model"}
        train(make_dataset(tmp_path / "ds", per_label=5), "hmm", chart, jobs=1, show_progress=False)
        out = run_stage(ctx)
        assert out["model"] == "hmm" and out["songs"] == 6
        assert len(cat.read_frame("genre_predictions")) == 6


def test_demo_stage_builds_evaluates_predicts(chart, monkeypatch):
    from bgmscope.genre import stage

    monkeypatch.setattr(stage, "DEMO_PER_CLASS", 3)  # a smaller styles corpus keeps the test short
    monkeypatch.setattr(stage, "DEMO_LENGTH_S", 3.0)
    with Catalog(chart.catalog_path) as cat:
        ctx = PipelineContext(cat, chart, 2, Console(quiet=True), demo=True)
        out = stage.run_stage(ctx)
        assert out["styles clips"] == 18 and out["songs"] == 6
        ev = cat.read_frame("genre_eval")
        assert set(ev["model"]) == {"hmm", "svm"} and (ev["n_classes"] == 6).all()
        pred = cat.read_frame("genre_predictions")
        assert len(pred) == 6 and pred["label"].isin(["chinese-folk", "irish-fiddle", "bach-chorale",
                                                       "renaissance-mass", "madrigal", "trecento"]).all()
    assert (chart.model_dir / "genre" / "hmm.pkl").is_file() and (chart.model_dir / "genre" / "svm.pkl").is_file()


def test_stage_needs_clips(tmp_path):
    from bgmscope.errors import CatalogError
    from bgmscope.genre.stage import run_stage

    settings = Settings(data_dir=tmp_path / "d").ensure()
    with Catalog(settings.catalog_path) as cat:
        with pytest.raises(CatalogError, match="prepare"):
            run_stage(PipelineContext(cat, settings, 1, Console(quiet=True)))
