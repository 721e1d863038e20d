"""Apply a trained genre model to the catalog's chart songs (their 'first' clips).

Tables written (each replaced whole):

- ``genre_predictions``: one row per clip: clip_id, track_id, title, rank, user_count, model,
  model_path, label (top), confidence (its probability), margin (top minus second), probabilities
  (JSON object label -> probability).
- ``genre_probabilities``: the same in long form: clip_id, track_id, model, label, probability.
- ``genre_chart_summary``: per predicted label: n_songs, share, mean_rank, median_user_count, the
  seed's "which genres are hot" view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..config import Settings
from ..engine import run_map
from ..errors import CatalogError
from .features import FeatureParams, clip_inputs
from .models import load_model
from .train import find_model


@dataclass
class PredictResult:
    model_path: Path
    kind: str
    n_ok: int
    failures: list[tuple[str, str]]
    summary: pd.DataFrame


def _clip_input(job: tuple[str, str, FeatureParams, str]) -> np.ndarray:
    from ..prepare.clips import load_clip

    data_dir, rel, params, kind = job
    y, sr = load_clip(Path(data_dir), rel)
    if sr != params.sr:
        import soxr

        y = soxr.resample(y, sr, params.sr).astype(np.float32)
    return clip_inputs(y, params.sr, params, (kind,))[kind]


def predict_catalog(catalog: Catalog, settings: Settings, *, kind: str | None = None,
                    model_file: str | Path | None = None, clip_kind: str = "first", jobs: int = 1,
                    show_progress: bool = True) -> PredictResult:
    """Predict every clip of ``clip_kind`` with the chosen trained model and store the tables.

    Raises ParameterError when no model is trained, CatalogError when the catalog has no clips.
    """
    path = find_model(settings, kind, model_file)
    model, meta = load_model(path)
    if not catalog.has_table("clips"):
        raise CatalogError("the catalog has no clips: run 'bgmscope prepare' first")
    clips = catalog.clips(kind=clip_kind)
    if clips.empty:
        raise CatalogError(f"the catalog has no '{clip_kind}' clips: run 'bgmscope prepare' first")
    run_id = catalog.start_run("genre-predict", {"model": str(path), "kind": model.kind, "clip_kind": clip_kind})
    jobs_list = [(str(settings.data_dir), rel, model.feature_params_, model.input_kind) for rel in clips["path"]]
    got: dict[str, np.ndarray] = {}
    failures = []
    for o in run_map(_clip_input, jobs_list, jobs=jobs, desc="genre predict", show_progress=show_progress):
        if o.ok:
            got[o.item[1]] = o.result
        else:
            failures.append((o.item[1], o.error))
            catalog.record_failure(run_id, "genre-predict", o.item[1], o.error)
    ok = clips[clips["path"].isin(got)].reset_index(drop=True)
    rows, long_rows = [], []
    if len(ok):
        P = model.predict_proba([got[p] for p in ok["path"]])
        order = np.argsort(-P, axis=1)
        for i, r in ok.iterrows():
            probs = {str(c): round(float(v), 6) for c, v in zip(model.classes_, P[i], strict=True)}
            top, second = order[i, 0], order[i, 1] if P.shape[1] > 1 else order[i, 0]
            rows.append({"clip_id": r["clip_id"], "track_id": r["track_id"], "title": r.get("title"),
                         "rank": r.get("rank"), "user_count": r.get("user_count"), "model": model.kind,
                         "model_path": str(path), "label": str(model.classes_[top]),
                         "confidence": float(P[i, top]), "margin": float(P[i, top] - P[i, second]),
                         "probabilities": json.dumps(probs, ensure_ascii=False)})
            for c, v in probs.items():
                long_rows.append({"clip_id": r["clip_id"], "track_id": r["track_id"], "model": model.kind,
                                  "label": c, "probability": v})
    pred = pd.DataFrame(rows, columns=["clip_id", "track_id", "title", "rank", "user_count", "model", "model_path",
                                       "label", "confidence", "margin", "probabilities"])
    catalog.write_frame("genre_predictions", pred)
    catalog.write_frame("genre_probabilities", pd.DataFrame(
        long_rows, columns=["clip_id", "track_id", "model", "label", "probability"]))
    summary = chart_summary(pred, list(model.classes_))
    catalog.write_frame("genre_chart_summary", summary)
    catalog.finish_run(run_id, ok=len(ok), failed=len(failures), skipped=0)
    return PredictResult(path, model.kind, len(ok), failures, summary)


def chart_summary(pred: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per label: how many chart songs the model gives it, their share and typical popularity."""
    rows = []
    n = max(1, len(pred))
    for lab in labels:
        sub = pred[pred["label"] == lab]
        rows.append({"label": lab, "n_songs": len(sub), "share": len(sub) / n,
                     "mean_rank": float(sub["rank"].mean()) if len(sub) and sub["rank"].notna().any() else None,
                     "median_user_count": float(sub["user_count"].median())
                     if len(sub) and sub["user_count"].notna().any() else None,
                     "mean_confidence": float(sub["confidence"].mean()) if len(sub) else None})
    return pd.DataFrame(rows).sort_values(["n_songs", "label"], ascending=[False, True]).reset_index(drop=True)
