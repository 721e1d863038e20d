"""scikit-learn transformers, so the extractors drop into a ``Pipeline``.

Both take ``X`` as a sequence of clips: 1-D float arrays at ``sr``, or paths to audio files
(decoded at ``sr``, ``duration`` seconds from ``offset``), or a 2-D float array with one
equal-length clip per row. ``fit`` learns nothing from the data but validates parameters and
clips and records ``n_features_out_`` (and ``n_features_in_``, the clip length, for a 2-D array); ``transform`` returns a float array
(n_clips, n_features) with ``get_feature_names_out`` naming every column.

Examples
--------
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> pipe = make_pipeline(Stats42Transformer(sr=16000), StandardScaler())
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ParameterError
from .extract import extract_clip, feature_names
from .stats42 import STAT42_NAMES, stats42


def _check_clip(x, i: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise ParameterError(f"clip {i}: expected a 1-D signal, got shape {x.shape}")
    if x.dtype.kind == "O":
        x = x.astype(np.float64)
    if x.dtype.kind != "f":
        raise ParameterError(f"clip {i}: expected floating-point audio, got dtype {x.dtype} "
                             "(integer PCM has no known scale: divide by its full scale first)")
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"clip {i}: the signal contains NaN or infinite samples")
    return x


def _signals(X, sr: int, offset: float, duration: float | None):
    """Decode (paths) or pass on (arrays) the already validated clips, one at a time."""
    for item in X:
        if isinstance(item, str | Path):
            from ..audio.decode import load

            y, _ = load(item, sr=sr, offset=offset, duration=duration)
            yield y
        else:
            yield item


class _ClipTransformer(TransformerMixin, BaseEstimator):
    def __init__(self, sr: int = 16000, offset: float = 0.0, duration: float | None = 15.0):
        self.sr = sr
        self.offset = offset
        self.duration = duration

    def _check(self) -> None:
        if int(self.sr) <= 0:
            raise ParameterError(f"sr must be > 0, got {self.sr}")
        if self.offset < 0 or (self.duration is not None and self.duration <= 0):
            raise ParameterError(f"need offset >= 0 and duration > 0, got {self.offset}, {self.duration}")

    def _validate(self, X, *, reset: bool) -> list:
        """The clips of ``X``: a list (or tuple, or 1-D array) of signals and paths, any lengths;
        or a 2-D float array, one equal-length clip per row, checked by ``validate_data`` (so a
        transformer fitted on such a table refuses rows of another length, as for any table)."""
        if isinstance(X, str | Path):
            raise ParameterError("X is one path: pass a list of clips, e.g. [path]")
        if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind not in "UO":
            raise ParameterError("X is one signal: pass a list of clips, e.g. [y] "
                                 "(Reshape your data: a 2-D array holds one clip per row)")
        if isinstance(X, list | tuple) or (isinstance(X, np.ndarray) and X.ndim == 1):
            if reset and hasattr(self, "n_features_in_"):
                del self.n_features_in_  # clips of any length: no fixed column count
            return [x if isinstance(x, str | Path) else _check_clip(x, i) for i, x in enumerate(X)]
        A = validate_data(self, X, reset=reset, dtype=None, accept_sparse=False, ensure_all_finite=True)
        return [_check_clip(row, i) for i, row in enumerate(A)]

    def fit(self, X: Sequence, y=None):
        """Check the parameters and the clips (no audio is decoded); learns nothing from the data."""
        self._check()
        clips = self._validate(X, reset=True)
        if not len(clips):
            raise ParameterError("X holds no clips (0 samples): need at least one to fit")
        self.n_features_out_ = len(self._names())
        return self

    def transform(self, X: Sequence) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        clips = self._validate(X, reset=False)
        rows = [self._one(s) for s in _signals(clips, int(self.sr), self.offset, self.duration)]
        return np.vstack(rows) if rows else np.zeros((0, self.n_features_out_))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return np.asarray(self._names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a 2-D float array is accepted (one equal-length clip per row); lists of clips or paths too
        tags.input_tags.two_d_array = True
        tags.requires_fit = True
        return tags


class Stats42Transformer(_ClipTransformer):
    """The seed's 42 statistics (``amp1mean`` .. ``power10``) of each clip."""

    def _names(self) -> list[str]:
        return list(STAT42_NAMES)

    def _one(self, y: np.ndarray) -> np.ndarray:
        return stats42(y, int(self.sr))


class FeatureExtractor(_ClipTransformer):
    """The full bgmscope descriptor vector of each clip (the ``features`` table's columns).

    ``include_f0=False`` leaves out the f0-contour summary (about a quarter of the time)."""

    def __init__(self, sr: int = 16000, offset: float = 0.0, duration: float | None = 15.0,
                 include_f0: bool = True):
        super().__init__(sr=sr, offset=offset, duration=duration)
        self.include_f0 = include_f0

    def _names(self) -> list[str]:
        return feature_names(include_f0=self.include_f0)

    def _one(self, y: np.ndarray) -> np.ndarray:
        v = extract_clip(y, int(self.sr), include_f0=self.include_f0)
        return np.fromiter(v.values(), dtype=np.float64, count=len(v))
