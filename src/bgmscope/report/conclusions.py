"""The report's conclusions, written from the stored results.

Each claim reads the tables a stage stored and says what they hold, in English or Chinese. Every
number in a sentence is a :class:`~.blocks.Num` that names its table, column, row filter and
aggregate (median of ``features.tempo_bpm`` over the first clips, ``hits_correlations.rho`` of
one feature, …), so the HTML can carry its source and a test can recompute it. Nothing here
fits or tests anything: a claim whose table is absent, or holds too few songs, is left out and
the reason is given instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..catalog import Catalog
from .blocks import Claim, Figure, Num, Section, Sentence
from .i18n import Words

MIN_SONGS = 5       # a distribution of fewer songs is no claim about "the chart's songs"
MIN_GROUP = 3       # a cluster of fewer songs is not called a group
ALPHA = 0.05        # the FDR level the hits stage's q values are read at
MAX_EFFECTS = 8     # significant effects listed per claim (the appendix holds the rest)
KEY_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


# -- numbers with their source ---------------------------------------------------------------------
def _match(df: pd.DataFrame, where: dict[str, Any]) -> pd.Series:
    m = pd.Series(True, index=df.index)
    for col, v in where.items():
        if isinstance(v, dict) and "gt" in v:
            m &= pd.to_numeric(df[col], errors="coerce") > v["gt"]
        elif isinstance(v, dict) and "lt" in v:
            m &= pd.to_numeric(df[col], errors="coerce") < v["lt"]
        elif isinstance(v, float | int) and not isinstance(v, bool):
            m &= pd.to_numeric(df[col], errors="coerce") == v
        else:
            m &= df[col].astype(str) == str(v) if not isinstance(v, bool) else df[col].astype("boolean") == v
    return m.fillna(False).astype(bool)


def aggregate(df: pd.DataFrame, column: str, where: dict[str, Any], agg: str, of: dict[str, Any] | None = None) -> float:
    """``agg`` of ``column`` over the rows of ``df`` matching ``where`` (the rule :class:`Num` documents)."""
    rows = df[_match(df, where)]
    if agg == "count":
        return float(len(rows) if column == "*" else rows[column].notna().sum())
    if agg == "nunique":
        return float(rows[column].nunique())
    if agg == "share":
        return float(_match(rows, of or {}).sum() / len(rows)) if len(rows) else float("nan")
    if agg == "value":
        return float(rows[column].iloc[0]) if len(rows) else float("nan")
    v = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    fn = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max,
          "q25": lambda x: np.quantile(x, 0.25), "q75": lambda x: np.quantile(x, 0.75)}[agg]
    return float(fn(v))


class Source:
    """One catalog table (read once) that numbers are taken from."""

    def __init__(self, name: str, df: pd.DataFrame, base: dict[str, Any] | None = None):
        self.name, self.df, self.base = name, df, dict(base or {})

    def num(self, column: str, agg: str = "value", of: dict[str, Any] | None = None, **where: Any) -> Num:
        w = {**self.base, **where}
        return Num(aggregate(self.df, column, w, agg, of), self.name, column, w, agg, dict(of or {}))

    def rows(self, **where: Any) -> pd.DataFrame:
        return self.df[_match(self.df, {**self.base, **where})]


def say(w: Words, phrase: str, /, **kw: Any) -> Sentence:
    """The phrase ``phrase`` with its placeholders filled: :class:`Num` values become parts that keep
    their source (formatted with the phrase's own spec), sentences nest, anything else is text."""
    store: list[Any] = []

    class Slot:
        def __init__(self, v: Any):
            self.v = v

        def __format__(self, spec: str) -> str:
            v = self.v
            if isinstance(v, Num):
                v = replace(v, text=_format(v.value, spec), spec=spec)
            store.append(v)
            return f"\x00{len(store) - 1}\x00"

    text = w(phrase, **{k: Slot(v) if isinstance(v, Num | list) else v for k, v in kw.items()})
    out: Sentence = []
    for i, chunk in enumerate(re.split("\x00(\\d+)\x00", text)):
        if i % 2 == 0:
            if chunk:
                out.append(chunk)
        else:
            v = store[int(chunk)]
            out.extend(v if isinstance(v, list) else [v])
    return out


def _format(value: float, spec: str) -> str:
    if not spec:
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return format(value, spec)


def join(parts: list[Sentence], sep: str = ", ") -> Sentence:
    out: Sentence = []
    for i, p in enumerate(parts):
        if i:
            out.append(sep)
        out.extend(p)
    return out


def source_attrs(n: Num) -> dict[str, str]:
    """The data attributes the HTML carries for a number (read back by the browser test)."""
    return {"data-table": n.table, "data-column": n.column, "data-agg": n.agg, "data-fmt": n.spec,
            "data-where": json.dumps(n.where, ensure_ascii=False, default=str),
            "data-of": json.dumps(n.of, ensure_ascii=False, default=str)}


# -- the claims --------------------------------------------------------------------------------------
class Context:
    """What the claims read, each table once."""

    def __init__(self, cat: Catalog, w: Words, lang: str):
        self.cat, self.w, self.lang = cat, w, lang
        self._cache: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in self._cache:
            self._cache[name] = self.cat.read_frame(name) if self.cat.has_table(name) else None
        df = self._cache[name]
        return None if df is None or df.empty else df

    def first_clips(self) -> Source | None:
        """The features of each song's first clip (the seed's first 15 s), else its first clip of the latest kind."""
        f = self.table("features")
        if f is None:
            return None
        base: dict[str, Any] = {}
        if "clip_kind" in f.columns:
            kinds = f["clip_kind"].astype(str)
            base["clip_kind"] = "first" if (kinds == "first").any() else kinds.iloc[-1]
        if "clip_index" in f.columns:
            base["clip_index"] = 0
        return Source("features", f, base)


def _missing(ctx: Context, what: str, table: str, stage: str) -> str:
    return ctx.w("r_table", what=ctx.w(what), table=table, stage=stage)


def shared_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-shared", w("c_shared"))
    src = ctx.first_clips()
    if src is None:
        c.reasons.append(_missing(ctx, "w_tempo", "features", "features"))
    else:
        rows = src.rows()
        _tempo(ctx, c, src, rows)
        _key(ctx, c, src, rows)
        if "loudness_lufs" in rows.columns and rows["loudness_lufs"].notna().sum() >= MIN_SONGS:
            # the floor -70 LUFS is silence, not a loudness
            s = Source("features", src.df, {**src.base, "loudness_lufs": {"gt": -70}})
            c.sentences.append(say(w, "s_loud", med=s.num("loudness_lufs", "median"), lo=s.num("loudness_lufs", "q25"),
                                   hi=s.num("loudness_lufs", "q75"), n=s.num("loudness_lufs", "count")))
        else:
            c.reasons.append(w("r_few", what=w("w_loud"), n=int(rows.get("loudness_lufs", pd.Series()).notna().sum()),
                               m=MIN_SONGS))
    af = ctx.table("audio_files")
    if af is not None and "duration_s" in af.columns:
        s = Source("audio_files", af, {"status": "ok"} if "status" in af.columns else {})
        n = s.num("duration_s", "count")
        if n.value >= MIN_SONGS:
            c.sentences.append(say(w, "s_length", med=s.num("duration_s", "median"), lo=s.num("duration_s", "min"),
                                   hi=s.num("duration_s", "max"), n=n))
        else:
            c.reasons.append(w("r_few", what=w("w_length"), n=int(n.value), m=MIN_SONGS))
    _top_tags(ctx, c)
    c.evidence += [figs[k] for k in ("tempo", "keys", "card", "zcr") if k in figs]
    return c


def _tempo(ctx: Context, c: Claim, src: Source, rows: pd.DataFrame) -> None:
    w = ctx.w
    if "tempo_bpm" not in rows.columns:
        c.reasons.append(w("r_cols", what=w("w_tempo"), table="features", cols="tempo_bpm"))
        return
    s = Source("features", src.df, {**src.base, "tempo_bpm": {"gt": 0}})  # 0 = no pulse found
    n = s.num("tempo_bpm", "count")
    if n.value < MIN_SONGS:
        c.reasons.append(w("r_few", what=w("w_tempo"), n=int(n.value), m=MIN_SONGS))
        return
    c.sentences.append(say(w, "s_tempo", med=s.num("tempo_bpm", "median"), lo=s.num("tempo_bpm", "q25"),
                           hi=s.num("tempo_bpm", "q75"), n=n))


def _key(ctx: Context, c: Claim, src: Source, rows: pd.DataFrame) -> None:
    w = ctx.w
    if not {"key_pc", "key_mode"} <= set(rows.columns):
        c.reasons.append(w("r_cols", what=w("w_key"), table="features", cols="key_pc, key_mode"))
        return
    keyed = rows.dropna(subset=["key_pc", "key_mode"])
    if "key_strength" in keyed.columns:  # strength 0: the features stage found no key
        keyed = keyed[keyed["key_strength"].fillna(1) > 0]
    if len(keyed) < MIN_SONGS:
        c.reasons.append(w("r_few", what=w("w_key"), n=len(keyed), m=MIN_SONGS))
        return
    base = dict(src.base)
    if "key_strength" in keyed.columns:
        base["key_strength"] = {"gt": 0}
    s = Source("features", src.df, base)
    pc, mode = keyed.groupby(["key_pc", "key_mode"]).size().sort_values(ascending=False, kind="stable").index[0]
    name = f"{KEY_NAMES[int(pc) % 12]} {'major' if mode >= 0.5 else 'minor'}"
    if ctx.lang == "zh":
        name = f"{KEY_NAMES[int(pc) % 12]} {'大调' if mode >= 0.5 else '小调'}"
    c.sentences.append(say(w, "s_mode", share=s.num("key_mode", "share", of={"key_mode": 1.0}),
                           n=s.num("key_mode", "count"), key=name,
                           k=s.num("key_mode", "count", key_pc=float(pc), key_mode=float(mode))))


def _top_tags(ctx: Context, c: Claim) -> None:
    w = ctx.w
    tags = ctx.table("tags")
    if tags is None:
        c.reasons.append(_missing(ctx, "w_tags", "tags", "tag"))
        return
    model = "MSD" if (tags["model"] == "MSD").any() else str(tags["model"].iloc[0])
    t = Source("tags", tags, {"model": model})
    rows = t.rows()
    n_songs = int(rows["track_id"].nunique())
    if n_songs < MIN_SONGS:
        c.reasons.append(w("r_few", what=w("w_tags"), n=n_songs, m=MIN_SONGS))
        return
    top = rows.groupby("tag")["mean"].mean().sort_values(ascending=False).head(5)
    items = [say(w, "item_score", name=tag, v=t.num("mean", "mean", tag=tag)) for tag in top.index]
    c.sentences.append(say(w, "s_tags", model=model, items=join(items), n=t.num("track_id", "nunique")))


def apart_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-apart", w("c_apart"))
    corr = ctx.table("hits_correlations")
    if corr is None:
        c.reasons.append(_missing(ctx, "w_corr", "hits_correlations", "hits"))
    else:
        s = Source("hits_correlations", corr, {"target": "user_count"} if "target" in corr.columns else {})
        rows = s.rows()
        sig = rows[rows["q"] < ALPHA].sort_values(["q", "p"] if "p" in rows.columns else ["q"])
        if sig.empty:
            c.sentences.append(say(w, "a_corr_none", q=s.num("q", "min"), m=s.num("feature", "count")))
        else:
            c.sentences.append(say(w, "a_corr_count", k=Num(float(len(sig)), s.name, "q", {**s.base, "q": {"lt": ALPHA}},
                                                            "count"), m=s.num("feature", "count")))
            for r in sig.head(MAX_EFFECTS).itertuples():
                c.sentences.append(say(w, "a_corr", feature=r.feature, rho=s.num("rho", feature=r.feature),
                                       lo=s.num("ci_low", feature=r.feature), hi=s.num("ci_high", feature=r.feature),
                                       q=s.num("q", feature=r.feature), n=s.num("n", feature=r.feature)))
    cat = ctx.table("hits_categorical")
    if cat is not None:
        s = Source("hits_categorical", cat, {"target": "user_count"} if "target" in cat.columns else {})
        for r in s.rows().query("q < @ALPHA").itertuples():
            c.sentences.append(say(w, "a_cat", feature=r.feature, e=s.num("epsilon_sq", feature=r.feature),
                                   q=s.num("q", feature=r.feature), n=s.num("n", feature=r.feature)))
    tags = ctx.table("hits_tags")
    if tags is None:
        c.reasons.append(_missing(ctx, "w_tagtests", "hits_tags", "hits"))
    else:
        s = Source("hits_tags", tags, {"target": "user_count"} if "target" in tags.columns else {})
        rows = s.rows()
        sig = rows[rows["q"] < ALPHA].sort_values("q")
        if sig.empty:
            c.sentences.append(say(w, "a_tag_none", q=s.num("q", "min"), m=s.num("tag", "count")))
        for r in sig.head(MAX_EFFECTS).itertuples():
            key = {"tag": r.tag, "model": r.model} if "model" in rows.columns else {"tag": r.tag}
            c.sentences.append(say(w, "a_tag", tag=r.tag, group=w(f"g_{r.tag_group}") if "tag_group" in rows.columns else "",
                                   rho=s.num("rho", **key), lo=s.num("ci_low", **key), hi=s.num("ci_high", **key),
                                   q=s.num("q", **key), n=s.num("n", **key)))
    _model(ctx, c)
    c.evidence += [figs[k] for k in ("forest", "tagforest") if k in figs]
    return c


def _model(ctx: Context, c: Claim) -> None:
    w = ctx.w
    m = ctx.table("hits_model")
    if m is None or "r2" not in m.columns:
        c.reasons.append(_missing(ctx, "w_model", "hits_model", "hits"))
        return
    r = m.iloc[0]
    s = Source("hits_model", m, {"model": r["model"]} if "model" in m.columns else {})
    ci: Sentence = []
    has_ci = {"r2_ci_low", "r2_ci_high"} <= set(m.columns) and pd.notna(r.get("r2_ci_low")) and pd.notna(r.get("r2_ci_high"))
    if has_ci:
        ci = say(w, "a_model_ci", lo=s.num("r2_ci_low"), hi=s.num("r2_ci_high"))
    c.sentences.append(say(w, "a_model", model=str(r.get("model", "")), r2=s.num("r2"), ci=ci, n=s.num("n")))
    r2 = float(r["r2"])
    if r2 <= 0.05:
        c.sentences.append([w("a_model_none")])
    else:
        c.sentences.append(say(w, "a_model_some", pct=s.num("r2")))
        if has_ci and float(r["r2_ci_low"]) <= 0:
            c.sentences.append([w("a_model_zero_in_ci")])


def clusters_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-clusters", w("c_clusters"))
    sweep = ctx.table("cluster_sweep")
    desc = ctx.table("cluster_descriptions")
    if sweep is None or desc is None:
        c.reasons.append(_missing(ctx, "w_clusters", "cluster_sweep" if sweep is None else "cluster_descriptions",
                                  "cluster"))
        return c
    base: dict[str, Any] = {"chosen": True} if "chosen" in sweep.columns else {}
    if "algorithm" in sweep.columns and (sweep["algorithm"] == "kmeans").any():
        base["algorithm"] = "kmeans"
    s = Source("cluster_sweep", sweep, base)
    if not s.rows().empty and "silhouette" in sweep.columns:
        c.sentences.append(say(w, "k_chosen", k=s.num("k"), sil=s.num("silhouette")))
    d = Source("cluster_descriptions", desc, {"method": "kmeans"} if "method" in desc.columns and
               (desc["method"] == "kmeans").any() else {})
    size_col = "size" if "size" in desc.columns else "n"
    col = "description_zh" if ctx.lang == "zh" and "description_zh" in desc.columns else "description_en"
    members = ctx.table("cluster_members")
    for r in d.rows().sort_values(size_col, ascending=False).itertuples():
        cl = r.cluster
        examples = _examples(members, cl, getattr(r, "examples", ""))
        text = str(getattr(r, col, "") or "").strip()
        size = d.num(size_col, cluster=cl)
        if size.value >= MIN_GROUP and "share" in desc.columns:
            c.sentences.append(say(w, "k_line", size=size, share=d.num("share", cluster=cl), desc=text,
                                   examples=examples))
        elif size.value >= MIN_GROUP:
            c.sentences.append(say(w, "k_line_n", size=size, desc=text, examples=examples))
        else:
            c.sentences.append(say(w, "k_small", size=size, desc=text, examples=examples))
    c.evidence += [figs[k] for k in ("pca", "k_sweep", "k_metrics") if k in figs]
    return c


def _examples(members: pd.DataFrame | None, cluster: Any, stored: object) -> str:
    """The cluster's most used titles (cluster_members, in the stage's order), else its stored examples."""
    if members is not None and {"cluster", "title"} <= set(members.columns):
        m = members[members["cluster"].astype(str) == str(cluster)]
        if "method" in m.columns and (m["method"] == "kmeans").any():
            m = m[m["method"] == "kmeans"]
        titles = [f"“{t}”" for t in m["title"].dropna().astype(str).head(3)]
        if titles:
            return ", ".join(titles)
    return str(stored or "")


def mix_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-mix", w("c_mix"))
    gs = ctx.table("genre_chart_summary")
    if gs is None:
        c.reasons.append(_missing(ctx, "w_genre", "genre_chart_summary", "genre"))
    else:
        s = Source("genre_chart_summary", gs)
        preds = ctx.table("genre_predictions")
        model = str(preds["model"].iloc[0]) if preds is not None and "model" in preds.columns else "genre"
        items = [say(w, "m_genre_item", name=str(r.label), share=s.num("share", label=r.label),
                     n=s.num("n_songs", label=r.label))
                 for r in gs[gs["n_songs"] > 0].sort_values("share", ascending=False).head(6).itertuples()]
        c.sentences.append(say(w, "m_genre", model=model, items=join(items)))
    tags = ctx.table("tags")
    if tags is None:
        c.reasons.append(_missing(ctx, "w_tags", "tags", "tag"))
    else:
        groups = tag_groups(ctx)
        for model in sorted(tags["model"].astype(str).unique()):
            t = Source("tags", tags, {"model": model})
            means = t.rows().groupby("tag")["mean"].mean()
            for g in ("genre", "mood", "vocal"):
                top = means[[groups.get(tag) == g for tag in means.index]].sort_values(ascending=False).head(4)
                if top.empty:
                    continue
                items = [say(w, "item_score", name=tag, v=t.num("mean", "mean", tag=tag)) for tag in top.index]
                c.sentences.append(say(w, "m_group", group=f"{w(f'g_{g}')} (musicnn-{model})", items=join(items)))
    c.evidence += [figs[k] for k in ("genre_dist", "tag_mix") if k in figs]
    return c


def tag_groups(ctx: Context) -> dict[str, str]:
    """Each tag's group (genre, mood, vocal, instrument, other): the hits stage's, as it stored them
    in ``hits_tags`` when present, else its fixed table."""
    ht = ctx.table("hits_tags")
    if ht is not None and {"tag", "tag_group"} <= set(ht.columns):
        return dict(zip(ht["tag"].astype(str), ht["tag_group"].astype(str), strict=False))
    from ..hits.tagtests import TAG_GROUPS

    return dict(TAG_GROUPS)


def hook_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-hook", w("c_hook"))
    hp = ctx.table("hook_positions")
    if hp is None:
        c.reasons.append(_missing(ctx, "w_hookpos", "hook_positions", "versions"))
    else:
        s = Source("hook_positions", hp)
        n = s.num("hook_start_s", "count")
        if n.value >= MIN_SONGS:
            c.sentences.append(say(w, "h_pos", med=s.num("hook_start_s", "median"), n=n))
        else:
            c.reasons.append(w("r_few", what=w("w_hookpos"), n=int(n.value), m=MIN_SONGS))
    hv = ctx.table("hits_hook_vs_first")
    if hv is None:
        c.reasons.append(_missing(ctx, "w_hook", "hits_hook_vs_first", "hits"))
    else:
        s = Source("hits_hook_vs_first", hv)
        eff = "effect" if "effect" in hv.columns else "rank_biserial"  # the stage stores rank-biserial r
        sig = hv[hv["q"] < ALPHA].sort_values("q")
        if sig.empty:
            c.sentences.append(say(w, "h_none", q=s.num("q", "min"), m=s.num("feature", "count")))
        else:
            c.sentences.append(say(w, "h_count", k=Num(float(len(sig)), s.name, "q", {"q": {"lt": ALPHA}}, "count"),
                                   m=s.num("feature", "count")))
            for r in sig.head(MAX_EFFECTS).itertuples():
                c.sentences.append(say(w, "h_diff", feature=r.feature, h=s.num("median_hook", feature=r.feature),
                                       f=s.num("median_first", feature=r.feature), e=s.num(eff, feature=r.feature),
                                       q=s.num("q", feature=r.feature), n=s.num("n", feature=r.feature)))
    c.evidence += [figs[k] for k in ("hook", "ssm") if k in figs]
    return c


def versions_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-versions", w("c_versions"))
    v = ctx.table("versions")
    if v is None:
        c.reasons.append(_missing(ctx, "w_versions", "versions", "versions"))
        return c
    s = Source("versions", v)
    edits = v[~v["is_representative"].astype(bool)] if "is_representative" in v.columns else v.iloc[0:0]
    if edits.empty:
        c.sentences.append(say(w, "v_none", n=s.num("track_id", "count")))
        return c
    c.sentences.append(say(w, "v_count", k=s.num("track_id", "count", is_representative=False)))
    titles = dict(zip(v["track_id"].astype(str), v["title"].astype(str), strict=False)) if "title" in v.columns else {}
    for r in edits.head(MAX_EFFECTS).itertuples():
        a = titles.get(str(r.track_id), "?")
        b = titles.get(str(r.group_id), "?")
        c.sentences.append(say(w, "v_pair", a=a, b=b, score=s.num("best_score", title=a, is_representative=False)))
    return c


def limits_claim(ctx: Context, figs: dict[str, Figure]) -> Claim:
    w = ctx.w
    c = Claim("c-limits", w("c_limits"))
    c.sentences.append([w("l_cause")])
    power = ctx.table("hits_power")
    tracks = ctx.table("tracks")
    if power is not None and "min_detectable_rho" in power.columns:
        base: dict[str, Any] = {"target": "user_count"} if "target" in power.columns else {}
        if "family" in power.columns:
            fams = power["family"].astype(str)
            base["family"] = "descriptors" if (fams == "descriptors").any() else fams.iloc[0]
        s = Source("hits_power", power, base)
        one = {"alpha_kind": "per_test"} if "alpha_kind" in power.columns else {}
        if not s.rows(**one).empty:
            c.sentences.append(say(w, "l_power", n=s.num("n", **one), power=s.num("power", **one),
                                   rho=s.num("min_detectable_rho", **one), alpha=s.num("alpha", **one)))
        if "alpha_kind" in power.columns and not s.rows(alpha_kind="bh_10pct").empty:
            k = {"alpha_kind": "bh_10pct"}
            c.sentences.append(say(w, "l_power_fdr", m=s.num("n_tests", **k), rho=s.num("min_detectable_rho", **k)))
    else:
        c.reasons.append(_missing(ctx, "w_power", "hits_power", "hits"))
        if tracks is not None and "user_count" in tracks.columns:
            c.sentences.append(say(w, "l_n", n=Source("tracks", tracks).num("user_count", "count")))
    if tracks is not None and "is_demo" in tracks.columns and tracks["is_demo"].fillna(False).astype(bool).any():
        t = Source("tracks", tracks)
        c.sentences.append(say(w, "l_demo", k=t.num("track_id", "count", is_demo=True), n=t.num("track_id", "count")))
    return c


CLAIMS = (shared_claim, apart_claim, clusters_claim, mix_claim, hook_claim, versions_claim, limits_claim)


def conclusions_section(cat: Catalog, w: Words, figs: dict[str, Figure]) -> Section:
    """The conclusions, first in the report: one claim per question, each with its evidence."""
    ctx = Context(cat, w, w.lang)
    sec = Section("conclusions", w("conclusions"), lead=w("conclusions_lead"))
    for make in CLAIMS:
        claim = make(ctx, figs)
        if claim.sentences or claim.reasons:
            sec.blocks.append(claim)
    return sec
