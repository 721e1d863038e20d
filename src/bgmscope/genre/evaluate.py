"""Honest evaluation: stratified k-fold grouped by piece (or clip), every model on the same folds.

Model inputs are computed once per clip (they depend on no training data); scikit-learn's
``StratifiedGroupKFold`` makes the folds and ``cross_validate`` fits a fresh clone of each model
on the training clips only. :func:`check_no_leak` verifies that no group (piece or
clip, hence none of its patches) is on both sides of any split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, make_scorer, recall_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.model_selection import cross_validate as sk_cross_validate

from ..engine import run_map
from ..errors import ParameterError
from .dataset import LabelledDataset
from .features import FeatureParams, file_inputs
from .models import GenreModel, make_model

INPUT_OF = {"hmm": "frames", "svm": "summary", "gbm": "summary", "cnn": "patches", "tags": "tags"}


def inputs_for(models: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The input kinds the given model kinds read."""
    return tuple(sorted({INPUT_OF[m] for m in models}))


@dataclass
class DatasetInputs:
    """Per-clip model inputs of a dataset, aligned with ``items`` (clips that failed are dropped)."""

    items: pd.DataFrame
    inputs: dict[str, list[np.ndarray]]
    failures: list[tuple[str, str]] = field(default_factory=list)


def compute_inputs(dataset: LabelledDataset, *, kinds: tuple[str, ...], params: FeatureParams | None = None,
                   jobs: int = 1, show_progress: bool = True, cache_dir: str | Path | None = None) -> DatasetInputs:
    """Decode every clip once and compute the input kinds (frames, summary, patches) in parallel.

    ``cache_dir`` keeps each clip's inputs on disk (see :func:`~.features.file_inputs`).
    """
    params = params or FeatureParams()
    cache = str(cache_dir) if cache_dir else None
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
    jobs_list = [(p, params, tuple(sorted(kinds)), cache) for p in dataset.items["path"]]
    got: dict[str, dict[str, np.ndarray]] = {}
    failures = []
    for o in run_map(file_inputs, jobs_list, jobs=jobs, desc="genre inputs", show_progress=show_progress):
        if o.ok:
            got[o.item[0]] = o.result
        else:
            failures.append((o.item[0], o.error))
    items = dataset.items[dataset.items["path"].isin(got)].reset_index(drop=True)
    inputs = {k: [got[p][k] for p in items["path"]] for k in kinds}
    return DatasetInputs(items, inputs, failures)


def folds(labels: np.ndarray, groups: np.ndarray, *, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep every group on one side; fewer folds when a class has few groups."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    per_class = min(len(set(groups[labels == c])) for c in set(labels))
    k = min(n_splits, per_class)
    if k < 2:
        raise ParameterError(f"every label needs clips from >= 2 pieces/clips to evaluate; smallest has {per_class}")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    splits = list(cv.split(np.zeros(len(labels)), labels, groups))
    check_no_leak(splits, groups)
    return splits


def check_no_leak(splits: list[tuple[np.ndarray, np.ndarray]], groups: np.ndarray) -> None:
    """Raise if any group appears in both the training and the test side of a split, or if a clip
    is tested twice or never."""
    groups = np.asarray(groups)
    tested = np.zeros(len(groups), int)
    for i, (tr, te) in enumerate(splits):
        both = set(groups[tr]) & set(groups[te])
        if both:
            raise AssertionError(f"fold {i}: group(s) on both sides: {sorted(both)[:5]}")
        tested[te] += 1
    if not np.all(tested == 1):
        raise AssertionError("every clip must be tested exactly once across folds")


@dataclass
class EvalResult:
    summary: pd.DataFrame  # one row per model: accuracy/macro-F1 mean and std over folds, times
    per_fold: pd.DataFrame  # model, fold, accuracy, macro_f1, fit_s, predict_s
    per_class: pd.DataFrame  # model, label, recall, precision-free f1, support
    confusion: pd.DataFrame  # model, true_label, pred_label, count
    predictions: pd.DataFrame  # model, clip_id, label, predicted, fold


def cross_validate(data: DatasetInputs, models: list[str], *, n_splits: int = 5, seed: int = 0,
                   options: dict[str, dict] | None = None, on_progress=None) -> EvalResult:
    """Out-of-fold evaluation of each model kind on the same grouped, stratified folds.

    The folds come from :func:`folds` (``StratifiedGroupKFold``, checked for leaks); each model is
    fitted and scored by ``sklearn.model_selection.cross_validate`` on them (a fresh ``clone`` per
    fold, errors raised rather than scored as NaN). The fitted fold models then predict their own
    test clips once more for the out-of-fold predictions, per-class recall and confusion tables.
    ``on_progress(kind, fold, n_folds)`` is called once per fold after a model's folds are done.
    """
    labels = data.items["label"].to_numpy(str)
    groups = data.items["group"].to_numpy(str)
    classes = np.array(sorted(set(labels)))
    splits = folds(labels, groups, n_splits=n_splits, seed=seed)
    scoring = {"accuracy": make_scorer(accuracy_score),
               "macro_f1": make_scorer(f1_score, average="macro", labels=classes, zero_division=0)}
    fold_rows, pred_rows, class_rows, conf_rows, summ_rows = [], [], [], [], []
    fold_of = _fold_of(splits, len(labels))
    for kind in models:
        X = data.inputs[INPUT_OF[kind]]
        model: GenreModel = make_model(kind, random_state=seed, **(options or {}).get(kind, {}))
        cv = sk_cross_validate(model, X, labels, groups=groups, cv=splits, scoring=scoring,
                               return_estimator=True, return_indices=True, error_score="raise")
        pred = np.empty(len(labels), dtype=object)
        for f, (est, te) in enumerate(zip(cv["estimator"], cv["indices"]["test"], strict=True)):
            pred[te] = est.predict([X[i] for i in te])
            fold_rows.append({"model": kind, "fold": f, "n_train": len(splits[f][0]), "n_test": len(te),
                              "accuracy": float(cv["test_accuracy"][f]),
                              "macro_f1": float(cv["test_macro_f1"][f]),
                              "fit_s": float(cv["fit_time"][f]), "predict_s": float(cv["score_time"][f])})
            if on_progress:
                on_progress(kind, f, len(splits))
        pred = pred.astype(str)
        for cid, lab, pr, f in zip(data.items["clip_id"], labels, pred, fold_of, strict=True):
            pred_rows.append({"model": kind, "clip_id": cid, "label": lab, "predicted": pr, "fold": f})
        rows, cells = _per_class_and_confusion(kind, labels, pred, classes)
        class_rows += rows
        conf_rows += cells
        summ_rows.append({"model": kind, "n_clips": len(labels), "n_classes": len(classes), "folds": len(splits),
                          "accuracy": float(cv["test_accuracy"].mean()),
                          "accuracy_std": float(cv["test_accuracy"].std(ddof=0)),
                          "macro_f1": float(cv["test_macro_f1"].mean()),
                          "macro_f1_std": float(cv["test_macro_f1"].std(ddof=0)),
                          "fit_s": float(cv["fit_time"].mean()),
                          "predict_ms_per_clip": 1000 * float(cv["score_time"].sum()) / len(labels)})
    return EvalResult(pd.DataFrame(summ_rows), pd.DataFrame(fold_rows), pd.DataFrame(class_rows),
                      pd.DataFrame(conf_rows), pd.DataFrame(pred_rows))


def _fold_of(splits: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    out = np.full(n, -1)
    for f, (_, te) in enumerate(splits):
        out[te] = f
    return out


def store_eval(catalog, result: EvalResult, *, dataset: str) -> list[str]:
    """Write an evaluation to the catalog (each table replaced whole); returns the table names.

    ``genre_eval`` (one row per model: accuracy/macro-F1 mean and std over folds, fit and
    prediction time), ``genre_eval_folds``, ``genre_per_class`` (recall, F1, support) and
    ``genre_confusion`` (model, true_label, pred_label, count); each row carries ``dataset``.
    """
    tables = {"genre_eval": result.summary, "genre_eval_folds": result.per_fold,
              "genre_per_class": result.per_class, "genre_confusion": result.confusion}
    for name, df in tables.items():
        df = df.copy()
        df.insert(0, "dataset", dataset)
        catalog.write_frame(name, df)
    return list(tables)



def _per_class_and_confusion(kind: str, labels, pred, classes) -> tuple[list[dict], list[dict]]:
    """Rows of recall/F1/support per class and of the confusion matrix, for one model's predictions."""
    labels = np.asarray(labels)
    rec = recall_score(labels, pred, labels=classes, average=None, zero_division=0)
    f1s = f1_score(labels, pred, labels=classes, average=None, zero_division=0)
    rows = [{"model": kind, "label": c, "recall": float(r), "f1": float(f), "support": int((labels == c).sum())}
            for c, r, f in zip(classes, rec, f1s, strict=True)]
    cm = confusion_matrix(labels, pred, labels=classes)
    cells = [{"model": kind, "true_label": a, "pred_label": b, "count": int(cm[i, j])}
             for i, a in enumerate(classes) for j, b in enumerate(classes)]
    return rows, cells

def bootstrap_ci(labels, pred, groups=None, *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, float]:
    """Percentile bootstrap CIs of accuracy and macro-F1, resampling **groups** (pieces) with
    replacement, so clips of one piece (its several renderings) count as one draw; returns
    ``accuracy``, ``accuracy_lo/hi``, ``macro_f1``, ``macro_f1_lo/hi`` (NaN bounds when ``n_boot`` is 0)."""
    labels, pred = np.asarray(labels, str), np.asarray(pred, str)
    groups = np.arange(len(labels)).astype(str) if groups is None else np.asarray(groups, str)
    if len(labels) == 0:
        raise ParameterError("no predictions to bootstrap")
    classes = np.array(sorted(set(labels)))
    li, pi = np.searchsorted(classes, labels), np.searchsorted(classes, pred)
    pi = np.where((pi < len(classes)) & (classes[np.minimum(pi, len(classes) - 1)] == pred), pi, len(classes))
    uniq, gi = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(gi == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    acc, f1 = np.empty(n_boot), np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        acc[b] = float(np.mean(li[idx] == pi[idx]))
        f1[b] = _macro_f1(li[idx], pi[idx], len(classes))
    a = (1 - level) / 2
    if n_boot == 0:  # --bootstrap 0: point estimates only, no interval
        acc = f1 = np.array([np.nan])
    return {"accuracy": float(np.mean(labels == pred)),
            "accuracy_lo": float(np.quantile(acc, a)), "accuracy_hi": float(np.quantile(acc, 1 - a)),
            "macro_f1": float(f1_score(labels, pred, labels=classes, average="macro", zero_division=0)),
            "macro_f1_lo": float(np.quantile(f1, a)), "macro_f1_hi": float(np.quantile(f1, 1 - a))}


def _macro_f1(li: np.ndarray, pi: np.ndarray, k: int) -> float:
    """Macro-F1 from integer labels over the classes that occur (as truth or prediction; a
    prediction ``k`` is outside the ``k`` classes), as sklearn's ``f1_score(average='macro')``: a
    bootstrap resample that happens to miss a class is not charged a zero for it."""
    tp = np.bincount(li[li == pi], minlength=k + 1)[:k]
    n_true = np.bincount(li, minlength=k + 1)[:k]
    n_pred = np.bincount(pi, minlength=k + 1)[:k]
    den = n_true + n_pred
    return float(np.mean(2 * tp[den > 0] / den[den > 0])) if np.any(den > 0) else 0.0


def check_same_labels(train_labels, test_labels, *, train_name: str = "train", test_name: str = "test") -> list[str]:
    """The shared sorted label set; ParameterError naming the labels only one side has."""
    a, b = set(map(str, train_labels)), set(map(str, test_labels))
    if a != b:
        only_a, only_b = sorted(a - b), sorted(b - a)
        parts = ([f"only in {train_name}: {', '.join(only_a)}"] if only_a else []) + (
            [f"only in {test_name}: {', '.join(only_b)}"] if only_b else [])
        raise ParameterError(f"the two datasets have different label sets ({'; '.join(parts)}); "
                             "a model can only be scored on the labels it was trained on")
    return sorted(a)


@dataclass
class TransferResult:
    """A model trained on one dataset and scored on another (``genre eval --train A --test B``)."""

    summary: pd.DataFrame  # model, n_train, n_test, n_classes, accuracy (+ _lo/_hi), macro_f1 (+ _lo/_hi), fit_s, predict_ms_per_clip
    per_class: pd.DataFrame  # model, label, recall, f1, support
    confusion: pd.DataFrame  # model, true_label, pred_label, count
    predictions: pd.DataFrame  # model, clip_id, label, predicted


def transfer_evaluate(train: DatasetInputs, test: DatasetInputs, models: list[str], *, seed: int = 0,
                      n_boot: int = 1000, options: dict[str, dict] | None = None,
                      fitted: dict[str, GenreModel] | None = None) -> TransferResult:
    """Fit each model kind on every clip of ``train`` and score it on every clip of ``test``.

    The label sets must agree (:func:`check_same_labels`). CIs are a group bootstrap over the test
    clips (:func:`bootstrap_ci`). ``fitted`` may give already-trained models by kind (their fit time
    is then reported as NaN).
    """
    import time

    if len(train.items) == 0 or len(test.items) == 0:
        raise ParameterError("both datasets need at least one readable clip "
                             f"(train {len(train.items)}, test {len(test.items)})")
    classes = np.array(check_same_labels(train.items["label"], test.items["label"]))
    ytr = train.items["label"].to_numpy(str)
    yte = test.items["label"].to_numpy(str)
    gte = test.items["group"].to_numpy(str)
    summ, per_class, conf, preds = [], [], [], []
    for kind in models:
        Xtr, Xte = train.inputs[INPUT_OF[kind]], test.inputs[INPUT_OF[kind]]
        if fitted and kind in fitted:
            model, fit_s = fitted[kind], float("nan")
        else:
            model = make_model(kind, random_state=seed, **(options or {}).get(kind, {}))
            t0 = time.perf_counter()
            model.fit(Xtr, ytr)
            fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = np.asarray(model.predict(Xte)).astype(str)
        pred_s = time.perf_counter() - t0
        ci = bootstrap_ci(yte, pred, gte, n_boot=n_boot, seed=seed)
        summ.append({"model": kind, "n_train": len(ytr), "n_test": len(yte), "n_classes": len(classes), **ci,
                     "fit_s": fit_s, "predict_ms_per_clip": 1000 * pred_s / len(yte)})
        rows, cells = _per_class_and_confusion(kind, yte, pred, classes)
        per_class += rows
        conf += cells
        preds += [{"model": kind, "clip_id": c, "label": lab, "predicted": p}
                  for c, lab, p in zip(test.items["clip_id"], yte, pred, strict=True)]
    return TransferResult(pd.DataFrame(summ), pd.DataFrame(per_class), pd.DataFrame(conf), pd.DataFrame(preds))


def cv_bootstrap(result: EvalResult, data: DatasetInputs, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Group-bootstrap CIs of a cross-validation's pooled out-of-fold predictions, one row per model."""
    groups = dict(zip(data.items["clip_id"], data.items["group"], strict=True))
    rows = []
    for kind, p in result.predictions.groupby("model", sort=False):
        rows.append({"model": kind, **bootstrap_ci(p["label"], p["predicted"], p["clip_id"].map(groups),
                                                   n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows)


def store_transfer(catalog, result: TransferResult, *, train: str, test: str) -> list[str]:
    """Write a train-on-one, test-on-another evaluation (tables replaced whole): ``genre_transfer``,
    ``genre_transfer_per_class``, ``genre_transfer_confusion``; each row carries train and test."""
    tables = {"genre_transfer": result.summary, "genre_transfer_per_class": result.per_class,
              "genre_transfer_confusion": result.confusion}
    for name, df in tables.items():
        df = df.copy()
        df.insert(0, "test_dataset", test)
        df.insert(0, "train_dataset", train)
        catalog.write_frame(name, df)
    return list(tables)
