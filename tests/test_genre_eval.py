"""Grouped stratified k-fold: no piece (hence no clip or patch) on both sides; honest tables."""

from __future__ import annotations

import numpy as np
import pytest
from genre_helpers import make_dataset

from bgmscope.catalog import Catalog
from bgmscope.errors import ParameterError
from bgmscope.genre.dataset import load_dataset
from bgmscope.genre.evaluate import check_no_leak, compute_inputs, cross_validate, folds, store_eval


def test_folds_keep_pieces_together_and_stratify():
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], 20)
    groups = np.array([f"{lab}-piece{i // 2}" for i, lab in enumerate(labels)])  # 2 clips per piece
    perm = rng.permutation(len(labels))
    labels, groups = labels[perm], groups[perm]
    splits = folds(labels, groups, n_splits=5, seed=0)
    assert len(splits) == 5
    for tr, te in splits:
        assert not set(groups[tr]) & set(groups[te])
        assert {lab: int((labels[te] == lab).sum()) for lab in "abc"} == {"a": 4, "b": 4, "c": 4}
    tested = np.concatenate([te for _, te in splits])
    assert sorted(tested) == list(range(len(labels)))


def test_leak_check_catches_a_split_piece():
    groups = np.array(["p1", "p1", "p2", "p2"])
    with pytest.raises(AssertionError, match="both sides"):
        check_no_leak([(np.array([0, 2]), np.array([1, 3]))], groups)
    with pytest.raises(AssertionError, match="exactly once"):
        check_no_leak([(np.array([0, 1]), np.array([2]))], groups)


def test_too_few_groups_refused():
    with pytest.raises(ParameterError, match=">= 2 pieces"):
        folds(np.array(["a", "a", "b", "b"]), np.array(["x", "x", "y", "z"]))


def test_cross_validate_tables_and_catalog(tmp_path):
    root = make_dataset(tmp_path / "ds", per_label=6)
    ds = load_dataset(root)
    data = compute_inputs(ds, kinds=("frames", "summary"), jobs=1, show_progress=False,
                          cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 18
    again = compute_inputs(ds, kinds=("frames", "summary"), jobs=1, show_progress=False,
                           cache_dir=tmp_path / "cache")  # from the cache, identical
    assert np.array_equal(again.inputs["summary"][3], data.inputs["summary"][3])
    res = cross_validate(data, ["hmm", "svm"], n_splits=3, seed=0)
    assert list(res.summary["model"]) == ["hmm", "svm"]
    assert (res.summary["folds"] == 3).all() and (res.summary["n_clips"] == 18).all()
    # the stored tables keep their columns
    assert list(res.summary.columns) == ["model", "n_clips", "n_classes", "folds", "accuracy", "accuracy_std",
                                         "macro_f1", "macro_f1_std", "fit_s", "predict_ms_per_clip"]
    assert list(res.per_fold.columns) == ["model", "fold", "n_train", "n_test", "accuracy", "macro_f1",
                                          "fit_s", "predict_s"]
    assert list(res.per_class.columns) == ["model", "label", "recall", "f1", "support"]
    assert list(res.confusion.columns) == ["model", "true_label", "pred_label", "count"]
    assert (res.per_fold["fit_s"] > 0).all() and (res.per_fold["n_train"] + res.per_fold["n_test"] == 18).all()
    # every fold's accuracy (from sklearn's cross_validate) agrees with its out-of-fold predictions
    for (m, f), g in res.predictions.groupby(["model", "fold"]):
        row = res.per_fold[(res.per_fold["model"] == m) & (res.per_fold["fold"] == f)].iloc[0]
        assert row["n_test"] == len(g) and row["accuracy"] == pytest.approx((g["label"] == g["predicted"]).mean())
    svm = res.summary.set_index("model").loc["svm"]
    assert svm["accuracy"] >= 0.8 and 0 <= svm["accuracy_std"] <= 0.5
    for m in ("hmm", "svm"):
        conf = res.confusion[res.confusion["model"] == m]
        assert conf["count"].sum() == 18 and len(conf) == 9
        preds = res.predictions[res.predictions["model"] == m]
        assert preds["clip_id"].is_unique and len(preds) == 18
        acc = float((preds["label"] == preds["predicted"]).mean())
        diag = conf[conf["true_label"] == conf["pred_label"]]["count"].sum() / 18
        assert acc == pytest.approx(diag)
    with Catalog(tmp_path / "cat.duckdb") as cat:
        names = store_eval(cat, res, dataset="合成")
        assert names == ["genre_eval", "genre_eval_folds", "genre_per_class", "genre_confusion"]
        ev = cat.read_frame("genre_eval")
        assert list(ev["dataset"].unique()) == ["合成"] and len(ev) == 2
        assert len(cat.read_frame("genre_eval_folds")) == 6


def test_unreadable_clip_is_reported_not_fatal(tmp_path):
    root = make_dataset(tmp_path / "ds", per_label=3)
    (root / "tones" / "broken.wav").write_bytes(b"RIFF not really audio")
    ds = load_dataset(root)
    data = compute_inputs(ds, kinds=("summary",), jobs=1, show_progress=False)
    assert len(data.items) == 9 and len(data.failures) == 1
    assert "broken.wav" in data.failures[0][0] and "\n" not in data.failures[0][1]
