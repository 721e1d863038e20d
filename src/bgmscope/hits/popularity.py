"""What makes a hit: the catalog's features against the chart's popularity, and against a reference.

Reads the ``features`` table (one row per clip) and ``tracks`` (user_count, user_incr, rank),
averages each song's clips of one kind (the seed's first 15 s by default), optionally counts each
version group once (``versions`` table, see :mod:`.versions`), and writes:

``hits_correlations``  Spearman rho of every numeric feature with each target, bootstrap 95 % CI, BH q
``hits_categorical``   the key (pitch class, mode) against each target: Kruskal-Wallis H, BH q
``hits_model``         cross-validated elastic net (or boosting) R² on held-out songs
``hits_importance``    permutation importances on held-out folds
``hits_reference``     chart vs reference songs: Cliff's delta, Mann–Whitney p, BH q
``hits_reference_model``  CV ROC AUC of a classifier telling chart from reference
``hits_tags``          each musicnn tag's mean score against each target (as hits_correlations;
                       empty without the tags stage's ``tags`` table), see :mod:`.tagtests`
``hits_power``         the smallest |rho| each family of tests could detect at 80 % power (:mod:`.power`)
``hits_hook_vs_first`` the hook against the first 15 s on the same songs (:mod:`.hookfirst`)
``hits_summary``       the findings in plain sentences (the report's findings section)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..errors import CatalogError, NotEnoughData, ParameterError
from ..features.extract import CATEGORICAL, descriptor_columns
from . import hookfirst, power, stats, tagtests

TARGETS = ("user_count", "user_incr", "rank")


@dataclass
class HitsOptions:
    clip_kind: str | None = None          # None: 'first' when present, else the most common kind
    targets: tuple[str, ...] = TARGETS
    count_groups_once: bool = True        # edits of one recording count once (needs `versions`)
    model: str = "elasticnet"             # or 'gbr'
    n_boot: int = 1000
    n_splits: int = 5
    n_repeats: int = 2
    features: list[str] | None = None     # restrict to these descriptor columns
    reference: Path | None = None         # folder of audio, catalog file or data dir
    seed: int = 0


@dataclass
class HitsResult:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    n_songs: int = 0
    clip_kind: str = ""


def choose_kind(features: pd.DataFrame, kind: str | None) -> str:
    kinds = features["clip_kind"].value_counts()
    if kind is not None:
        if kind not in kinds.index:
            raise ParameterError(f"no features for clip kind {kind!r}; have {', '.join(map(str, kinds.index))}")
        return kind
    return "first" if "first" in kinds.index else str(kinds.index[0])


def song_features(features: pd.DataFrame, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One row per track: the mean of its clips of ``kind`` (two clips per song are averaged, a
    missing value skipped); a categorical column (the key) is not averaged but taken from the
    song's first clip (the lowest ``clip_index``)."""
    f = features[features["clip_kind"] == kind]
    cols = columns or descriptor_columns(f)
    missing = [c for c in cols if c not in f.columns]
    if missing:
        raise ParameterError(f"unknown feature columns: {', '.join(missing[:5])}")
    g = f.sort_values([c for c in ("track_id", "clip_index") if c in f.columns], kind="stable")
    g = g.groupby("track_id", sort=True)
    out = g[[c for c in cols if c not in CATEGORICAL]].mean()
    cat = [c for c in cols if c in CATEGORICAL]
    if cat:
        out = out.join(g[cat].first())
    return out[cols].reset_index()


def load_songs(catalog: Catalog, options: HitsOptions) -> tuple[pd.DataFrame, list[str], str]:
    """Songs (features + popularity) as the analyses see them, the feature columns and the clip kind."""
    if not catalog.has_table("features"):
        raise CatalogError("no features table: run 'bgmscope features' first")
    feats = catalog.read_frame("features")
    if feats.empty:
        raise CatalogError("the features table is empty: run 'bgmscope features' first")
    kind = choose_kind(feats, options.clip_kind)
    songs = song_features(feats, kind, options.features)
    cols = [c for c in songs.columns if c != "track_id"]
    tracks = catalog.tracks()[["track_id", "title", "user_count", "user_incr", "rank"]]
    songs = songs.merge(tracks, on="track_id", how="left")
    if options.count_groups_once and catalog.has_table("versions"):
        from ..versions.grouping import collapse_groups

        songs = collapse_groups(songs, catalog.read_frame("versions"))
    return songs, cols, kind


def growth_table(catalog: Catalog) -> pd.DataFrame | None:
    """Per-song growth across chart snapshots: slope of log(user_count) per day, and mean user_incr.
    None when fewer than two snapshots on different days exist."""
    if not catalog.has_table("chart_entries"):
        return None
    ce = catalog.read_frame("chart_entries")
    if ce.empty or ce["snapshot_id"].nunique() < 2 or ce["fetched_at"].nunique() < 2:
        return None
    ce = ce.dropna(subset=["music_id", "user_count", "fetched_at"])
    rows = []
    for mid, g in ce.groupby("music_id"):
        g = g.sort_values("fetched_at")
        days = (g["fetched_at"] - g["fetched_at"].iloc[0]).dt.total_seconds().to_numpy() / 86400
        if len(g) < 2 or np.ptp(days) <= 0:
            continue
        logc = np.log1p(g["user_count"].to_numpy(float))
        slope = float(np.polyfit(days, logc, 1)[0])
        rows.append({"track_id": str(mid), "growth": slope, "mean_user_incr": float(g["user_incr"].mean()),
                     "snapshots": len(g)})
    return pd.DataFrame(rows) if rows else None


def _correlations(songs: pd.DataFrame, cols: list[str], options: HitsOptions,
                  notes: list[str], categorical: list[pd.DataFrame]) -> pd.DataFrame:
    """Spearman tables of the numeric descriptors; Kruskal-Wallis tables of the categorical ones
    (the key) are appended to ``categorical``."""
    parts = []
    for target in options.targets:
        if target not in songs.columns:
            raise ParameterError(f"unknown target {target!r}; use {', '.join(TARGETS)} or growth")
        y = pd.to_numeric(songs[target], errors="coerce")
        if y.notna().sum() < stats.MIN_SONGS or y.nunique() < 3:
            notes.append(f"{target}: fewer than {stats.MIN_SONGS} songs with varying values; not correlated")
            continue
        tab = stats.spearman_table(songs[cols], y, n_boot=options.n_boot, random_state=options.seed)
        parts.append(tab.assign(target=target))
        cat = [c for c in cols if c in CATEGORICAL]
        if cat:
            kw = stats.kruskal_table(songs[cat], y)
            if not kw.empty:
                categorical.append(kw.assign(target=target))
    if not parts:
        return pd.DataFrame(columns=["target", "feature", "rho", "ci_low", "ci_high", "p", "q", "n"])
    out = pd.concat(parts, ignore_index=True)
    return out[["target", "feature", "rho", "ci_low", "ci_high", "p", "q", "n"]]


def _tag_tests(catalog: Catalog, chart: pd.DataFrame, options: HitsOptions, notes: list[str]) -> pd.DataFrame:
    """Tags against popularity, or an empty table and a note when the tags stage has not run."""
    tags = catalog.read_frame("tags") if catalog.has_table("tags") else None
    if tags is None or tags.empty:
        notes.append("tags: no tags table (run 'bgmscope tag', needs the [models] extra); "
                     "tags were not tested against popularity")
        return pd.DataFrame(columns=tagtests.COLUMNS)
    return tagtests.tag_correlations(chart[["track_id", *[t for t in options.targets if t in chart]]], tags,
                                     options.targets, n_boot=options.n_boot, random_state=options.seed,
                                     notes=notes)


def _hook_vs_first(catalog: Catalog, chart: pd.DataFrame, options: HitsOptions,
                   hook_features: pd.DataFrame | None, notes: list[str]) -> pd.DataFrame:
    """The paired hook vs first-15-s comparison on the analysed songs, or an empty table and a note."""
    feats = catalog.read_frame("features")
    kinds = set(feats["clip_kind"])
    if "first" not in kinds:
        notes.append("hook vs first 15 s: no first-15-s clips; not compared")
        return hookfirst.empty()
    if "hook" in kinds:
        hook, source = song_features(feats, "hook", options.features), hookfirst.SOURCE_CLIPS
    elif hook_features is not None and not hook_features.empty:
        cols = [c for c in (options.features or descriptor_columns(hook_features)) if c in hook_features.columns]
        hook, source = song_features(hook_features, "hook", cols), hookfirst.SOURCE_POSITIONS
    else:
        notes.append("hook vs first 15 s: no hook clips and no hook_positions (run 'bgmscope versions', or "
                     "'prepare --clip hook' and 'features'); not compared")
        return hookfirst.empty()
    first = song_features(feats, "first", options.features)
    keep = set(chart["track_id"])  # the analysed songs: edits folded into their representative
    tab = hookfirst.compare(first[first["track_id"].isin(keep)], hook[hook["track_id"].isin(keep)], source=source)
    if tab.empty:
        notes.append(f"hook vs first 15 s: fewer than {stats.MIN_SONGS} songs have both clips; not compared")
        return hookfirst.empty()
    return tab


def analyse(catalog: Catalog, options: HitsOptions | None = None, *,
            reference_loader: Callable[[Path, str], pd.DataFrame] | None = None,
            hook_features: pd.DataFrame | None = None) -> HitsResult:
    """Run every analysis the catalog supports and return its tables (not yet written).

    ``hook_features`` (from :func:`.hookfirst.hook_features_from_positions`) are used for the hook
    vs first-15-s comparison when the features table has no hook clips of its own."""
    options = options or HitsOptions()
    res = HitsResult()
    songs, cols, kind = load_songs(catalog, options)
    res.clip_kind = kind
    chart = songs[songs["user_count"].notna()].reset_index(drop=True)
    res.n_songs = len(chart)
    notes = res.notes
    if options.count_groups_once and catalog.has_table("versions"):
        v = catalog.read_frame("versions")
        merged = int((v["group_size"] > 1).sum() - (v.loc[v["group_size"] > 1, "group_id"].nunique()))
        notes.append(f"counted each version group once ({merged} edits folded into their full song)")
    if len(chart) < stats.MIN_SONGS:
        raise NotEnoughData(f"only {len(chart)} songs with chart numbers and features; need >= {stats.MIN_SONGS}")

    kw_parts: list[pd.DataFrame] = []
    res.tables["hits_correlations"] = corr = _correlations(chart, cols, options, notes, kw_parts)
    if kw_parts:
        kw = pd.concat(kw_parts, ignore_index=True)
        res.tables["hits_categorical"] = kw[["target", "feature", "groups", "h", "p", "q", "epsilon_sq", "n"]]
    growth = growth_table(catalog)
    if growth is not None:
        g = chart[["track_id", *cols]].merge(growth, on="track_id")
        if len(g) >= stats.MIN_SONGS:
            for target in ("growth", "mean_user_incr"):
                if g[target].nunique() < 3:
                    continue
                tab = stats.spearman_table(g[cols], g[target], n_boot=options.n_boot, random_state=options.seed)
                res.tables["hits_correlations"] = corr = pd.concat(
                    [corr, tab.assign(target=target)[corr.columns]], ignore_index=True)
            notes.append(f"growth across chart snapshots: {len(g)} songs with >= 2 snapshots")
    else:
        notes.append("growth: only one chart snapshot, so growth against features was not analysed")

    res.tables["hits_tags"] = _tag_tests(catalog, chart, options, notes)
    res.tables["hits_hook_vs_first"] = _hook_vs_first(catalog, chart, options, hook_features, notes)
    res.tables["hits_power"] = power.power_table({"descriptors": corr, "tags": res.tables["hits_tags"]})

    y = np.log1p(chart["user_count"].astype(float))
    fit = stats.cv_regression(chart[cols], y, model=options.model, n_splits=min(options.n_splits, len(chart) // 2),
                              n_repeats=options.n_repeats, random_state=options.seed)
    res.tables["hits_model"] = pd.DataFrame([{
        "model": fit.model, "target": "log1p(user_count)", "r2": fit.r2,
        "r2_ci_low": fit.r2_ci[0], "r2_ci_high": fit.r2_ci[1],
        "r2_std": float(np.std(fit.r2_folds)), "r2_folds": json.dumps([round(x, 4) for x in fit.r2_folds]),
        "spearman_cv": fit.spearman, "n": fit.n, "n_features": fit.n_features,
        "n_splits": fit.params["n_splits"], "n_repeats": fit.params["n_repeats"],
        "importances_shown": fit.predicts, "verdict": fit.verdict}])
    imps = fit.importances.assign(model=fit.model, target="log1p(user_count)")
    # importances of a model that does not predict rank nothing: the table is stored empty
    res.tables["hits_importance"] = imps if fit.predicts else imps.iloc[:0]

    if options.reference is not None:
        loader = reference_loader or (lambda p, k: load_reference(p, k))
        ref = loader(Path(options.reference), kind)
        shared = [c for c in cols if c in ref.columns]
        if len(ref) < 3 or not shared:
            notes.append(f"reference {options.reference}: {len(ref)} songs, {len(shared)} shared features; "
                         "not compared")
        else:
            cmp = stats.compare_groups(chart[shared], ref[shared])
            res.tables["hits_reference"] = cmp
            X = pd.concat([chart[shared], ref[shared]], ignore_index=True)
            lab = np.r_[np.ones(len(chart)), np.zeros(len(ref))]
            auc, sd, folds = stats.cv_auc(X, lab, random_state=options.seed)
            res.tables["hits_reference_model"] = pd.DataFrame([{
                "model": "logistic regression (L2)", "auc": auc, "auc_std": sd,
                "auc_folds": json.dumps([round(a, 4) for a in folds]), "n_chart": len(chart),
                "n_reference": len(ref), "reference": str(options.reference)}])
    res.tables["hits_summary"] = summary_table(res)
    return res


def summary_table(res: HitsResult) -> pd.DataFrame:
    """The findings in plain sentences, one per row (the report shows them)."""
    lines: list[tuple[str, str]] = []
    corr = res.tables.get("hits_correlations")
    if corr is not None and not corr.empty:
        for target, g in corr.groupby("target", sort=False):
            sig = g[g["q"] < 0.05].sort_values("q")
            if sig.empty:
                lines.append(("correlation", f"{target}: no feature passes FDR 0.05 across {len(g)} tests "
                                             f"(smallest q = {g['q'].min():.2f}, n = {int(g['n'].iloc[0])})"))
                continue
            top = ", ".join(f"{r.feature} (rho {r.rho:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}], q {r.q:.3g})"
                            for r in sig.head(3).itertuples())
            lines.append(("correlation", f"{target}: {len(sig)} of {len(g)} features pass FDR 0.05; "
                                         f"strongest {top}"))
    tg = res.tables.get("hits_tags")
    if tg is not None and not tg.empty:
        lines.extend(tagtests.tag_findings(tg))
    pw = res.tables.get("hits_power")
    if pw is not None and not pw.empty:
        for family in pw["family"].unique():
            targets = list(pw.loc[pw["family"] == family, "target"].unique())
            target = "user_count" if "user_count" in targets else targets[0]
            lines.append(("power", power.power_sentence(pw, family, target)))
    hf = res.tables.get("hits_hook_vs_first")
    if hf is not None and not hf.empty:
        lines.append(("hook", hookfirst.findings(hf)))
    kw = res.tables.get("hits_categorical")
    if kw is not None and not kw.empty:
        for target, g in kw.groupby("target", sort=False):
            parts = ", ".join(f"{r.feature} (H {r.h:.1f}, {int(r.groups)} groups, q {r.q:.2g})" for r in g.itertuples())
            verdict = "differs" if (g["q"] < 0.05).any() else "no difference at FDR 0.05"
            lines.append(("key", f"{target} by key (Kruskal-Wallis): {verdict}; {parts}"))
    m = res.tables.get("hits_model")
    if m is not None and not m.empty:
        r = m.iloc[0]
        lines.append(("model", f"{r['model']}: {r['verdict']} ({int(r['n_splits'])}-fold CV x "
                               f"{int(r['n_repeats'])}, {int(r['n'])} songs)"))
        lines.append(("importance", _importance_sentence(r, res.tables["hits_importance"])))
    ref = res.tables.get("hits_reference_model")
    if ref is not None and not ref.empty:
        r = ref.iloc[0]
        d = res.tables["hits_reference"]
        sig = d[d["q"] < 0.05]
        lines.append(("reference", f"chart vs reference: CV ROC AUC {r['auc']:.2f} ± {r['auc_std']:.2f}; "
                                   f"{len(sig)} of {len(d)} features differ at FDR 0.05"))
    for note in res.notes:
        lines.append(("note", note))
    return pd.DataFrame(lines, columns=["topic", "finding"])


def _importance_sentence(model: pd.Series, imp: pd.DataFrame) -> str:
    if not model["importances_shown"]:
        return (f"importances not shown: the model's held-out R² CI [{model['r2_ci_low']:.2f}, "
                f"{model['r2_ci_high']:.2f}] does not lie above 0, so it does not predict popularity and "
                "what it relies on means nothing")
    ranked = imp[imp["rank"].notna()]
    if ranked.empty:
        return (f"no feature's importance exceeds its fold noise (2 standard errors) among {len(imp)}: "
                "none is ranked")
    top = ", ".join(f"{r.feature} ({r.importance_mean:.3f} ± {r.importance_se:.3f})" for r in ranked.head(3).itertuples())
    return (f"{len(ranked)} of {len(imp)} features matter beyond fold noise (drop in held-out R² when "
            f"shuffled ± s.e.); the first: {top}; the other {len(imp) - len(ranked)} are not ranked")


def write_tables(catalog: Catalog, res: HitsResult) -> list[str]:
    """Store the result tables, dropping stale optional tables (reference, key tests) this run did not make."""
    for name, df in res.tables.items():
        catalog.write_frame(name, df)
    stale = [t for t in ("hits_reference", "hits_reference_model", "hits_categorical")
             if t not in res.tables and catalog.has_table(t)]
    for t in stale:
        catalog.con.execute(f"DROP TABLE {t}")
    return list(res.tables)


# -- the reference set --------------------------------------------------------------------------

def load_reference(path: Path, kind: str, *, sample_rate: int = 16000, clip_length_s: float = 15.0,
                   jobs: int | None = None, failures: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Songs that are not on the chart, described like the chart's clips.

    ``path`` is a bgmscope catalog file (``*.duckdb``), a data dir holding ``catalog.duckdb``, or
    a folder of audio (each file's first ``clip_length_s`` seconds, or its hook when ``kind`` is
    'hook', is described with :func:`bgmscope.features.extract.extract_clip`).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ParameterError(f"reference {path} does not exist")
    cat_path = path if path.suffix == ".duckdb" else path / "catalog.duckdb"
    if cat_path.is_file():
        with Catalog(cat_path, read_only=True) as ref:
            if not ref.has_table("features"):
                raise CatalogError(f"reference catalog {cat_path} has no features table")
            feats = ref.read_frame("features")
        use = kind if kind in set(feats["clip_kind"]) else choose_kind(feats, None)
        return song_features(feats, use)
    from ..audio.decode import AUDIO_EXTENSIONS
    from ..engine import run_map

    files = sorted(p for p in ([path] if path.is_file() else path.rglob("*"))
                   if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ParameterError(f"no audio files under {path}")
    rows = []
    tasks = [(str(f), sample_rate, clip_length_s, kind == "hook") for f in files]
    for out in run_map(describe_file, tasks, jobs=jobs, desc="describe reference", show_progress=False):
        if out.ok:
            rows.append({"track_id": f"ref:{Path(out.item[0]).name}", **out.result})
        elif failures is not None:
            failures.append((out.item[0], out.error))
    return pd.DataFrame(rows)


def describe_file(task: tuple[str, int, float, bool]) -> dict[str, float]:
    """Worker: the descriptor vector of one audio file's first clip (or hook)."""
    from ..audio.decode import load
    from ..features.extract import extract_clip

    path, sr, length, hook = task
    offset = 0.0
    if hook:
        from ..prepare.hook import find_hook

        y, sr = load(path, sr=sr)
        offset = find_hook(y, sr, length_s=length)
        y = y[int(offset * sr): int((offset + length) * sr)]
    else:
        y, sr = load(path, sr=sr, duration=length)
    return extract_clip(y, sr)
