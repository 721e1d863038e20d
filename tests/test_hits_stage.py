"""The hits stage's song scan: real files ingested, an edit grouped, hook positions stored, a broken
file recorded while the run goes on, and a clear error when features are missing."""

from __future__ import annotations

import pytest
from conftest import chord_song, write_audio
from rich.console import Console

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.context import PipelineContext
from bgmscope.errors import CatalogError
from bgmscope.hits.stage import run_stage as hits_stage
from bgmscope.prepare.ingest import ingest
from bgmscope.versions.stage import run_stage as versions_stage
from bgmscope.versions.stage import scan_songs

SR = 16000


@pytest.fixture
def songs(tmp_path):
    a = chord_song(1, 40)
    files = [write_audio(tmp_path / "in" / "歌A.wav", a, SR),
             write_audio(tmp_path / "in" / "歌A-剪辑版.flac", 0.5 * a[9 * SR: 27 * SR], SR),
             write_audio(tmp_path / "in" / "歌B.wav", chord_song(2, 35), SR),
             write_audio(tmp_path / "in" / "歌C.wav", chord_song(3, 30), SR)]
    (tmp_path / "in" / "坏.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    return tmp_path, files


def test_scan_groups_the_edit_and_stores_hooks(songs):
    root, files = songs
    settings = Settings(data_dir=root / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([root / "in"], cat)  # the garbage file is rejected here
        files[3].write_bytes(files[3].read_bytes()[:60])  # damaged after ingest: the scan must cope
        s = scan_songs(cat, settings, jobs=1, show_progress=False)
        failures = cat.failures()
        v = cat.read_frame("versions")
        hooks = cat.read_frame("hook_positions")
        again = scan_songs(cat, settings, jobs=1, show_progress=False)
    assert s.songs == 3 and s.failed == 1 and s.groups == 1 and s.edits == 1
    assert (failures["stage"] == "versions").sum() == 1 and "歌C" in failures["item"].iloc[-1]
    by_title = v.set_index("title")
    assert by_title.loc["歌A", "group_id"] == by_title.loc["歌A-剪辑版", "group_id"] == by_title.loc["歌A", "track_id"]
    assert by_title.loc["歌B", "group_size"] == 1
    assert abs(by_title.loc["歌A", "offset_s"] - 9.0) <= 0.5  # the cut starts 9 s into the song
    assert len(hooks) == 3 and (hooks["hook_start_s"] <= hooks["duration_s"]).all()
    assert again.cached == 3 and again.failed == 1  # the rerun decodes nothing it has seen


def test_stage_without_features_is_a_clear_error_after_versions(songs):
    root, _ = songs
    settings = Settings(data_dir=root / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([root / "in"], cat)
        ctx = PipelineContext(cat, settings, 1, Console(quiet=True))
        assert versions_stage(ctx)["songs scanned"] == 4
        assert cat.has_table("versions") and cat.has_table("hook_positions")
        with pytest.raises(CatalogError, match="features"):  # hits after versions, before features
            hits_stage(ctx)


def test_no_audio_is_a_clear_error(tmp_path):
    settings = Settings(data_dir=tmp_path).ensure()
    with Catalog(settings.catalog_path) as cat:
        with pytest.raises(CatalogError, match="no audio"):
            scan_songs(cat, settings, jobs=1)


def test_chart_songs_sharing_bytes_each_get_a_hook_and_one_group(tmp_path):
    # issue 12 defect 4, in the scan: twins were dropped by sha256 and got no hook or version row
    song = chord_song(4, 30)
    for mid in ("111", "222", "333"):
        write_audio(tmp_path / "in" / f"{mid}.wav", song, SR)
    write_audio(tmp_path / "in" / "444.wav", chord_song(5, 30), SR)
    chart = tmp_path / "chart.csv"
    chart.write_text("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n111,一,甲,30,100,5\n"
                     "222,二,乙,30,50,2\n333,三,丙,30,10,1\n444,四,丁,30,5,1\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in", chart], cat)
        s = scan_songs(cat, settings, jobs=1, show_progress=False)
        hooks = cat.read_frame("hook_positions")
        v = cat.read_frame("versions").set_index("track_id")
    assert s.songs == 2 and s.failed == 0  # two distinct audios decoded
    assert sorted(hooks["track_id"]) == ["111", "222", "333", "444"]
    assert hooks.set_index("track_id").loc[["111", "222", "333"], "hook_start_s"].nunique() == 1
    assert v.loc["111", "group_id"] == v.loc["222", "group_id"] == v.loc["333", "group_id"] != v.loc["444", "group_id"]
