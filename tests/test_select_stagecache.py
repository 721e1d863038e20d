"""Cached reruns of the analysis stages (select, cluster, versions, hits, genre): a rerun whose input tables,
parameters and code are unchanged writes nothing and returns the stored summary; ``force`` recomputes
the same tables; a changed input or parameter recomputes. Real audio, features and catalog."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import write_audio
from rich.console import Console
from test_select_pipeline import SR, song

from bgmscope.catalog import Catalog
from bgmscope.cluster import stage as cluster_stage
from bgmscope.config import Settings
from bgmscope.context import PipelineContext
from bgmscope.genre import stage as genre_stage
from bgmscope.hits import stage as hits_stage
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest
from bgmscope.select import stage as select_stage
from bgmscope.select.stagecache import BOOKKEEPING, table_digest
from bgmscope.versions import stage as versions_stage

features_stage = pytest.importorskip("bgmscope.features.stage")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("stagecache")
    rng = np.random.default_rng(0)
    for i in range(12):
        write_audio(root / "songs" / f"s{i}.wav", song(i % 3, rng), SR)
    pd.DataFrame({"音乐ID": [f"s{i}" for i in range(12)], "音乐名": [f"Song {i}" for i in range(12)],
                  "创作者": ["A"] * 12, "使用人数": [100000 - 7000 * i for i in range(12)],
                  "使用人数增量": [900 - 50 * i for i in range(12)], "排名": list(range(1, 13))}
                 ).to_csv(root / "chart.csv", index=False, encoding="utf-8")
    settings = Settings(data_dir=root / "data", clip_length_s=4.0, k_min=2, k_max=4).ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([root / "chart.csv", root / "songs"], cat)
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        prepare(cat, settings, kind="two", jobs=1, show_progress=False)
        features_stage.run_features(cat, settings, jobs=1, export=False, show_progress=False)
    return settings


def _content(cat: Catalog, tables: list[str]) -> dict[str, pd.DataFrame]:
    """Each table without its bookkeeping columns, rows in a fixed order (what a recompute must repeat)."""
    out = {}
    for t in tables:
        if not cat.has_table(t):
            out[t] = None
            continue
        df = cat.read_frame(t)
        df = df[[c for c in df.columns if c not in BOOKKEEPING]]
        out[t] = df.sort_values(list(df.columns), ignore_index=True, kind="stable") if len(df) else df
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for t in a:
        if a[t] is None or b[t] is None:
            assert a[t] is None and b[t] is None, t
        else:
            pd.testing.assert_frame_equal(a[t], b[t], check_dtype=True, obj=t)


def _check(cat, ctx, run, tables, history=()):
    """First run, cached rerun (nothing written), forced recompute (same tables)."""
    first = run(ctx)
    assert not first.get("cached")
    before = _content(cat, [t for t in tables if t not in history])
    digests = {t: table_digest(cat, t, drop=frozenset()) for t in tables}
    again = run(ctx)
    assert again.get("cached") is True
    assert {k: v for k, v in again.items() if k != "cached"} == json.loads(json.dumps(first, default=str))
    assert {t: table_digest(cat, t, drop=frozenset()) for t in tables} == digests  # not rewritten
    forced = run(ctx, force=True)
    assert not forced.get("cached") and forced == first
    _same(_content(cat, [t for t in tables if t not in history]), before)
    assert run(ctx).get("cached") is True  # the recompute was stored again
    return first


def test_select_cluster_hits_genre_reruns_are_cached_and_identical_to_a_recompute(corpus):
    with Catalog(corpus.catalog_path) as cat:
        ctx = PipelineContext(cat, corpus, 1, Console(quiet=True), demo=True)
        _check(cat, ctx, select_stage.run_stage, select_stage.OUTPUT_TABLES, history=("select_runs",))
        _check(cat, ctx, cluster_stage.run_stage, cluster_stage.OUTPUT_TABLES, history=("cluster_runs",))
        ctx.demo = False  # the genre stage without a model or tags: skipped, and that is cached too
        g = genre_stage.run_stage(ctx)
        assert "skipped" in g and genre_stage.run_stage(ctx).get("cached") is True
        _check(cat, ctx, versions_stage.run_stage, versions_stage.VERSIONS_TABLES)
        _check(cat, ctx, hits_stage.run_stage, hits_stage.HITS_TABLES)


def test_a_changed_parameter_or_input_recomputes(corpus):
    with Catalog(corpus.catalog_path) as cat:
        ctx = PipelineContext(cat, corpus, 1, Console(quiet=True), demo=True)
        select_stage.run_stage(ctx)
        cluster_stage.run_stage(ctx)
        hits_stage.run_stage(ctx)
        assert cluster_stage.run_stage(ctx).get("cached") and hits_stage.run_stage(ctx).get("cached")

        ctx.seed = 1  # a parameter
        assert not cluster_stage.run_stage(ctx).get("cached")
        assert cluster_stage.run_stage(ctx).get("cached")
        ctx.seed = 0

        # an input: one song's popularity changes -> hits recomputes, cluster (which ignores it) does not
        cat.con.execute("UPDATE tracks SET user_count = user_count + 1 WHERE track_id = (SELECT min(track_id) FROM tracks)")
        assert not hits_stage.run_stage(ctx).get("cached")
        # versions copies the chart facts into its groups: it recomputes (the scans are reread, not redone)
        versions_stage.run_stage(ctx)
        assert versions_stage.run_stage(ctx).get("cached")
        cat.con.execute("UPDATE tracks SET user_count = user_count + 1 WHERE track_id = (SELECT min(track_id) FROM tracks)")
        assert not versions_stage.run_stage(ctx).get("cached")
        # cluster reads the tracks table too (titles, chart order in its descriptions): it recomputes
        assert not cluster_stage.run_stage(ctx).get("cached")

        # one song fewer in the features -> every analysis recomputes
        cat.con.execute("DELETE FROM features WHERE track_id = (SELECT max(track_id) FROM features)")
        assert not select_stage.run_stage(ctx).get("cached")
        assert not cluster_stage.run_stage(ctx).get("cached")
        assert not hits_stage.run_stage(ctx).get("cached")

        # an output table edited by hand is not vouched for
        assert cluster_stage.run_stage(ctx).get("cached")
        cat.con.execute("DELETE FROM cluster_assignments WHERE clip_id = (SELECT min(clip_id) FROM cluster_assignments)")
        assert not cluster_stage.run_stage(ctx).get("cached")

        # the genre stage's key follows the tags table
        k0 = genre_stage.stage_cache(ctx).key()
        cat.write_frame("tags", pd.DataFrame({"track_id": ["s0"], "tag": ["rock"], "mean": [0.5], "std": [0.1]}))
        assert genre_stage.stage_cache(ctx).key() != k0
        cat.con.execute("DROP TABLE tags")
        assert genre_stage.stage_cache(ctx).key() == k0
