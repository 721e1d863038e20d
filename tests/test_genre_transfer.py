"""Train on one labelled folder, score on another: ``genre eval --train A --test B`` and the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from genre_helpers import make_dataset
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli import app
from bgmscope.config import Settings
from bgmscope.errors import ParameterError
from bgmscope.genre.dataset import load_dataset
from bgmscope.genre.evaluate import (
    bootstrap_ci,
    check_same_labels,
    compute_inputs,
    cross_validate,
    cv_bootstrap,
    transfer_evaluate,
)
from bgmscope.genre.render import available_renderers
from bgmscope.genre.styles import build_styles_corpus

BIN = Path(sys.executable).parent / "bgmscope"


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    return make_dataset(root / "a", per_label=5, seed=0), make_dataset(root / "b", per_label=4, seed=1)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One data dir for the module, so the per-clip input cache is shared by the runs."""
    return tmp_path_factory.mktemp("data")


def _run(data_dir, *args):
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), "genre", "eval", *map(str, args)])


def test_cli_train_test_prints_metrics_confusion_and_stores_tables(two, data_dir):
    a, b = two
    r = _run(data_dir, "--train", a, "--test", b, "-m", "svm,hmm", "-j", "1", "--bootstrap", "200")
    assert r.exit_code == 0, r.output
    assert "accuracy [95 % CI]" in r.output and "confusion (svm)" in r.output and "confusion (hmm)" in r.output
    assert "recall per class" in r.output
    with Catalog(Settings(data_dir=data_dir).catalog_path) as cat:
        s = cat.read_frame("genre_transfer")
        conf = cat.read_frame("genre_transfer_confusion")
        pc = cat.read_frame("genre_transfer_per_class")
    assert set(s["model"]) == {"svm", "hmm"} and (s["n_test"] == 12).all() and (s["n_train"] == 15).all()
    svm = s.set_index("model").loc["svm"]
    assert svm.accuracy_lo <= svm.accuracy <= svm.accuracy_hi and svm.accuracy >= 0.9  # easy synthetic labels
    assert str(a) == s["train_dataset"].iloc[0] and str(b) == s["test_dataset"].iloc[0]
    c = conf[conf["model"] == "svm"]
    assert c["count"].sum() == 12 and len(c) == 9  # 3 x 3, every test clip once
    assert set(pc["label"]) == {"clicks", "sweeps", "tones"} and (pc["support"] == 4).all()


def test_cli_refuses_mismatched_labels_and_half_given_pairs(two, data_dir, tmp_path):
    a, b = two
    (b / "tones").rename(b / "drones")
    try:  # the real entry point: a usage error is one line and exit 2
        r = subprocess.run([str(BIN), "--data-dir", str(data_dir), "genre", "eval", "--train", str(a),
                            "--test", str(b), "-m", "svm", "-j", "1"], capture_output=True, text=True, timeout=300)
        out = r.stdout.replace("\n", "")
        assert r.returncode == 2, r.stdout + r.stderr
        assert "different label sets" in out and "drones" in out and "tones" in out
        assert "Traceback" not in r.stdout + r.stderr
    finally:
        (b / "drones").rename(b / "tones")
    for args, msg in [(("--train", a, "-m", "svm"), "--train and --test go together"),
                      ((a, "--train", a, "--test", b), "not both"),
                      (("--train", a, "--test", tmp_path), "no labelled audio")]:
        r = _run(data_dir, *args)
        assert isinstance(r.exception, ParameterError) and msg in str(r.exception), r.output


def test_unreadable_test_clips_are_skipped_and_reported(two, data_dir):
    a, b = two
    bad = b / "clicks" / "broken.wav"
    bad.write_bytes(b"RIFF not really audio")
    try:
        r = _run(data_dir, "--train", a, "--test", b, "-m", "svm", "-j", "1", "--bootstrap", "100")
    finally:
        bad.unlink()
    assert r.exit_code == 1, r.output  # finished, but a clip failed
    out = r.output.replace("\n", "")
    assert "skipped 1 unreadable clip" in out and "broken.wav" in out
    assert "confusion (svm)" in r.output  # the metrics are still there, on the readable clips


def test_api_transfer_and_cv_bootstrap(two):
    a, b = two
    tr = compute_inputs(load_dataset(a), kinds=("summary",), show_progress=False)
    te = compute_inputs(load_dataset(b), kinds=("summary",), show_progress=False)
    res = transfer_evaluate(tr, te, ["svm"], n_boot=200)
    row = res.summary.iloc[0]
    assert row.n_test == len(te.items) and 0 <= row.accuracy_lo <= row.accuracy <= row.accuracy_hi <= 1
    assert len(res.predictions) == len(te.items)
    cv = cross_validate(tr, ["svm"], n_splits=3)
    cb = cv_bootstrap(cv, tr, n_boot=200)
    assert cb.iloc[0].accuracy == pytest.approx(float((cv.predictions["label"] == cv.predictions["predicted"]).mean()))
    with pytest.raises(ParameterError, match="gamma_scale"):
        transfer_evaluate(tr, te, ["svm"], options={"svm": {"gamma_scale": 0.0}})
    te.items.loc[0, "label"] = "other"
    with pytest.raises(ParameterError, match="only in test: other"):
        transfer_evaluate(tr, te, ["svm"])


def test_bootstrap_ci_resamples_groups_and_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.choice(list("abc"), 120)
    p = np.where(rng.random(120) < 0.7, y, rng.choice(list("abcd"), 120))  # 'd' is never a true label
    ci = bootstrap_ci(y, p, n_boot=300)
    assert ci["accuracy"] == pytest.approx(np.mean(y == p))
    assert ci["macro_f1"] == pytest.approx(f1_score(y, p, labels=list("abc"), average="macro", zero_division=0))
    assert ci["accuracy_lo"] < ci["accuracy"] < ci["accuracy_hi"]
    # one group of 60 identical outcomes per side: clip-level resampling would be far too narrow
    g = np.repeat(["g1", "g2"], 60)
    yy, pp = np.array(["a"] * 120), np.array(["a"] * 60 + ["b"] * 60)
    grouped = bootstrap_ci(yy, pp, g, n_boot=300)
    flat = bootstrap_ci(yy, pp, n_boot=300)
    assert grouped["accuracy_hi"] - grouped["accuracy_lo"] > 2 * (flat["accuracy_hi"] - flat["accuracy_lo"])
    assert check_same_labels(["x", "y"], ["y", "x", "x"]) == ["x", "y"]


def test_cli_on_two_rendered_folders(tmp_path):
    """A tiny styles corpus rendered by TimGM6mb, scored on other pieces through another renderer."""
    other = next((n for n in ("timidity", "fluidr3") if n in available_renderers()), None)
    if other is None:
        pytest.skip("needs timidity or FluidR3_GM (apt-get install timidity freepats fluid-soundfont-gm)")
    styles = ("irish-fiddle", "bach-chorale")
    train = build_styles_corpus(tmp_path / "train", per_class=3, styles=styles, length_s=3.0, jobs=1,
                                show_progress=False)
    test = build_styles_corpus(tmp_path / "test", per_class=2, styles=styles, length_s=3.0, seed=1, jobs=1,
                               renderers=(other,), exclude_groups=set(train.manifest["group"]), show_progress=False)
    assert not set(train.manifest["group"]) & set(test.manifest["group"])
    r = _run(tmp_path / "data", "--train", train.root, "--test", test.root, "-m", "svm", "-j", "1", "--bootstrap", "100")
    assert r.exit_code == 0, r.output
    assert "confusion (svm)" in r.output and "bach-chorale" in r.output
    with Catalog(Settings(data_dir=tmp_path / "data").catalog_path) as cat:
        s = cat.read_frame("genre_transfer")
    assert int(s["n_test"].iloc[0]) == 4 and int(s["n_train"].iloc[0]) == 6
    assert isinstance(s, pd.DataFrame) and 0 <= float(s["accuracy"].iloc[0]) <= 1
