"""The tags stage: every chart song gets musicnn scores for every tag over its clips (first 15 s,
hook, middle), a broken file is a recorded failure while the rest are tagged, a rerun comes from the
cache, ``tag --json`` parses, and the genre stage without a trained model uses the tags."""

from __future__ import annotations

import json
import typing

import numpy as np
import pytest
from conftest import chord_song, write_audio

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.prepare.ingest import ingest

pytest.importorskip("onnxruntime")

from bgmscope.models.tagger import MODELS, tags  # noqa: E402
from bgmscope.tags.stage import clip_spans, tag_catalog  # noqa: E402

SR = 16000


@pytest.fixture
def catalog_dir(tmp_path):
    files = [write_audio(tmp_path / "in" / "歌A.wav", chord_song(1, 32), SR),
             write_audio(tmp_path / "in" / "歌B.flac", chord_song(2, 20), SR),
             write_audio(tmp_path / "in" / "歌C.wav", chord_song(3, 18), SR)]
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
    return settings, files


def test_clip_spans():
    assert [n for n, _, _ in clip_spans(60, 20.0, 10.0)] == ["first", "hook", "middle"]
    assert clip_spans(60, None, 10.0) == [("first", 0.0, 15.0), ("middle", 22.5, 15.0)]
    assert clip_spans(4, None, 10.0) == [("first", 0.0, 4), ("middle", 0.0, 4)]


def test_every_song_gets_every_tag_and_a_rerun_is_cached(catalog_dir):
    settings, _ = catalog_dir
    with Catalog(settings.catalog_path) as cat:
        s = tag_catalog(cat, settings, jobs=1, show_progress=False)
        table = cat.read_frame("tags")
        again = tag_catalog(cat, settings, jobs=1, show_progress=False)
        runs = cat.read_frame("runs")
    assert s.songs == 3 and s.failed == 0 and s.cached == 0
    assert list(table.columns) == ["track_id", "model", "tag", "mean", "std", "n_clips"]
    assert len(table) == 3 * len(tags("MSD")) and set(table["model"]) == {"MSD"}
    for _, g in table.groupby("track_id"):
        assert sorted(g["tag"]) == sorted(tags("MSD"))
    assert np.isfinite(table["mean"]).all() and table["mean"].between(0, 1).all()
    assert (table["std"] >= 0).all()
    assert (table["n_clips"] == 2).all()  # no hook_positions table: first 15 s and the middle
    assert again.songs == 3 and again.cached == 3
    assert again.table.equals(s.table)
    assert (runs["stage"] == "tags").sum() == 2


def test_hook_clip_and_broken_file(catalog_dir):
    from bgmscope.versions.stage import scan_songs

    settings, files = catalog_dir
    with Catalog(settings.catalog_path) as cat:
        scan_songs(cat, settings, jobs=1, show_progress=False)  # hook_positions
        files[2].write_bytes(files[2].read_bytes()[:60])  # damaged after ingest: the run must cope
        s = tag_catalog(cat, settings, jobs=1, show_progress=False)
        failures = cat.failures()
        table = cat.read_frame("tags")
    assert s.songs == 2 and s.failed == 1
    assert (failures["stage"] == "tags").sum() == 1 and "歌C" in failures[failures["stage"] == "tags"]["item"].iloc[0]
    assert table["track_id"].nunique() == 2 and (table["n_clips"] == 3).all()  # first, hook, middle


def test_cli_tag_json(catalog_dir):
    from typer.testing import CliRunner

    from bgmscope.cli import app
    from bgmscope.cli.tags import Model

    assert typing.get_args(Model) == MODELS
    settings, _ = catalog_dir
    res = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "tag", "--json", "-j", "1"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["songs"] == 3 and doc["model"] == "MSD" and doc["table"] == "tags"
    assert len(doc["tags"]) == 3 * 50 and all(0 <= r["mean"] <= 1 for r in doc["tags"])


def test_genre_stage_without_a_model_uses_the_tags(catalog_dir):
    from rich.console import Console

    from bgmscope.context import PipelineContext
    from bgmscope.genre.stage import GENRE_TAGS, TAGS_SOURCE
    from bgmscope.genre.stage import run_stage as genre_stage
    from bgmscope.prepare.clips import prepare

    settings, _ = catalog_dir
    with Catalog(settings.catalog_path) as cat:
        prepare(cat, settings, kind="first", length_s=5.0, jobs=1, show_progress=False)
        ctx = PipelineContext(cat, settings, 1, Console(quiet=True))
        assert genre_stage(ctx) == {"skipped": "no trained model"}  # no tags yet
        tag_catalog(cat, settings, jobs=1, show_progress=False)
        out = genre_stage(ctx)
        pred = cat.read_frame("genre_predictions")
        summary = cat.read_frame("genre_chart_summary")
    assert out["source"] == out["model"] == TAGS_SOURCE and out["songs"] == 3 and out["failed"] == 0
    assert len(pred) == 3 and set(pred["source"]) == set(pred["model"]) == {TAGS_SOURCE}
    assert set(pred["label"]) <= set(GENRE_TAGS) and pred["clip_id"].notna().all()
    assert pred["confidence"].between(0, 1).all() and (pred["margin"] >= 0).all()
    assert json.loads(pred["probabilities"].iloc[0]).keys() <= set(GENRE_TAGS)
    assert summary["n_songs"].sum() == 3
