"""The ``select`` stage: GA feature selection on the two-clip features, results into the catalog.

Tables written (documented in docs/select-cluster.md):
``select_runs`` (one row per run, history kept), ``select_convergence`` (the search on every song),
``select_fold_convergence``, ``select_baselines``, ``select_features`` and ``select_gain`` (the GA's
held-out gain over each baseline with its fold spread, in words) of the latest run.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd

from ..catalog import Catalog, now
from ..errors import CatalogError
from .data import storable, two_clip_matrix
from .evaluate import METHODS, SelectionReport, SelectOptions, options_dict, select_features

STAGE = "select"
# The demo corpus is small (48 songs): a shorter search keeps the stage to seconds.
DEMO_OPTIONS = SelectOptions(population=30, generations=40, folds=3, n_random=50)


def run_select(catalog: Catalog, *, feature_set: str = "stat42", options: SelectOptions | None = None,
               adapt_folds: bool = False) -> tuple[SelectionReport, str, list[tuple[str, str]]]:
    """Select features on the catalog's two-clip features and store the results.

    Parameters
    ----------
    feature_set : str
        ``'stat42'`` (the study's 42 statistics), ``'all'`` or comma-separated column names.
    options : SelectOptions
    adapt_folds : bool
        Lower the fold count when there are too few songs for it (the pipeline does; the command
        reports the problem instead).

    Returns
    -------
    (report, run_id, notes) where notes are the skipped songs/features (also recorded as failures).
    """
    opts = options or SelectOptions()
    fm = two_clip_matrix(catalog, feature_set)
    n_songs = fm.ids["track_id"].nunique()
    if n_songs < 3:
        raise CatalogError(f"only {n_songs} songs have two clips with usable features; selection needs >= 3")
    if adapt_folds and opts.folds and n_songs < 3 * opts.folds:
        folds = n_songs // 3
        opts = replace(opts, folds=folds if folds >= 2 else 0)
    opts.check(n_songs)
    run_id = catalog.start_run(STAGE, {"feature_set": feature_set, **options_dict(opts)})
    for item, reason in fm.notes:
        catalog.record_failure(run_id, STAGE, item, reason)
    report = select_features(fm.X, fm.ids["track_id"].to_numpy(), list(fm.X.columns), opts)
    _store(catalog, run_id, feature_set, report)
    catalog.finish_run(run_id, ok=report.n_songs, failed=len(fm.notes), skipped=0)
    return report, run_id, fm.notes


def _store(catalog: Catalog, run_id: str, feature_set: str, report: SelectionReport) -> None:
    opts = report.options
    base = {"run_id": run_id, "feature_set": feature_set}
    b = report.baselines
    row = {**base, "created_at": now(), "n_songs": report.n_songs, "n_clips": 2 * report.n_songs,
           "n_features_in": len(report.feature_names), "n_selected": int(report.support.sum()),
           "selected": ",".join(report.selected),
           "insample_mismatches_ga": float(b.query("fold == -1 and method == 'ga'")["mismatches"].iloc[0]),
           "insample_mismatches_all": float(b.query("fold == -1 and method == 'all'")["mismatches"].iloc[0])}
    for m in METHODS:
        row[f"insample_rate_{m}"] = report.insample.get(m)
        row[f"cv_train_rate_{m}"] = report.cv_train.get(m)
        row[f"heldout_rate_{m}"] = report.heldout.get(m)
    g = report.gain.set_index("baseline") if not report.gain.empty else None
    for b in ("all", "random"):
        has = g is not None and b in g.index
        row[f"gain_vs_{b}"] = float(g.loc[b, "gain"]) if has else None
        row[f"gain_vs_{b}_sd"] = float(g.loc[b, "fold_sd"]) if has else None
    row.update({"evaluations": report.n_evaluations, "seconds": report.seconds,
                "params": json.dumps(options_dict(opts)), **{k: v for k, v in options_dict(opts).items()}})
    runs = storable(pd.DataFrame([row]), text=("selected", "params", "feature_set", "run_id"))
    old = catalog.read_frame("select_runs")
    if not old.empty:
        runs = pd.concat([old, runs], ignore_index=True)
    catalog.write_frame("select_runs", runs)
    conv = report.convergence
    # the stored search alone (what a convergence plot shows), and the fold searches beside it
    catalog.write_frame("select_convergence", conv[conv["fold"] == -1].drop(columns="fold").assign(**base))
    catalog.write_frame("select_fold_convergence", conv[conv["fold"] >= 0].assign(**base))
    catalog.write_frame("select_baselines", report.baselines.assign(**base))
    catalog.write_frame("select_features", report.features.assign(**base))
    catalog.write_frame("select_gain", report.gain.assign(**base))


def latest_selection(catalog: Catalog) -> tuple[list[str], str] | None:
    """The features the latest selection kept and its feature set, or None when there is none."""
    if not catalog.has_table("select_features"):
        return None
    df = catalog.read_frame("select_features")
    if df.empty or "selected" not in df.columns:
        return None
    chosen = df[df["selected"].astype(bool)].sort_values("position")
    if chosen.empty:
        return None
    return list(chosen["feature"]), str(df["feature_set"].iloc[0])


OUTPUT_TABLES = ["select_runs", "select_convergence", "select_fold_convergence", "select_baselines",
                 "select_features", "select_gain"]


def stage_cache(ctx, opts: SelectOptions):
    from .stagecache import StageCache

    return StageCache(ctx.catalog, ctx.settings.data_dir, STAGE, inputs=["features"], outputs=OUTPUT_TABLES,
                      params={"feature_set": "stat42", "adapt_folds": True, **options_dict(opts)}, code=["select"])


def run_stage(ctx, force: bool = False) -> dict:
    """Pipeline entry: the seed's 42 statistics; a shorter search on the demo corpus. Skipped when
    the features, the options and the code are those of the stored selection (:mod:`.stagecache`)."""
    from .stagecache import cached_stage

    opts = replace(DEMO_OPTIONS if ctx.demo else SelectOptions(), seed=ctx.seed)
    return cached_stage(stage_cache(ctx, opts), lambda: _compute(ctx, opts), force=force, console=ctx.console)


def _compute(ctx, opts: SelectOptions) -> dict:
    report, _, notes = run_select(ctx.catalog, options=opts, adapt_folds=True)
    o = report.options
    out = {"songs": report.n_songs, "kept": f"{int(report.support.sum())}/{len(report.feature_names)}",
           "in-sample miss rate GA/all": f"{report.insample['ga']:.3f}/{report.insample['all']:.3f}"}
    if report.heldout:
        out["held-out GA/all/random/greedy"] = "/".join(
            f"{report.heldout[m]:.3f}" for m in METHODS if m in report.heldout)
    for r in report.gain.itertuples():
        if r.baseline in ("all", "random"):
            out[f"gain vs {r.baseline}"] = f"{r.gain:+.3f} ± {r.fold_sd:.3f} ({r.verdict})"
    out["search"] = f"{o.generations} gens x {o.population}, {o.folds} folds" + (" (demo settings)" if ctx.demo else "")
    if notes:
        out["skipped"] = len(notes)
    return out
