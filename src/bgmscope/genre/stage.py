"""The pipeline's genre stage.

Demo: build a small styles corpus (cached under ``<data_dir>/genre-styles``), evaluate the seed's
HMM and the SVM side by side (grouped k-fold), train both on the whole corpus, and label the chart
songs with the better one. A user's run: label the chart songs with the most recently trained
model; with none, summarise each song's genre from the tags stage's ``tags`` table (the
genre-like tags of musicnn's MSD list) when it exists, else say how to train one.
"""

from __future__ import annotations

import json

import pandas as pd

from ..catalog import Catalog
from ..context import PipelineContext
from ..errors import CatalogError, ParameterError
from .dataset import load_dataset
from .evaluate import compute_inputs, cross_validate, inputs_for, store_eval
from .features import FeatureParams
from .predict import chart_summary, predict_catalog
from .styles import build_styles_corpus
from .train import model_path

DEMO_PER_CLASS = 24
DEMO_LENGTH_S = 10.0
DEMO_MODELS = ("hmm", "svm")
# The genres among musicnn MSD's 50 last.fm tags (the rest are decades, moods, vocals, instruments).
GENRE_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz", "metal",
              "classic rock", "soul", "indie rock", "electronica", "folk", "punk", "blues", "hard rock", "ambient",
              "experimental", "Hip-Hop", "country", "funk", "electro", "heavy metal", "Progressive rock", "rnb",
              "indie pop", "House", "chillout", "easy listening")
TAGS_SOURCE = "musicnn-MSD tags"


def genre_from_tags(cat: Catalog) -> pd.DataFrame | None:
    """``genre_predictions`` rows from the ``tags`` table (MSD model): each song's top genre-like tag.

    ``confidence`` is that tag's mean score over the song's clips, ``margin`` its lead over the
    second genre tag, ``probabilities`` the genre tags' scores (not normalised: tags are independent
    sigmoids). Also writes ``genre_probabilities`` and ``genre_chart_summary``. None without tags.
    """
    if not cat.has_table("tags"):
        return None
    t = cat.read_frame("tags")
    t = t[(t["model"] == "MSD") & t["tag"].isin(GENRE_TAGS)]
    if t.empty:
        return None
    tracks = cat.tracks().set_index("track_id")
    first = {}
    if cat.has_table("clips"):
        c = cat.clips(kind="first")
        first = dict(zip(c["track_id"].astype(str), c["clip_id"], strict=True))
    rows, long_rows = [], []
    for track_id, g in t.groupby("track_id", sort=True):
        g = g.sort_values(["mean", "tag"], ascending=[False, True])
        probs = {str(r.tag): round(float(r.mean), 6) for r in g.itertuples()}
        top = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else top
        tr = tracks.loc[track_id] if track_id in tracks.index else None
        clip_id = first.get(str(track_id))
        rows.append({"clip_id": clip_id, "track_id": track_id,
                     "title": None if tr is None else tr.get("title"),
                     "rank": None if tr is None else tr.get("rank"),
                     "user_count": None if tr is None else tr.get("user_count"),
                     "model": TAGS_SOURCE, "model_path": "", "label": str(top["tag"]),
                     "confidence": float(top["mean"]), "margin": float(top["mean"] - second["mean"]),
                     "probabilities": json.dumps(probs, ensure_ascii=False), "source": TAGS_SOURCE})
        long_rows += [{"clip_id": clip_id, "track_id": track_id, "model": TAGS_SOURCE, "label": k,
                       "probability": v} for k, v in probs.items()]
    pred = pd.DataFrame(rows)
    cat.write_frame("genre_predictions", pred)
    cat.write_frame("genre_probabilities", pd.DataFrame(long_rows))
    cat.write_frame("genre_chart_summary", chart_summary(pred, sorted(set(pred["label"]))))
    return pred


GENRE_TABLES = ["genre_predictions", "genre_probabilities", "genre_chart_summary", "genre_eval",
                "genre_eval_folds", "genre_per_class", "genre_confusion"]


def _model_files(settings) -> dict[str, str]:
    """sha256 of each stored genre model (a trained model is an input of the labelling)."""
    import hashlib

    from .train import model_folder

    folder = model_folder(settings)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*"))
            if p.is_file()} if folder.is_dir() else {}


def stage_cache(ctx: PipelineContext):
    from ..select.stagecache import StageCache

    s = ctx.settings
    params = {"demo": ctx.demo, "seed": ctx.seed, "sample_rate": s.sample_rate}
    if ctx.demo:
        params |= {"per_class": DEMO_PER_CLASS, "length_s": DEMO_LENGTH_S, "models": list(DEMO_MODELS),
                   "styles corpus": str(s.data_dir / "genre-styles")}
    else:
        params["model files"] = _model_files(s)
    return StageCache(ctx.catalog, s.data_dir, "genre", inputs=["clips", "tracks", "tags", "audio_files"],
                      outputs=GENRE_TABLES, params=params, code=["genre"])


def run_stage(ctx: PipelineContext, force: bool = False) -> dict:
    """Pipeline entry; skipped when the clips, tags, model files (or the demo's settings) and the
    code are those of the stored run (``select.stagecache``)."""
    from ..select.stagecache import cached_stage

    if ctx.demo and not all(model_path(ctx.settings, k).is_file() for k in DEMO_MODELS):
        force = True  # the demo's models are its outputs too
    out = cached_stage(stage_cache(ctx), lambda: _compute(ctx), force=force, console=ctx.console)
    if ctx.demo and out.get("cached"):
        ctx.outputs["genre models"] = model_path(ctx.settings, str(out["predicted with"])).parent
        ctx.outputs["styles corpus"] = ctx.settings.data_dir / "genre-styles"
    return out


def _compute(ctx: PipelineContext) -> dict:
    cat, settings = ctx.catalog, ctx.settings
    if not cat.has_table("clips") or cat.clips(kind="first").empty:
        raise CatalogError("genre needs the 'first' clips of the chart songs: run 'bgmscope prepare' first")
    if not ctx.demo:
        try:
            res = predict_catalog(cat, settings, jobs=ctx.jobs, show_progress=False)
        except ParameterError as exc:  # no trained model: not an error of this run
            pred = genre_from_tags(cat)
            if pred is None:
                ctx.console.print(f"genre: skipped ({exc}; no tags table either: run 'bgmscope tag')")
                return {"skipped": "no trained model"}
            ctx.console.print(f"genre: no trained model, summarised from the {TAGS_SOURCE}")
            return {"model": TAGS_SOURCE, "source": TAGS_SOURCE, "songs": len(pred), "failed": 0,
                    "top label": pred["label"].value_counts().index[0]}
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
