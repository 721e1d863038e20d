"""Genre models: they learn a separable problem, survive silence, save/load identically, refuse bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from genre_helpers import LABELS, SR, make_clip
from sklearn.base import clone, is_classifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from bgmscope.errors import ParameterError
from bgmscope.genre.features import clip_inputs
from bgmscope.genre.models import HMMGenre, SummaryGenre, load_model, make_model, torch_available


@pytest.fixture(scope="module")
def synth():
    """Train and test inputs of three labels (14 + 6 clips each), every input kind."""
    rng = np.random.default_rng(0)
    data = {"train": [], "test": []}
    for split, n in (("train", 14), ("test", 6)):
        for lab in LABELS:
            for _ in range(n):
                data[split].append((lab, clip_inputs(make_clip(lab, rng), SR)))
    return data


def _xy(data, split, kind):
    return [d[kind] for _, d in data[split]], [lab for lab, _ in data[split]]


@pytest.mark.parametrize("kind", ["hmm", "svm"])
def test_models_learn_separable_labels(synth, kind):
    model = make_model(kind, random_state=0)
    Xtr, ytr = _xy(synth, "train", model.input_kind)
    Xte, yte = _xy(synth, "test", model.input_kind)
    model.fit(Xtr, ytr)
    assert list(model.classes_) == sorted(LABELS)
    acc = np.mean(model.predict(Xte) == np.array(yte))
    assert acc >= 0.9, f"{kind} held-out accuracy {acc:.2f}"
    p = model.predict_proba(Xte)
    assert p.shape == (len(Xte), 3) and np.allclose(p.sum(1), 1) and (p >= 0).all()


def test_hmm_per_frame_loglik_is_length_normalised(synth):
    Xtr, ytr = _xy(synth, "train", "frames")
    model = HMMGenre(n_states=3).fit(Xtr, ytr)
    x = Xtr[0]
    a, b = model.loglik([x])[0], model.loglik([np.concatenate([x, x, x])])[0]
    assert np.allclose(a, b, atol=0.5)  # a clip three times as long scores about the same per frame


def test_silent_clips_do_not_crash_the_hmm(synth):
    Xtr, ytr = _xy(synth, "train", "frames")
    silent = clip_inputs(np.zeros(2 * SR, np.float32), SR)["frames"]
    # a whole class of silent clips (constant frames: a degenerate covariance without care)
    model = HMMGenre(n_states=4).fit(Xtr + [silent] * 4, ytr + ["silence"] * 4)
    assert len(model.models_) == 4 and all(s >= 1 for s in model.states_)
    p = model.predict_proba([silent, Xtr[0]])
    assert np.isfinite(p).all() and np.allclose(p.sum(1), 1)
    assert model.predict([silent])[0] == "silence"
    # and a silent clip given to a model that never saw one
    plain = HMMGenre().fit(Xtr, ytr)
    assert np.isfinite(plain.predict_proba([silent])).all()


def test_hmm_fits_tiny_classes_by_falling_back():
    rng = np.random.default_rng(0)
    X = [rng.normal(0, 1, (3, 13)).astype(np.float32), rng.normal(5, 1, (2, 13)).astype(np.float32)]
    model = HMMGenre(n_states=4).fit(X, ["a", "b"])  # fewer frames than states x 4
    assert model.states_ == [1, 1]
    assert list(model.predict(X)) == ["a", "b"]


@pytest.mark.parametrize("kind", ["hmm", "svm", "gbm"])
def test_saved_model_predicts_identically(synth, tmp_path, kind):
    model = make_model(kind, random_state=0, **({"max_iter": 40} if kind == "gbm" else {}))
    Xtr, ytr = _xy(synth, "train", model.input_kind)
    Xte, _ = _xy(synth, "test", model.input_kind)
    model.fit(Xtr, ytr)
    path = model.save(tmp_path / f"{kind}.pkl", meta={"dataset": "合成"})
    loaded, meta = load_model(path)
    assert meta == {"dataset": "合成"} and loaded.kind == model.kind
    assert np.array_equal(loaded.predict_proba(Xte), model.predict_proba(Xte))
    assert list(loaded.predict(Xte)) == list(model.predict(Xte))


def test_predict_audio_matches_inputs(synth):
    Xtr, ytr = _xy(synth, "train", "summary")
    model = SummaryGenre().fit(Xtr, ytr)
    y = make_clip("tones", np.random.default_rng(9))
    probs = model.predict_audio(y, SR)
    assert set(probs) == set(LABELS) and max(probs, key=probs.get) == "tones"


def test_bad_input_fails_clearly(synth, tmp_path):
    model = SummaryGenre()
    with pytest.raises(ParameterError, match="not trained"):
        model.predict([np.zeros(10)])
    with pytest.raises(ParameterError, match="not trained"):
        model.save(tmp_path / "m.pkl")
    Xtr, ytr = _xy(synth, "train", "summary")
    with pytest.raises(ParameterError, match="labels"):
        model.fit(Xtr, ytr[:-1])
    with pytest.raises(ParameterError, match="two labels"):
        model.fit(Xtr[:3], ["a"] * 3)
    with pytest.raises(ParameterError, match="expected a non-empty 2-d frames"):
        HMMGenre().fit([np.zeros(5)] * 2, ["a", "b"])
    with pytest.raises(ParameterError, match="unknown model"):
        make_model("lstm")
    banana = HMMGenre(covariance_type="banana")  # __init__ only stores; fit validates
    assert banana.get_params()["covariance_type"] == "banana"
    with pytest.raises(ParameterError, match="covariance_type"):
        banana.fit(*_xy(synth, "train", "frames"))
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ParameterError, match="not a bgmscope genre model"):
        load_model(tmp_path / "junk.pkl")
    with pytest.raises(ParameterError, match="genre train"):
        load_model(tmp_path / "missing.pkl")


@pytest.mark.skipif(not torch_available(), reason="PyTorch (the optional 'torch' extra) is not installed")
def test_cnn_learns_and_round_trips(synth, tmp_path):
    model = make_model("cnn", random_state=0, epochs=8, width=8)
    Xtr, ytr = _xy(synth, "train", "patches")
    Xte, yte = _xy(synth, "test", "patches")
    model.fit(Xtr, ytr)
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    acc = np.mean(model.predict(Xte) == np.array(yte))
    assert acc >= 0.9, f"cnn held-out accuracy {acc:.2f}"
    loaded, _ = load_model(model.save(tmp_path / "cnn.pkl"))
    assert np.allclose(loaded.predict_proba(Xte), model.predict_proba(Xte), atol=1e-6)


def test_cnn_without_torch_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ParameterError, match=r"bgmscope\[torch\]"):
        make_model("cnn")


def test_svm_probabilities_are_calibrated_not_fixed(synth):
    Xtr, ytr = _xy(synth, "train", "summary")
    Xte, yte = _xy(synth, "test", "summary")
    model = SummaryGenre().fit(Xtr, ytr)
    assert 0.05 <= model.scale_ <= 20
    fixed = SummaryGenre(softmax_scale=0.1).fit(Xtr, ytr)
    assert fixed.scale_ == 0.1
    # same ranking, different confidence: the scale changes probabilities, never the label
    assert list(fixed.predict(Xte)) == list(model.predict(Xte))
    assert fixed.predict_proba(Xte).max() < model.predict_proba(Xte).max()


def _kinds():
    return ["hmm", "svm", "gbm"] + (["cnn"] if torch_available() else [])


@pytest.mark.parametrize("kind", _kinds())
def test_every_genre_model_is_a_cloneable_sklearn_classifier(synth, kind):
    opts = {"gbm": {"max_iter": 30}, "cnn": {"epochs": 2, "width": 4}}.get(kind, {})
    model = make_model(kind, random_state=3, **opts)
    assert is_classifier(model)
    params = model.get_params()
    assert params["random_state"] == 3 and params["params"] is None
    fresh = clone(model)
    assert fresh is not model and fresh.get_params() == params
    Xtr, ytr = _xy(synth, "train", model.input_kind)
    Xte, yte = _xy(synth, "test", model.input_kind)
    model.fit(Xtr, ytr)
    # a clone of a fitted model is unfitted: learned state (the `_` attributes) is not copied
    unfitted = clone(model)
    assert not hasattr(unfitted, "classes_")
    with pytest.raises(ParameterError, match="not trained"):
        unfitted.predict(Xte)
    assert model.n_features_in_ == np.asarray(Xtr[0]).shape[{"frames": 1, "summary": 0, "patches": 1}[model.input_kind]]
    # ClassifierMixin.score is accuracy
    assert model.score(Xte, yte) == pytest.approx(np.mean(model.predict(Xte) == np.array(yte)))
    # set_params then fit works on the clone (what GridSearchCV does)
    other = clone(model).set_params(random_state=4)
    assert other.get_params()["random_state"] == 4


def test_init_stores_only_and_fit_validates():
    m = SummaryGenre(estimator="forest", C=-1)
    assert m.get_params()["estimator"] == "forest" and not hasattr(m, "classes_")
    with pytest.raises(ParameterError, match="svm\\|gbm"):
        m.fit([np.zeros(4), np.ones(4)], ["a", "b"])
    with pytest.raises(ParameterError, match="n_states"):
        HMMGenre(n_states=0).fit([np.zeros((5, 3))] * 2, ["a", "b"])


def test_integer_labels_and_random_state_none(synth):
    Xtr, ytr = _xy(synth, "train", "summary")
    codes = {lab: i for i, lab in enumerate(sorted(set(ytr)))}
    model = SummaryGenre(random_state=None).fit(np.stack(Xtr), [codes[y] for y in ytr])
    assert list(model.classes_) == [0, 1, 2]
    assert model.predict(np.stack(Xtr[:3])).dtype.kind == "i"
    with pytest.raises(ValueError, match="features"):
        model.predict([np.zeros(5)])  # a summary of another length


def test_grouped_cross_validate_runs_genre_models_directly(synth):
    from sklearn.model_selection import GroupKFold, cross_validate

    X, y = _xy(synth, "train", "summary")
    groups = np.arange(len(X)) // 2
    res = cross_validate(make_model("svm"), X, y, groups=groups, cv=GroupKFold(3), error_score="raise")
    assert len(res["test_score"]) == 3 and res["test_score"].mean() >= 0.8


def test_model_of_an_older_format_is_refused_with_a_clear_message(synth, tmp_path):
    from bgmscope.genre.features import FEATURE_VERSION
    from bgmscope.genre.models import MODEL_FORMAT

    assert MODEL_FORMAT >= 2
    old = {"format": 1, "feature_version": FEATURE_VERSION, "kind": "svm", "meta": {}, "state": {}}
    (tmp_path / "old.pkl").write_bytes(pickle.dumps(old))
    with pytest.raises(ParameterError, match="older bgmscope .model format 1.*train it again"):
        load_model(tmp_path / "old.pkl")


# The summary models take one 2-D table, so scikit-learn's own checks apply to them in full (none
# skipped). The HMM and the CNN take lists of variable-length arrays (frames, patches), which those
# checks cannot build; the cloning, score and validation tests above cover them instead.
@parametrize_with_checks([SummaryGenre(), SummaryGenre(estimator="gbm", max_iter=20)])
def test_summary_models_pass_sklearn_estimator_checks(estimator, check):
    check(estimator)
