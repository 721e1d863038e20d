import os
import subprocess
import sys

import pandas as pd
import pytest

from bgmscope.catalog import MIGRATIONS, Catalog, CatalogBusy
from bgmscope.config import DataDirError
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.prepare.ingest import ingest, parse_duration, read_chart_csv


def test_schema_is_versioned_and_reopening_does_not_migrate_twice(tmp_path):
    path = tmp_path / "c.duckdb"
    with Catalog(path) as cat:
        assert cat.schema_version == len(MIGRATIONS)
        assert {"tracks", "audio_files", "clips", "runs", "failures", "chart_entries"} <= set(cat.table_names())
    with Catalog(path) as cat:
        n = cat.query("SELECT count(*) AS n FROM schema_version")["n"][0]
        assert n == len(MIGRATIONS)


def test_read_only_open_of_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="no catalog"):
        Catalog(tmp_path / "nope.duckdb", read_only=True)
    with pytest.raises(CatalogError, match="no catalog"):
        Catalog(tmp_path / "new" / "catalog.duckdb", read_only=True)
    assert not (tmp_path / "new").exists()  # read-only never creates the data dir


def test_a_catalog_held_by_another_process_is_busy_for_writers_and_readers(tmp_path):
    path = tmp_path / "data" / "catalog.duckdb"
    Catalog(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bgmscope.catalog import Catalog; c = Catalog(sys.argv[1]); "
                               "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for read_only in (False, True):
            with pytest.raises(CatalogBusy) as err:
                Catalog(path, read_only=read_only)
            assert str(err.value) == (f"another bgmscope command is using {path.parent}; "
                                      "wait or use another --data-dir")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with Catalog(path, read_only=True) as cat:  # free again once the other process is gone
        assert "tracks" in cat.table_names()


def test_garbage_catalog_file_is_a_clear_error(tmp_path):
    path = tmp_path / "catalog.duckdb"
    path.write_bytes(os.urandom(32 * 1024))
    for read_only in (False, True):
        with pytest.raises(CatalogError, match="is not a DuckDB database"):
            Catalog(path, read_only=read_only)


@pytest.mark.parametrize("parent", ["/proc/x", "{tmp}/a-file", "/dev/null/x"])
def test_unusable_data_dir_is_a_clear_error(tmp_path, parent):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(DataDirError, match="as the data dir"):
        Catalog(os.path.join(parent.format(tmp=tmp_path), "catalog.duckdb"))


def test_csv_export_neutralises_formulas_parquet_keeps_them(tmp_path):
    with Catalog(tmp_path / "c.duckdb") as cat:
        cat.write_frame("t", pd.DataFrame({"title": ["=cmd|' /C calc'!A0", "+1", "@a", "-x", "普通"],
                                           "n": [-5, 1, 2, 3, 4]}))
        csv = pd.read_csv(cat.export("t", tmp_path / "t.csv"), encoding="utf-8")
        pq = pd.read_parquet(cat.export("t", tmp_path / "t.parquet"))
    assert csv["title"].tolist() == ["'=cmd|' /C calc'!A0", "'+1", "'@a", "'-x", "普通"]
    assert csv["n"].tolist() == [-5, 1, 2, 3, 4]
    assert pq["title"].tolist() == ["=cmd|' /C calc'!A0", "+1", "@a", "-x", "普通"]


def test_write_frame_replaces_atomically_and_exports(tmp_path):
    with Catalog(tmp_path / "c.duckdb") as cat:
        df = pd.DataFrame({"title": ["生日快乐", "学猫叫-剪辑版", "🎵 <b>x</b>"], "v": [1.5, 2.0, 3.25]})
        cat.write_frame("results_demo", df)
        cat.write_frame("results_demo", df.iloc[:2])
        assert len(cat.read_frame("results_demo")) == 2
        csv = cat.export("results_demo", tmp_path / "out" / "r.csv")
        pq = cat.export("results_demo", tmp_path / "r.parquet")
        assert pd.read_csv(csv, encoding="utf-8")["title"].tolist() == ["生日快乐", "学猫叫-剪辑版"]
        assert pd.read_parquet(pq)["v"].tolist() == [1.5, 2.0]
        with pytest.raises(ParameterError, match="no table"):
            cat.export("nothing_here", tmp_path / "x.csv")
        with pytest.raises(ParameterError):
            cat.export("results_demo", tmp_path / "x.xlsx")
        with pytest.raises(ParameterError, match="table name"):
            cat.read_frame("tracks; DROP TABLE tracks")


STUDY_CSV = "音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n" \
           "6584,学猫叫-完整剪辑版,小潘潘,215,1200000,30000\n" \
           "6585,生日快乐,群星,1:05,980000,\n" \
           "6586,生日快乐~1,群星,,abc,12\n"


def test_chart_csv_seed_headers_utf8_and_gb18030(tmp_path):
    for enc in ("utf-8-sig", "gb18030"):
        p = tmp_path / f"chart-{enc}.csv"
        p.write_bytes(STUDY_CSV.encode(enc))
        df = read_chart_csv(p)
        assert df["title"].tolist() == ["学猫叫-完整剪辑版", "生日快乐", "生日快乐~1"]
        assert df["duration_s"].tolist()[:2] == [215.0, 65.0]
        assert df["user_count"].iloc[0] == 1_200_000 and pd.isna(df["user_count"].iloc[2])
        assert df["rank"].tolist() == [1, 2, 3]


def test_english_headers_and_matching_audio_by_id_then_title(tmp_path):
    from conftest import sine, write_audio

    (tmp_path / "chart.csv").write_text("music_id,title,author,duration,user_count,user_incr\n"
                                        "111,Song A,x,30,10,1\n222,生日快乐,y,30,20,2\n", encoding="utf-8")
    write_audio(tmp_path / "a" / "111.wav", sine(440, 2), 16000)
    write_audio(tmp_path / "a" / "生日快乐.wav", sine(550, 2), 16000)
    write_audio(tmp_path / "a" / "loose song.wav", sine(660, 2), 16000)
    with Catalog(tmp_path / "c.duckdb") as cat:
        s = ingest([tmp_path / "chart.csv", tmp_path / "a", tmp_path / "missing"], cat)
        assert s.tracks == 2 and s.audio_ok == 3 and len(s.failures) == 1
        files = cat.audio_files()
        tid = {p.rsplit("/", 1)[-1]: t for p, t in zip(files["path"], files["track_id"], strict=True)}
        assert tid["111.wav"] == "111" and tid["生日快乐.wav"] == "222"
        assert tid["loose song.wav"].startswith("file:")
        again = ingest([tmp_path / "a"], cat)
        assert again.skipped == 3 and again.audio_ok == 0


def test_parse_duration():
    assert parse_duration("3:35") == 215 and parse_duration(" 12.5 ") == 12.5
    assert parse_duration("") is None and parse_duration("n/a") is None


def test_write_frame_accepts_a_column_of_only_none(tmp_path):
    with Catalog(tmp_path / "c.duckdb") as cat:
        cat.write_frame("t", pd.DataFrame({"note": [None, None], "v": [1, 2]}))
        back = cat.read_frame("t")
        assert back["note"].isna().all() and back["v"].tolist() == [1, 2]


def test_atomic_writes_get_normal_permissions(tmp_path):
    import os
    import stat

    from bgmscope.fsutil import atomic_write_text

    out = tmp_path / "report.html"
    atomic_write_text(out, "<p>报告</p>")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
    assert out.read_text("utf-8") == "<p>报告</p>" and not list(tmp_path.glob(".tmp-*"))
