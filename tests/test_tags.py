"""The tags stage: every chart song gets musicnn scores for every tag over its prepared clips (first
15 s, hook, middle), read from the clip WAVs (no song decoded), a broken clip is a recorded failure
while the rest are tagged, a rerun comes from the cache, ``tag --json`` parses, and the genre stage
without a trained model uses the tags."""

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
from bgmscope.prepare.clips import prepare, prepare_pass  # noqa: E402
from bgmscope.tags.stage import song_clips, tag_catalog  # noqa: E402

SR = 16000


@pytest.fixture
def catalog_dir(tmp_path):
    files = [write_audio(tmp_path / "in" / "歌A.wav", chord_song(1, 32), SR),
             write_audio(tmp_path / "in" / "歌B.flac", chord_song(2, 20), SR),
             write_audio(tmp_path / "in" / "歌C.wav", chord_song(3, 18), SR)]
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        prepare_pass(cat, settings, jobs=1, show_progress=False)
    return settings, files


def test_song_clips_are_first_hook_and_the_second_two_clip(catalog_dir):
    settings, _ = catalog_dir
    with Catalog(settings.catalog_path) as cat:
        clips = cat.clips()
    by_song = song_clips(clips, settings.data_dir)
    assert len(by_song) == 3
    for track_id, mine in by_song.items():
        assert [n for n, _ in mine] == ["first", "hook", "middle"]
        own = clips[clips["track_id"] == track_id].set_index(["clip_kind", "clip_index"])["path"]
        want = [own[("first", 0)], own[("hook", 0)], own[("two", 1)]]
        assert [p for _, p in mine] == [str(settings.data_dir / w) for w in want]
    only_first = song_clips(clips[clips["clip_kind"] == "first"], settings.data_dir)
    assert all([n for n, _ in c] == ["first"] for c in only_first.values())


def test_every_song_gets_every_tag_and_a_rerun_is_cached(catalog_dir, monkeypatch):
    import bgmscope.audio.decode as decode

    def no_decode(*_a, **_k):
        raise AssertionError("the tags stage decoded a song: it reads the prepared clips")

    monkeypatch.setattr(decode, "load", no_decode)
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
    assert (table["n_clips"] == 3).all()  # first 15 s, hook, middle
    assert again.songs == 3 and again.cached == 3
    assert again.table.equals(s.table)
    assert (runs["stage"] == "tags").sum() == 2


def test_only_first_clips_and_a_broken_clip(catalog_dir):
    settings, files = catalog_dir
    with Catalog(settings.catalog_path) as cat:
        cat.con.execute("DELETE FROM clips WHERE clip_kind <> 'first'")  # as after 'bgmscope prepare'
        broken = cat.clips("first")
        broken = broken[broken["title"] == "歌C"]["path"].iloc[0]
        (settings.data_dir / broken).write_bytes(b"RIFF not a wav")  # damaged: the run must cope
        s = tag_catalog(cat, settings, jobs=1, show_progress=False)
        failures = cat.failures()
        table = cat.read_frame("tags")
    assert s.songs == 2 and s.failed == 1
    assert (failures["stage"] == "tags").sum() == 1
    assert table["track_id"].nunique() == 2 and (table["n_clips"] == 1).all()  # the first clip only


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
