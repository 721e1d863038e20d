"""Train a genre model on a labelled dataset folder and keep it in the model folder.

Trained models live in ``<data_dir>/models/genre/<kind>.pkl`` with their metadata (dataset,
labels, counts, feature parameters, time); :func:`find_model` picks the one to predict with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..config import Settings
from ..errors import ParameterError
from .dataset import load_dataset
from .evaluate import INPUT_OF, compute_inputs
from .features import FeatureParams
from .models import GenreModel, load_model, make_model


def input_cache(settings: Settings) -> Path:
    """Where per-clip model inputs are cached (under the data dir: dataset folders may be read-only)."""
    return settings.data_dir / "cache" / "genre-inputs"


def model_folder(settings: Settings) -> Path:
    return settings.model_dir / "genre"


def model_path(settings: Settings, kind: str) -> Path:
    if kind not in INPUT_OF:
        raise ParameterError(f"unknown model {kind!r}; choose hmm, svm, gbm or cnn")
    return model_folder(settings) / f"{kind}.pkl"


def find_model(settings: Settings, kind: str | None = None, path: str | Path | None = None) -> Path:
    """The model file to use: ``path``, else ``<kind>.pkl``, else the most recently trained one.

    Raises ParameterError saying how to train one when there is none.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ParameterError(f"no genre model file at {p}")
        return p
    if kind is not None:
        p = model_path(settings, kind)
        if not p.is_file():
            raise ParameterError(f"no trained {kind} genre model in {model_folder(settings)}: "
                                 f"run 'bgmscope genre train DATASET --model {kind}' first")
        return p
    found = sorted(model_folder(settings).glob("*.pkl"), key=lambda p: p.stat().st_mtime) \
        if model_folder(settings).is_dir() else []
    if not found:
        raise ParameterError(f"no trained genre model in {model_folder(settings)}: run "
                             "'bgmscope genre train DATASET --model svm' (or 'bgmscope genre styles-corpus' "
                             "first for an offline dataset)")
    return found[-1]


@dataclass
class TrainResult:
    model: GenreModel
    path: Path
    n_clips: int
    counts: dict[str, int]
    fit_s: float
    failures: list[tuple[str, str]]


def train(dataset_dir: str | Path, kind: str, settings: Settings, *, jobs: int = 1, out: str | Path | None = None,
          params: FeatureParams | None = None, options: dict | None = None, show_progress: bool = True,
          cache: bool = True) -> TrainResult:
    """Fit a ``kind`` model on every clip of the dataset and save it (``out`` or the model folder)."""
    params = params or FeatureParams(sr=settings.sample_rate)
    ds = load_dataset(dataset_dir)
    if len(ds.labels) < 2:
        raise ParameterError(f"{dataset_dir}: need at least two labels, found {ds.labels}")
    data = compute_inputs(ds, kinds=(INPUT_OF[kind],), params=params, jobs=jobs, show_progress=show_progress,
                          cache_dir=input_cache(settings) if cache else None)
    if data.items.empty:
        raise ParameterError(f"{dataset_dir}: no clip could be decoded ({len(data.failures)} failed)")
    model = make_model(kind, random_state=settings.seed, params=params, **(options or {}))
    t0 = time.perf_counter()
    model.fit(data.inputs[INPUT_OF[kind]], data.items["label"].tolist())
    fit_s = time.perf_counter() - t0
    counts = {k: int(v) for k, v in data.items["label"].value_counts().sort_index().items()}
    meta = {"dataset": str(Path(dataset_dir).resolve()), "labels": list(model.classes_), "counts": counts,
            "n_clips": len(data.items), "feature_params": params.as_dict(), "fit_s": round(fit_s, 3),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "seed": settings.seed}
    path = Path(out) if out else model_path(settings, kind)
    model.save(path, meta=meta)
    return TrainResult(model, path, len(data.items), counts, fit_s, data.failures)


def describe(path: str | Path) -> dict:
    """A saved model's kind, labels and training metadata."""
    model, meta = load_model(path)
    return {"kind": model.kind, "labels": list(model.classes_), **meta}
