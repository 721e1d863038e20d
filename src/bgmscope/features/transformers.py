"""scikit-learn transformers, so the extractors drop into a ``Pipeline``.

Both take ``X`` as a sequence of clips: 1-D float arrays at ``sr``, or paths to audio files
(decoded at ``sr``, ``duration`` seconds from ``offset``). ``fit`` learns nothing from the data
but validates parameters and records ``n_features_out_``; ``transform`` returns a float array
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

from ..errors import ParameterError
from .extract import extract_clip, feature_names
from .stats42 import STAT42_NAMES, stats42


def _signals(X, sr: int, offset: float, duration: float | None):
    if isinstance(X, np.ndarray) and X.ndim == 1 and np.issubdtype(X.dtype, np.floating):
        raise ParameterError("X is one signal: pass a list of clips, e.g. [y]")
    if isinstance(X, str | Path):
        raise ParameterError("X is one path: pass a list of clips, e.g. [path]")
    for item in X:
        if isinstance(item, str | Path):
            from ..audio.decode import load

            y, _ = load(item, sr=sr, offset=offset, duration=duration)
            yield y
        else:
            yield np.asarray(item)


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

    def fit(self, X: Sequence, y=None):
        self._check()
        self.n_features_out_ = len(self._names())
        return self

    def transform(self, X: Sequence) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_out_")
        rows = [self._one(s) for s in _signals(X, int(self.sr), self.offset, self.duration)]
        return np.vstack(rows) if rows else np.zeros((0, self.n_features_out_))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self._names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a list of clips, not a 2-D table
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
