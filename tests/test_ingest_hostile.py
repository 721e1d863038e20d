"""Ingest under inputs a user will meet: names that are not UTF-8, special files, lying headers,
odd chart numbers. Each is registered or recorded with a reason; none loses the batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from conftest import sine, write_audio

from bgmscope.audio.decode import load, probe
from bgmscope.audio.paths import display, from_catalog, to_catalog
from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import BadValue, ingest, parse_count, read_chart_csv

BIN = Path(sys.executable).parent / "bgmscope"
LATIN1 = b"caf\xe9"  # 'café' in Latin-1: not UTF-8


def latin1_wav(folder: Path, seconds: float = 3.0) -> bytes:
    """A WAV whose name is Latin-1 bytes; returns its path as bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    p = os.path.join(os.fsencode(folder), LATIN1 + b".wav")
    sf.write(p, sine(440, seconds), 16000)
    return p


def test_catalog_path_round_trips_to_the_exact_bytes(tmp_path):
    raw = latin1_wav(tmp_path)
    text = to_catalog(raw)
    assert text.endswith("caf%E9.wav") and text.encode("utf-8")  # storable
    assert os.fsencode(from_catalog(text)) == raw
    assert display(raw).endswith("caf\ufffd.wav")
    ok = tmp_path / "100% real.wav"  # UTF-8 names are stored unchanged, '%' and all
    assert to_catalog(ok) == str(ok) and from_catalog(str(ok)) == ok
    y, _ = load(text)  # the decoder opens the stored form
    assert len(y) == 48000 and probe(text).duration_s == pytest.approx(3.0)


def test_non_utf8_name_is_registered_with_the_rest(tmp_path, data_dir):
    raw = latin1_wav(tmp_path / "in")
    write_audio(tmp_path / "in" / "good.wav", sine(550, 3), 16000)
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        s = ingest([tmp_path / "in"], cat)
        assert (s.audio_ok, s.failed) == (2, 0)
        files = cat.audio_files()
        assert os.fsencode(from_catalog(files["path"].iloc[0])) == raw
        assert set(cat.tracks()["title"]) == {"caf\ufffd", "good"}
        p = prepare(cat, settings, jobs=1, show_progress=False)
        assert (p.ok, p.failed) == (2, 0)
        # the file named directly, as bytes, is registered under the same key (unchanged)
        again = ingest([raw], cat)
        assert (again.skipped, again.failed) == (1, 0)


def test_describe_a_non_utf8_name(tmp_path):
    raw = latin1_wav(tmp_path, seconds=4)
    r = subprocess.run([os.fsencode(BIN), b"--data-dir", os.fsencode(tmp_path / "d"), b"describe", raw,
                        b"--length", b"3"], capture_output=True, timeout=300,
                       env={**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"})
    out = r.stdout.decode("utf-8")
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert "caf\ufffd.wav" in out and "descriptors" in out


@pytest.mark.timeout(60)  # a FIFO or /dev/zero read for ever would hang here
def test_special_files_are_recorded_not_read_or_skipped(tmp_path, data_dir):
    src = tmp_path / "in"
    write_audio(src / "good.wav", sine(440, 2), 16000)
    os.mkfifo(src / "pipe.mp3")
    (src / "x.mp3").mkdir()
    (src / "zero.mp3").symlink_to("/dev/zero")
    (src / "gone.wav").symlink_to(src / "nowhere.wav")
    (src / "cover.jpg").write_bytes(b"\xff\xd8")  # a regular non-audio file: passed over, as before
    with Catalog(Settings(data_dir=data_dir).catalog_path) as cat:
        s = ingest([src], cat)
        reasons = {Path(item).name: why for item, why in s.failures}
        assert s.audio_ok == 1 and s.failed == 4, s.failures
        assert "FIFO" in reasons["pipe.mp3"]
        assert "folder" in reasons["x.mp3"]
        assert "device" in reasons["zero.mp3"] and "/dev/zero" in reasons["zero.mp3"]
        assert "broken link" in reasons["gone.wav"]
        assert len(cat.failures()) == 4


def test_missing_path_is_a_failure(tmp_path, data_dir):
    with Catalog(Settings(data_dir=data_dir).catalog_path) as cat:
        s = ingest([tmp_path / "nonexistent"], cat)
    assert s.failed == 1 and "no such file" in s.failures[0][1]


def truncated_mp3(path: Path, seconds: float = 120, keep: int = 3000) -> Path:
    write_audio(path, sine(440, seconds, 44100), 44100, format="MP3")
    path.write_bytes(path.read_bytes()[:keep])
    return path


def test_truncated_mp3_gets_the_duration_that_decodes(tmp_path, data_dir):
    mp3 = truncated_mp3(tmp_path / "in" / "cut.mp3")
    assert sf.info(str(mp3)).duration > 100  # the header still claims the whole song
    info = probe(mp3)
    y, sr = load(mp3, sr=None)
    assert info.duration_s == pytest.approx(len(y) / sr) and info.duration_s < 1
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        assert cat.audio_files()["duration_s"].iloc[0] < 1
        prepare(cat, settings, jobs=1, show_progress=False)
        clip = cat.clips().iloc[0]
        assert bool(clip["short"]) and clip["duration_s"] < 1


CSV = ("音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n"
       "1,ok,a,30,3456,1\n"
       "2,negative,a,30,-5,1\n"
       "3,wan,a,30,12.3万,1\n"
       "4,yi,a,30,1.2亿,-3\n"
       "5,comma,a,30,\"3,456\",1\n"
       "3,dup of wan,a,30,7,1\n"
       "6,huge,a,30,99999999999999999999,1\n"
       "7,text,a,30,abc,1\n"
       "8,bad duration,a,-4,1,1\n")


def test_chart_csv_numbers_are_parsed_or_rejected_with_a_reason(tmp_path, data_dir):
    p = tmp_path / "chart.csv"
    p.write_text(CSV, encoding="utf-8")
    problems: list = []
    df = read_chart_csv(p, problems).set_index("music_id")
    assert df.loc["1", "user_count"] == 3456 and df.loc["3", "user_count"] == 123_000
    assert df.loc["4", "user_count"] == 120_000_000 and df.loc["4", "user_incr"] == -3
    assert df.loc["5", "user_count"] == 3456 and df.loc["3", "title"] == "wan"
    assert sorted(df.index) == ["1", "3", "4", "5", "7"]  # 2, 6, 8 rejected; the repeated 3 dropped
    by_line = {item.rsplit(" ", 1)[1]: (why, rejected) for item, why, rejected in problems}
    assert "row rejected: 使用人数='-5'" in by_line["3"][0] and by_line["3"][1]  # line 3 holds music_id 2
    assert "repeats 音乐ID '3' of line 4" in by_line["7"][0] and by_line["7"][1]
    assert "out of range" in by_line["8"][0] and by_line["8"][1]
    assert "not a number" in by_line["9"][0] and by_line["9"][1] is False  # kept, value blank
    assert "歌曲时间" in by_line["10"][0] and by_line["10"][1]
    with Catalog(Settings(data_dir=data_dir).catalog_path) as cat:
        s = ingest([p], cat)
        assert s.tracks == 5 and s.rows_rejected == 4 and s.failed == 4 and len(s.warnings) == 1
        assert len(cat.failures()) == 5  # the warning is on record too


@pytest.mark.parametrize("text,want", [("12", 12), ("3,456", 3456), ("12.3万", 123_000), ("1.2亿", 120_000_000),
                                       ("10万+", 100_000), (" 7 ", 7), ("", None), ("2.5w", 25_000)])
def test_parse_count(text, want):
    assert parse_count(text) == want


@pytest.mark.parametrize("text,err", [("-5", BadValue), ("9223372036854775808", BadValue), ("abc", ValueError),
                                      ("nan", ValueError), ("inf", ValueError)])
def test_parse_count_refuses(text, err):
    with pytest.raises(err):
        parse_count(text)


# -- one chart CSV header map: the chart server, the crawl's seed CSV and ingest read alike ----------
_SPELLINGS = {  # the header spellings each reader must understand, per tracks column
    "music_id": ["音乐ID", "音乐id", "music_id", "id"],
    "title": ["音乐名", "title", "name"],
    "author": ["创作者", "author", "artist"],
    "duration_s": ["歌曲时间", "duration", "duration_s", "audition_duration"],
    "user_count": ["使用人数", "user_count"],
    "user_incr": ["使用人数增量", "user_incr"],
}
_ROWS = [  # music_id, title, author, duration, user_count, user_incr (as a chart prints them)
    ("7001", "学猫叫 🎵", "小潘潘, 小峰峰", "3:35", "12.3万", "-1,200"),
    ("7002", 'a "quoted" title', "作者", "215", "3,456", "0"),
    ("7003", "夏天的风", "", "60", "1.2亿", "10万+"),
]


def _chart_csv(path: Path, names: list[str], extra: dict[str, str] | None = None) -> Path:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names + list(extra or {}))
        for r in _ROWS:
            w.writerow(list(r) + list((extra or {}).values()))
    return path


@pytest.mark.parametrize("spelling", range(4))
def test_server_and_ingest_read_every_header_spelling_alike(tmp_path, spelling):
    from bgmscope.acquire.server import load_songs
    from bgmscope.prepare.ingest import CSV_COLUMNS

    names = [v[min(spelling, len(v) - 1)] for v in _SPELLINGS.values()]
    assert all(CSV_COLUMNS[n] == col for col, v in _SPELLINGS.items() for n in v)
    p = _chart_csv(tmp_path / "chart.csv", names, {"排名": "9", "is_demo": "true", "cover": "x.jpg"})
    songs = {s.music_id: s for s in load_songs(p, tmp_path)}
    tracks = read_chart_csv(p).set_index("music_id")
    assert sorted(songs) == sorted(tracks.index) == ["7001", "7002", "7003"]
    for mid, s in songs.items():
        t = tracks.loc[mid]
        assert (s.title, s.author) == (t["title"], t["author"] or "")
        assert (s.duration_s, s.user_count, s.user_incr) == (t["duration_s"], t["user_count"], t["user_incr"])
        # a rank column is the served order, not an item field; unknown columns pass through
        assert s.extra == {"is_demo": True, "cover": "x.jpg"}
    assert songs["7001"].duration_s == 215.0 and songs["7001"].user_count == 123_000
    assert songs["7003"].user_count == 120_000_000 and songs["7001"].user_incr == -1200


def test_served_chart_round_trips_through_the_study_csv(tmp_path):
    from bgmscope.acquire.crawl import STUDY_CSV_HEADER, write_study_csv
    from bgmscope.acquire.models import validate_item
    from bgmscope.acquire.server import load_songs

    src = _chart_csv(tmp_path / "chart.csv", STUDY_CSV_HEADER)
    songs = load_songs(src, tmp_path)
    items = [validate_item(s.item())[0] for s in songs]  # what a crawl keeps from the server
    back = read_chart_csv(write_study_csv(items, tmp_path / "seed.csv")).set_index("music_id")
    orig = read_chart_csv(src).set_index("music_id")
    cols = ["title", "author", "duration_s", "user_count", "user_incr"]
    pd.testing.assert_frame_equal(back[cols], orig[cols])
