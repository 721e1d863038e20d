"""Genre classifiers: scikit-learn estimators (``BaseEstimator`` + ``ClassifierMixin``).

Every model takes a list of per-clip inputs (see :mod:`bgmscope.genre.features`; ``input_kind``
says which), and has ``fit(X, y) -> self``, ``predict(X)``, ``predict_proba(X)`` (columns in
``classes_`` order), ``score(X, y)`` (accuracy), ``predict_audio(y, sr)``, ``save(path)`` and
:func:`load_model`. ``sklearn.base.clone`` and ``cross_validate`` work on every model; the summary
models (svm, gbm) pass ``sklearn.utils.estimator_checks`` in full.

- :class:`HMMGenre` (``hmm``): the seed's method, one GaussianHMM per genre on MFCC frames; a clip
  goes to the genre whose model gives the highest log-likelihood per frame.
- :class:`SummaryGenre` (``svm``): scaling + RBF SVM (or gradient boosting) on clip summaries.
- :class:`CNNGenre` (``cnn``): a small PyTorch CNN on log-mel patches, averaged per clip. Torch is
  an optional extra (``pip install 'bgmscope[torch]'``).
"""

from __future__ import annotations

import io
import numbers
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from ..fsutil import atomic_write_bytes
from .features import FEATURE_VERSION, FeatureParams, clip_inputs

MODEL_FORMAT = 2  # 2: scikit-learn estimators (params stored as given, feature_params_ learned)
TORCH_HINT = ("the CNN model needs PyTorch, an optional extra: pip install 'bgmscope[torch]' "
              "(or: pip install torch)")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _seed(random_state) -> int:
    """An int seed from ``random_state`` (int, None or a RandomState), for libraries that want an int."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class NotTrainedError(ParameterError, NotFittedError):
    """A model used before ``fit``: a ParameterError (one-line CLI message) and sklearn's NotFittedError."""


class GenreModel(ClassifierMixin, BaseEstimator):
    """Shared behaviour: label bookkeeping, validation, prediction from audio, persistence.

    A scikit-learn classifier: ``__init__`` stores its parameters, ``fit`` validates them and the
    data, learned state ends in ``_``; ``sklearn.base.clone`` and ``score`` (accuracy) work. ``X``
    is a list of per-clip arrays of the model's ``input_kind`` (``frames`` and ``patches`` vary in
    length from clip to clip, so ``X`` is not one 2-D table; ``summary`` also takes a 2-D array).
    """

    kind = "base"
    input_kind = "summary"

    def __init__(self, *, params: FeatureParams | None = None, random_state: int | None = 0):
        self.params = params
        self.random_state = random_state

    # -- to implement ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Raise ParameterError on a bad hyper-parameter (called by ``fit``)."""

    def _fit(self, X: list[np.ndarray], yi: np.ndarray) -> None:
        raise NotImplementedError

    def _scores(self, X: list[np.ndarray]) -> np.ndarray:
        """Per-class probabilities ``(n, n_classes)``."""
        raise NotImplementedError

    # -- public interface -----------------------------------------------------------------------
    def fit(self, X: list[np.ndarray], y) -> GenreModel:
        """Validate the parameters and the data, then learn ``classes_`` and the model's state."""
        self._check_params()
        X = self._check_X(X, reset=True)
        y = column_or_1d(np.asarray(y), warn=True)
        if len(y) != len(X):
            raise ParameterError(f"{len(X)} inputs but {len(y)} labels")
        check_classification_targets(y)
        classes, yi = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ParameterError(f"need clips of at least two labels to train a classifier (got {len(classes)} class)")
        self.classes_ = classes
        self.feature_params_ = self.params if self.params is not None else FeatureParams()
        self._fit(X, yi)
        return self

    def predict_proba(self, X: list[np.ndarray]) -> np.ndarray:
        self._check_fitted()
        X = self._check_X(X)
        return self._scores(X) if X else np.zeros((0, len(self.classes_)))

    def predict(self, X: list[np.ndarray]) -> np.ndarray:
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)] if len(p) else self.classes_[:0]

    def featurize(self, y: np.ndarray, sr: int) -> np.ndarray:
        """This model's input for one clip (mono at ``feature_params_.sr``)."""
        self._check_fitted()
        return clip_inputs(y, sr, self.feature_params_, (self.input_kind,))[self.input_kind]

    def predict_audio(self, y: np.ndarray, sr: int) -> dict[str, float]:
        """Label probabilities of one clip of audio."""
        p = self.predict_proba([self.featurize(y, sr)])[0]
        return {str(c): float(v) for c, v in zip(self.classes_, p, strict=True)}

    def _check_X(self, X, *, reset: bool = False) -> list[np.ndarray]:
        if self.input_kind in ("summary", "tags"):
            return self._check_summary(X, reset=reset)
        if not isinstance(X, list | tuple):
            raise ParameterError(f"expected a list of per-clip {self.input_kind} inputs, got {type(X).__name__}")
        want = {"frames": 2, "patches": 3}[self.input_kind]
        out = []
        for i, x in enumerate(X):
            x = np.asarray(x, dtype=np.float32)
            if x.ndim != want or x.size == 0:
                raise ParameterError(f"input {i}: expected a non-empty {want}-d {self.input_kind} array, "
                                     f"got shape {x.shape}")
            out.append(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))
        # the per-clip feature axis (MFCC coefficients, mel bands) must agree, and match fit's
        widths = {x.shape[-1 if self.input_kind == "frames" else 1] for x in out}
        if len(widths) > 1:
            raise ParameterError(f"inputs disagree on their feature size: {sorted(widths)}")
        if out and reset:
            self.n_features_in_ = widths.pop()
        elif out and hasattr(self, "n_features_in_") and widths != {self.n_features_in_}:
            raise ParameterError(f"inputs have {widths.pop()} features, the model was fitted on "
                                 f"{self.n_features_in_}")
        return out

    def _check_summary(self, X, *, reset: bool) -> list[np.ndarray]:
        """Summaries are one table: ``validate_data`` checks them (2-D, dense, the width seen in fit)."""
        if isinstance(X, list | tuple) and not len(X) and not reset:
            return []
        A = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False, accept_sparse=False)
        A = np.nan_to_num(A, nan=0.0, posinf=0.0, neginf=0.0)  # a silent clip's undefined statistics
        return list(A)

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotTrainedError(f"this {self.kind} model is not trained yet: call fit() first")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "classes_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a list of per-clip arrays (variable length for frames and patches), not one 2-D table
        tags.input_tags.two_d_array = self.input_kind in ("summary", "tags")
        tags.input_tags.allow_nan = True  # non-finite values become 0 (a silent clip's NaN statistics)
        return tags

    # -- persistence ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def save(self, path: str | Path, *, meta: dict | None = None) -> Path:
        """Write the trained model (pickle with a small versioned header), atomically."""
        self._check_fitted()
        blob = {"format": MODEL_FORMAT, "feature_version": FEATURE_VERSION, "kind": self.kind,
                "meta": meta or {}, "state": self._state()}
        path = Path(path)
        atomic_write_bytes(path, pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL))
        return path


class HMMGenre(GenreModel):
    """The seed's classifier: one ``hmmlearn.hmm.GaussianHMM`` per genre on MFCC frames.

    Frames are standardised with training statistics (so a covariance floor means the same for
    every coefficient). A class whose HMM cannot be fitted (too few frames, degenerate covariance)
    falls back to fewer states, down to one Gaussian; ``converged_`` records each class's outcome.
    ``predict_proba`` is a softmax over per-frame log-likelihoods (``temperature`` scales it).
    """

    kind = "hmm"
    input_kind = "frames"

    def __init__(self, *, n_states: int = 4, covariance_type: str = "diag", n_iter: int = 20,
                 min_covar: float = 1e-3, temperature: float = 1.0, max_frames_per_class: int = 60000,
                 params: FeatureParams | None = None, random_state: int | None = 0):
        super().__init__(params=params, random_state=random_state)
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.n_iter = n_iter
        self.min_covar = min_covar
        self.temperature = temperature
        self.max_frames_per_class = max_frames_per_class

    def _check_params(self) -> None:
        if not isinstance(self.n_states, numbers.Integral) or self.n_states < 1:
            raise ParameterError(f"n_states must be an int >= 1, got {self.n_states!r}")
        if self.covariance_type not in ("diag", "full", "spherical", "tied"):
            raise ParameterError(f"covariance_type must be diag|full|spherical|tied, got {self.covariance_type!r}")
        if not self.temperature > 0:
            raise ParameterError(f"temperature must be > 0, got {self.temperature}")
        if self.n_iter < 1 or self.max_frames_per_class < 1 or not self.min_covar > 0:
            raise ParameterError("n_iter and max_frames_per_class must be >= 1 and min_covar > 0")

    def _fit(self, X: list[np.ndarray], yi: np.ndarray) -> None:
        # hmmlearn's small matrix ops gain nothing from BLAS threads and lose much on a busy machine
        with threadpool_limits(1):
            self._fit_hmms(X, yi)

    def _fit_hmms(self, X: list[np.ndarray], yi: np.ndarray) -> None:
        from hmmlearn.hmm import GaussianHMM

        allf = np.concatenate(X)
        self.mean_ = allf.mean(0)
        self.scale_ = np.where(allf.std(0) > 1e-6, allf.std(0), 1.0)
        self.models_, self.converged_, self.states_ = [], [], []
        seed = _seed(self.random_state)
        rng = np.random.default_rng(seed)
        for c in range(len(self.classes_)):
            seqs = [self._norm(X[i]) for i in np.flatnonzero(yi == c)]
            rng.shuffle(seqs)
            kept, total = [], 0  # cap the frames per class so training time stays bounded
            for s in seqs:
                if total >= self.max_frames_per_class and kept:
                    break
                kept.append(s)
                total += len(s)
            data = np.concatenate(kept)
            # a tiny jitter keeps constant (silent) clips from collapsing a covariance to zero
            data = data + rng.normal(0, 1e-3, data.shape)
            lengths = [len(s) for s in kept]
            model, conv, used = None, False, 0
            for n in range(min(self.n_states, max(1, len(data) // 4)), 0, -1):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m = GaussianHMM(n_components=n, covariance_type=self.covariance_type,
                                        n_iter=self.n_iter, min_covar=self.min_covar,
                                        random_state=seed, init_params="stmc")
                        m.fit(data, lengths)
                    if not np.isfinite(m.score(data[: min(len(data), 500)])):
                        raise ValueError("non-finite likelihood")
                    model, conv, used = m, bool(m.monitor_.converged), n
                    break
                except (ValueError, np.linalg.LinAlgError):
                    continue
            if model is None:
                raise ParameterError(f"could not fit an HMM for class {self.classes_[c]!r}")
            self.models_.append(model)
            self.converged_.append(conv)
            self.states_.append(used)

    def _norm(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean_) / self.scale_).astype(np.float64)

    def loglik(self, X: list[np.ndarray]) -> np.ndarray:
        """Per-frame log-likelihood of every clip under every class's HMM, ``(n, n_classes)``."""
        self._check_fitted()
        out = np.empty((len(X), len(self.models_)))
        with threadpool_limits(1):
            for i, x in enumerate(self._check_X(X)):
                out[i] = self._loglik_one(x)
        return out

    def _loglik_one(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.models_))
        z = self._norm(x)
        for c, m in enumerate(self.models_):
            try:
                s = m.score(z) / len(z)
            except (ValueError, np.linalg.LinAlgError):
                s = -np.inf
            out[c] = s if np.isfinite(s) else -1e12  # a clip no model can explain: lowest, not NaN
        return out

    def _scores(self, X: list[np.ndarray]) -> np.ndarray:
        return _softmax(self.loglik(X) / self.temperature)


class SummaryGenre(GenreModel):
    """Scaling + RBF SVM (``estimator='svm'``) or gradient boosting (``'gbm'``) on clip summaries."""

    kind = "svm"
    input_kind = "summary"

    def __init__(self, *, estimator: str = "svm", C: float = 10.0, gamma: str | float = "scale",
                 gamma_scale: float = 1.0, softmax_scale: float | None = None, max_iter: int = 200, params: FeatureParams | None = None,
                 random_state: int | None = 0):
        super().__init__(params=params, random_state=random_state)
        self.estimator = estimator
        self.C = C
        self.gamma = gamma
        # multiplies gamma='scale' (1 / n_features on standardised inputs). 1.0 stays: leave-one-
        # renderer-out CV on a 240-clip training corpus favoured 0.5 (0.571 vs 0.529), but grouped CV
        # on the 360-clip one did not (0.658 vs 0.675), so that preference was split noise
        self.gamma_scale = gamma_scale
        self.softmax_scale = softmax_scale  # None: calibrated on inner folds at fit time
        self.max_iter = max_iter  # boosting rounds (gbm only)

    def _check_params(self) -> None:
        if self.estimator not in ("svm", "gbm"):
            raise ParameterError(f"estimator must be svm|gbm, got {self.estimator!r}")
        if not self.gamma_scale > 0:
            raise ParameterError(f"gamma_scale must be > 0, got {self.gamma_scale}")
        if not self.C > 0 or self.max_iter < 1:
            raise ParameterError(f"C must be > 0 and max_iter >= 1, got {self.C}, {self.max_iter}")
        if self.softmax_scale is not None and not self.softmax_scale > 0:
            raise ParameterError(f"softmax_scale must be > 0 or None, got {self.softmax_scale}")

    def _fit(self, X: list[np.ndarray], yi: np.ndarray) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        self.seed_ = _seed(self.random_state)
        Z = np.stack(X)
        if self.estimator == "svm":
            # probabilities: a softmax over one-vs-rest decision values, its scale calibrated below
            gamma = self.gamma
            if gamma == "scale":
                gamma = self.gamma_scale / Z.shape[1]  # the inputs are standardised: variance 1
            est = SVC(C=self.C, gamma=gamma, decision_function_shape="ovr", random_state=self.seed_)
        else:
            est = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=0.1,
                                                 random_state=self.seed_)
        self.pipeline_ = make_pipeline(StandardScaler(), est).fit(Z, yi)
        self.n_iter_ = est.n_iter_  # SVC: per class pair; boosting: rounds run
        self.scale_ = self.softmax_scale if self.softmax_scale is not None else 1.0
        if self.estimator == "svm" and self.softmax_scale is None:
            self.scale_ = self._calibrate(Z, yi)

    def _calibrate(self, Z: np.ndarray, yi: np.ndarray) -> float:
        """The softmax scale that minimises the log-loss of inner out-of-fold decision values, so a
        0.9 probability is right about 9 times in 10 rather than a fixed, overconfident mapping."""
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        k = min(3, int(np.bincount(yi).min()))
        if k < 2:
            return 1.0
        cv = StratifiedKFold(k, shuffle=True, random_state=self.seed_)
        d = cross_val_predict(clone(self.pipeline_), Z, yi, cv=cv, method="decision_function")
        d = d[:, None] if d.ndim == 1 else d
        if d.shape[1] == 1:
            d = np.hstack([-d, d])
        grid = np.geomspace(0.05, 20, 40)
        loss = [-np.mean(np.log(_softmax(s * d)[np.arange(len(yi)), yi] + 1e-12)) for s in grid]
        return float(grid[int(np.argmin(loss))])

    def _scores(self, X: list[np.ndarray]) -> np.ndarray:
        Z = np.stack(X)
        if self.estimator == "svm":
            d = self.pipeline_.decision_function(Z)
            d = d[:, None] if d.ndim == 1 else d
            if d.shape[1] == 1:  # two classes: one signed margin
                d = np.hstack([-d, d])
            p = _softmax(self.scale_ * d)
        else:
            p = self.pipeline_.predict_proba(Z)
        out = np.zeros((len(X), len(self.classes_)))
        out[:, self.pipeline_.classes_] = p  # every class is present, but keep the mapping explicit
        return out


class TagGenre(SummaryGenre):
    """The same scaled RBF SVM on the pretrained musicnn taggers' scores (``features.tag_input``):
    how well the tagger's view of a clip separates the styles. Needs the ``[models]`` extra."""

    kind = "tags"
    input_kind = "tags"


def tags_available() -> bool:
    """Whether the musicnn tagger (onnxruntime and its weights) can run here."""
    try:
        from ..models.runtime import require_onnxruntime, weight

        require_onnxruntime()
        weight("musicnn_MSD.onnx")
    except (ImportError, ParameterError):
        return False
    return True


class CNNGenre(GenreModel):
    """A small CNN on log-mel patches (4 conv blocks, global pooling); a clip's probabilities are
    the mean of its patches' softmax. Trains on CPU in a minute on a few hundred clips; CUDA when
    present. Inputs are standardised per mel band with training statistics.
    """

    kind = "cnn"
    input_kind = "patches"

    def __init__(self, *, epochs: int = 30, batch_size: int = 32, lr: float = 3e-3, width: int = 16,
                 weight_decay: float = 1e-4, device: str | None = None,
                 params: FeatureParams | None = None, random_state: int | None = 0):
        super().__init__(params=params, random_state=random_state)
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.width = width
        self.weight_decay = weight_decay
        self.device = device

    def _check_params(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.width < 1:
            raise ParameterError("epochs, batch_size and width must be >= 1")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ParameterError(f"lr must be > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        _torch()

    def _net(self, n_classes: int):
        torch = _torch()
        nn = torch.nn
        w = self.width

        def block(i: int, o: int) -> list:
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                    nn.MaxPool2d(2)]

        return nn.Sequential(*block(1, w), *block(w, 2 * w), *block(2 * w, 4 * w), *block(4 * w, 4 * w),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
                             nn.Linear(4 * w, n_classes))

    def _dev(self):
        torch = _torch()
        return torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def _fit(self, X: list[np.ndarray], yi: np.ndarray) -> None:
        torch = _torch()
        seed = _seed(self.random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        P = np.concatenate(X)
        py = np.concatenate([np.full(len(x), c) for x, c in zip(X, yi, strict=True)])
        self.band_mean_ = P.mean(axis=(0, 2)).astype(np.float32)
        self.band_std_ = (P.std(axis=(0, 2)) + 1e-3).astype(np.float32)
        dev = self._dev()
        net = self._net(len(self.classes_)).to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = self.epochs * int(np.ceil(len(P) / self.batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=steps)
        Xt = torch.from_numpy(self._norm(P)).unsqueeze(1)
        yt = torch.from_numpy(py.astype(np.int64))
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
        net.train()
        self.loss_curve_ = []
        for _ in range(self.epochs):
            order = rng.permutation(len(P))
            total = 0.0
            for a in range(0, len(order), self.batch_size):
                idx = torch.from_numpy(order[a: a + self.batch_size])
                xb = Xt[idx]
                # shift in time by a random roll: patches are excerpts, their start is arbitrary
                xb = torch.roll(xb, int(rng.integers(0, xb.shape[-1])), dims=-1)
                xb, yb = xb.to(dev), yt[idx].to(dev)
                opt.zero_grad()
                loss = loss_fn(net(xb), yb)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            self.loss_curve_.append(total / len(P))
        self.net_ = net.to("cpu").eval()

    def _norm(self, P: np.ndarray) -> np.ndarray:
        return ((P - self.band_mean_[None, :, None]) / self.band_std_[None, :, None]).astype(np.float32)

    def _scores(self, X: list[np.ndarray]) -> np.ndarray:
        torch = _torch()
        out = np.zeros((len(X), len(self.classes_)))
        with torch.no_grad():
            for i, x in enumerate(X):
                logits = self.net_(torch.from_numpy(self._norm(x)).unsqueeze(1))
                out[i] = torch.softmax(logits, dim=1).mean(0).numpy()
        return out

    def _state(self) -> dict[str, Any]:
        torch = _torch()
        state = {k: v for k, v in self.__dict__.items() if k != "net_"}
        buf = io.BytesIO()
        torch.save(self.net_.state_dict(), buf)
        state["net_state_"] = buf.getvalue()
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        torch = _torch()
        raw = state.pop("net_state_")
        self.__dict__.update(state)
        net = self._net(len(self.classes_))
        net.load_state_dict(torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True))
        self.net_ = net.eval()


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ParameterError(TORCH_HINT) from exc
    return torch


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


MODEL_CLASSES: dict[str, type[GenreModel]] = {"hmm": HMMGenre, "svm": SummaryGenre, "cnn": CNNGenre,
                                              "tags": TagGenre}


def make_model(kind: str, *, random_state: int | None = 0, params: FeatureParams | None = None,
               **options: Any) -> GenreModel:
    """A fresh (unfitted) model of ``kind`` (hmm | svm | gbm | cnn); ``options`` go to its constructor.

    Asking for ``cnn`` without PyTorch installed raises ParameterError saying how to install it.
    """
    if kind == "cnn":
        _torch()
    if kind == "gbm":
        return SummaryGenre(estimator="gbm", random_state=random_state, params=params, **options)
    if kind not in MODEL_CLASSES:
        raise ParameterError(f"unknown model {kind!r}; choose hmm, svm, gbm, cnn or tags")
    return MODEL_CLASSES[kind](random_state=random_state, params=params, **options)


def load_model(path: str | Path) -> tuple[GenreModel, dict]:
    """A model saved by :meth:`GenreModel.save`, and the metadata saved with it."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"no trained genre model at {path}: run 'bgmscope genre train' first")
    try:
        blob = pickle.loads(path.read_bytes())
    except Exception as exc:
        raise ParameterError(f"{path} is not a bgmscope genre model ({type(exc).__name__})") from None
    if isinstance(blob, dict) and isinstance(blob.get("format"), int) and blob["format"] < MODEL_FORMAT:
        raise ParameterError(f"{path} was saved by an older bgmscope (model format {blob['format']}); this one "
                             f"reads format {MODEL_FORMAT}: train it again with 'bgmscope genre train'")
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT or blob.get("kind") not in MODEL_CLASSES:
        raise ParameterError(f"{path} is not a bgmscope genre model of format {MODEL_FORMAT}")
    if blob.get("feature_version") != FEATURE_VERSION:
        raise ParameterError(f"{path} was trained on features v{blob.get('feature_version')}, "
                             f"this bgmscope computes v{FEATURE_VERSION}: train it again")
    cls = MODEL_CLASSES[blob["kind"]]
    model = cls.__new__(cls)
    model._set_state(dict(blob["state"]))
    return model, blob.get("meta", {})
