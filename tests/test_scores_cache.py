"""Parsed scores are cached in the user's cache folder: the same Piece as a fresh parse, a torn or
foreign cache file is parsed again, and an unwritable folder only costs the parse."""

from __future__ import annotations

import json
import os

import pytest

from bgmscope import scores


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BGMSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "scores"


def test_a_cached_piece_is_the_parsed_one(cache_dir, monkeypatch):
    first = scores.load_piece("essenFolksong/han1", 2)
    files = list(cache_dir.glob("*.json"))
    assert len(files) == 1 and first.notes and first.number == 2
    with monkeypatch.context() as m:  # the second load reads the file: parsing would fail now
        m.setattr(scores, "_parse_piece", lambda *a: pytest.fail("parsed again"))
        assert scores.load_piece("essenFolksong/han1", 2) == first
    assert scores._parse_piece("essenFolksong/han1", 2) == first
    chorale = scores.load_piece("bach/bwv66.6")  # no tune number: several parts
    assert chorale.number == 0 and len({p for *_, p in chorale.notes}) >= 4
    assert scores.load_piece("bach/bwv66.6") == chorale and len(list(cache_dir.glob("*.json"))) == 2


def test_torn_and_foreign_cache_files_are_parsed_again(cache_dir):
    piece = scores.load_piece("essenFolksong/han1", 2)
    path = next(cache_dir.glob("*.json"))
    path.write_text('{"source": "essenFolk', encoding="utf-8")  # a torn write
    assert scores.load_piece("essenFolksong/han1", 2) == piece
    d = json.loads(path.read_text(encoding="utf-8"))  # rewritten whole
    d["source"] = "someone/else"
    path.write_text(json.dumps(d), encoding="utf-8")
    assert scores.load_piece("essenFolksong/han1", 2) == piece


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_cache_folder_only_costs_the_parse(cache_dir):
    cache_dir.mkdir(parents=True)
    cache_dir.chmod(0o500)
    try:
        assert scores.load_piece("essenFolksong/han1", 2).notes
        assert not list(cache_dir.glob("*.json"))
    finally:
        cache_dir.chmod(0o700)


def test_a_cache_path_that_is_a_file_only_costs_the_parse(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("BGMSCOPE_CACHE_DIR", str(blocker))
    assert scores.load_piece("essenFolksong/han1", 2).notes
    assert blocker.read_text() == "x"
