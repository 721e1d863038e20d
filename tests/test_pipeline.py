"""End to end: the demo runs every stage through the CLI and a second run reuses the cache."""

import subprocess
import sys
from pathlib import Path

import pytest

from bgmscope.catalog import Catalog

BIN = Path(sys.executable).parent / "bgmscope"


@pytest.mark.slow
def test_demo_runs_every_stage_and_reuses_its_cache(tmp_path):
    # a cold numba cache, as on a user's fresh machine: warm it as the engine does, then check
    # that the pooled stages compiled nothing the warm-up missed (their workers would race)
    from test_warmup import WARM, cache_files, numba_env

    cache = tmp_path / "numba"
    cache.mkdir()
    assert subprocess.run([sys.executable, "-c", WARM], env=numba_env(cache), timeout=600).returncode == 0
    warmed = cache_files(cache)
    assert warmed, "the warm-up compiled nothing into NUMBA_CACHE_DIR"
    data = tmp_path / "data"
    r = subprocess.run([str(BIN), "--data-dir", str(data), "demo", "--songs", "12", "-j", "2"],
                       env=numba_env(cache), capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    after = cache_files(cache)
    missed = sorted(set(after) - set(warmed)) + sorted(k for k in warmed if after.get(k) != warmed[k])
    assert not missed, f"compiled after the warm-up (make warmup.exercise reach it): {missed}"
    assert "failed:" not in r.stdout, r.stdout[-3000:]
    report = data / "report" / "report.html"
    assert report.exists() and str(report) in r.stdout.replace("\n", "")
    with Catalog(data / "catalog.duckdb", read_only=True) as cat:
        tables = set(cat.table_names())
        assert {"tracks", "clips", "features", "chart_entries"} <= tables
        for prefix in ("select_", "cluster_", "genre_", "midi_", "hits_"):
            assert any(t.startswith(prefix) for t in tables), (prefix, sorted(tables))
        assert len(cat.tracks()) == 12 and cat.tracks()["is_demo"].all()
        assert len(cat.clips("first")) == 12 and len(cat.clips("two")) == 24 and len(cat.clips("hook")) == 12
        n_features = len(cat.read_frame("features"))

    again = subprocess.run([str(BIN), "--data-dir", str(data), "prepare", "-j", "2"],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "already done" in again.stdout
    with Catalog(data / "catalog.duckdb", read_only=True) as cat:
        assert len(cat.clips()) == 48 and len(cat.read_frame("features")) == n_features


def test_ingest_and_prepare_user_files_via_cli(tmp_path):
    from conftest import sine, write_audio

    songs = tmp_path / "我的歌"
    for i, name in enumerate(["111", "222", "三三三"]):
        write_audio(songs / f"{name}.wav", sine(220 * (i + 1), 40, 22050), 22050)
    (songs / "broken.mp3").write_bytes(b"\x00" * 100)
    chart = tmp_path / "chart.csv"
    chart.write_text("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n111,一,甲,40,100,5\n"
                     "222,二,乙,40,50,2\n333,三三三,丙,40,10,1\n", encoding="utf-8")
    data = tmp_path / "data"
    r = subprocess.run([str(BIN), "--data-dir", str(data), "ingest", str(songs), str(chart)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr  # finished, one file failed (the README's exit codes)
    assert "broken.mp3" in r.stdout
    r = subprocess.run([str(BIN), "--data-dir", str(data), "prepare", "--two-clips", "-j", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with Catalog(data / "catalog.duckdb", read_only=True) as cat:
        clips = cat.clips("two")
        assert sorted(set(clips["title"])) == ["一", "三三三", "二"] and len(clips) == 6
        assert len(cat.failures()) == 1


def test_version_and_help_need_no_command():
    from bgmscope import __version__

    r = subprocess.run([str(BIN), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and __version__ in r.stdout
    r = subprocess.run([str(BIN), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "prepare" in r.stdout and "report" in r.stdout
