"""The pipeline's genre stage.

Demo: build a small styles corpus (cached under ``<data_dir>/genre-styles``), evaluate the seed's
HMM and the SVM side by side (grouped k-fold), train both on the whole corpus, and label the chart
songs with the better one. A user's run: label the chart songs with the most recently trained
model, or say how to train one when there is none.
"""

from __future__ import annotations

from ..context import PipelineContext
from ..errors import CatalogError, ParameterError
from .dataset import load_dataset
from .evaluate import compute_inputs, cross_validate, inputs_for, store_eval
from .features import FeatureParams
from .predict import predict_catalog
from .styles import build_styles_corpus
from .train import model_path

DEMO_PER_CLASS = 24
DEMO_LENGTH_S = 10.0
DEMO_MODELS = ("hmm", "svm")


def run_stage(ctx: PipelineContext) -> dict:
    cat, settings = ctx.catalog, ctx.settings
    if not cat.has_table("clips") or cat.clips(kind="first").empty:
        raise CatalogError("genre needs the 'first' clips of the chart songs: run 'bgmscope prepare' first")
    if not ctx.demo:
        try:
            res = predict_catalog(cat, settings, jobs=ctx.jobs, show_progress=False)
        except ParameterError as exc:  # no trained model: not an error of this run
            ctx.console.print(f"genre: skipped ({exc})")
            return {"skipped": "no trained model"}
        ctx.outputs["genre model"] = res.model_path
        return {"model": res.kind, "songs": res.n_ok, "failed": len(res.failures),
                "top label": res.summary["label"].iloc[0] if len(res.summary) else "-"}

    corpus = build_styles_corpus(settings.data_dir / "genre-styles", per_class=DEMO_PER_CLASS, seed=ctx.seed,
                                 length_s=DEMO_LENGTH_S, sr=settings.sample_rate, jobs=ctx.jobs,
                                 show_progress=False)
    for item, reason in corpus.failures:
        ctx.console.print(f"  styles corpus: skipped {item}: {reason}", highlight=False)
    ds = load_dataset(corpus.root)
    params = FeatureParams(sr=settings.sample_rate)
    data = compute_inputs(ds, kinds=inputs_for(DEMO_MODELS), params=params, jobs=ctx.jobs, show_progress=False,
                          cache_dir=corpus.root / ".bgmscope-cache")
    result = cross_validate(data, list(DEMO_MODELS), n_splits=5, seed=ctx.seed)
    store_eval(cat, result, dataset="styles-demo")
    best = result.summary.sort_values("accuracy", ascending=False)["model"].iloc[0]
    from .evaluate import INPUT_OF
    from .models import make_model

    meta = {"dataset": str(corpus.root), "n_clips": len(data.items), "demo": True,
            "cv_accuracy": {r.model: round(r.accuracy, 4) for r in result.summary.itertuples()}}
    for kind in DEMO_MODELS:
        model = make_model(kind, random_state=ctx.seed, params=params)
        model.fit(data.inputs[INPUT_OF[kind]], data.items["label"].tolist())
        model.save(model_path(settings, kind), meta=meta)
    res = predict_catalog(cat, settings, kind=best, jobs=ctx.jobs, show_progress=False)
    ctx.outputs["genre models"] = model_path(settings, best).parent
    ctx.outputs["styles corpus"] = corpus.root
    acc = ", ".join(f"{r.model} {r.accuracy:.0%}" for r in result.summary.itertuples())
    return {"styles clips": len(data.items), "cv accuracy": acc, "predicted with": best, "songs": res.n_ok,
            "top label": res.summary["label"].iloc[0] if len(res.summary) else "-"}
