import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import sine, write_audio

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest

BIN = Path(sys.executable).parent / "bgmscope"


def make_bad_corpus(folder: Path) -> dict[str, str]:
    """Every bad input of the foundation issue; returns name -> expected status."""
    folder.mkdir(parents=True, exist_ok=True)
    expect = {}
    (folder / "empty.mp3").write_bytes(b"")
    expect["empty.mp3"] = "failed"
    (folder / "text.mp3").write_text("not audio at all\n" * 50)
    expect["text.mp3"] = "failed"
    mp3 = write_audio(folder / "truncated.mp3", sine(440, 20, 44100), 44100, format="MP3")
    mp3.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    expect["truncated.mp3"] = "ok"
    write_audio(folder / "short.wav", sine(440, 0.5), 16000)
    expect["short.wav"] = "ok"
    write_audio(folder / "silence.wav", np.zeros(16000 * 600, np.float32), 16000, subtype="PCM_16")
    expect["silence.wav"] = "ok"
    write_audio(folder / "six.wav", np.stack([sine(300 + 50 * i, 20, 48000) for i in range(6)]), 48000)
    expect["six.wav"] = "ok"
    write_audio(folder / "hires.wav", sine(1000, 20, 96000), 96000, subtype="PCM_24")
    expect["hires.wav"] = "ok"
    write_audio(folder / "ulaw.au", sine(500, 20, 8000), 8000, format="AU", subtype="ULAW")
    expect["ulaw.au"] = "ok"
    nan = sine(440, 20)
    nan[5000:6000] = np.nan
    write_audio(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    expect["nan.wav"] = "prepare-failed"  # probes fine, its samples are not finite
    for name in ["生日快乐.mp3", "生日快乐~1 🎂.wav", "a song with spaces.flac", "it's \"quoted\".ogg",
                 "$(touch PWNED).wav"]:
        fmt = {".mp3": "MP3", ".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[Path(name).suffix]
        write_audio(folder / name, sine(440 + len(name), 20, 22050), 22050, format=fmt)
        expect[name] = "ok"
    return expect


def test_bad_inputs_never_stop_a_run(tmp_path, data_dir):
    expect = make_bad_corpus(tmp_path / "in")
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        s = ingest([tmp_path / "in"], cat)
        files = cat.audio_files(status=None)
        status = {Path(p).name: st for p, st in zip(files["path"], files["status"], strict=True)}
        for name, want in expect.items():
            assert status[name] == ("ok" if want == "prepare-failed" else want), name
        assert s.audio_failed == 2 and len(s.failures) == 2
        reasons = dict(s.failures)
        assert "empty file" in reasons[str(tmp_path / "in" / "empty.mp3")]

        p = prepare(cat, settings, kind="first", jobs=2, show_progress=False)
        assert p.failed == 1 and "non-finite" in p.failures[0][1]
        assert p.ok == len(expect) - 3
        clips = cat.clips()
        assert len(clips) == p.ok
        by_title = dict(zip(clips["title"], clips["short"], strict=True))
        assert by_title["short"] and not by_title["silence"]
        for rel in clips["path"]:
            y, sr = sf.read(data_dir / rel)
            assert sr == 16000 and y.ndim == 1 and np.isfinite(y).all() and len(y) <= 15 * 16000
        short = clips[clips["title"] == "short"].iloc[0]
        assert abs(short["duration_s"] - 0.5) < 0.01  # kept what there is, not padded
        fails = cat.failures()
        assert {"ingest", "prepare"} <= set(fails["stage"])
        assert not (Path.cwd() / "PWNED").exists() and not (tmp_path / "in" / "PWNED").exists()
        titles = set(cat.tracks()["title"])
        assert {"生日快乐", "生日快乐~1 🎂", "$(touch PWNED)"} <= titles

        again = prepare(cat, settings, kind="first", jobs=2, show_progress=False)
        assert again.ok == 0 and again.skipped == p.ok and again.failed == 1


def test_clip_kinds_offset_two_and_pad(tmp_path, data_dir):
    sr = 16000
    t = np.arange(sr * 60) / sr
    y = (0.4 * np.sin(2 * np.pi * (100 + 5 * t) * t)).astype(np.float32)
    write_audio(tmp_path / "in" / "long.wav", y, sr)
    write_audio(tmp_path / "in" / "tiny.wav", sine(440, 4), sr)
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        prepare(cat, settings, kind="two", jobs=1, show_progress=False)
        two = cat.clips("two")
        long_two = two[two["title"] == "long"].sort_values("clip_index")
        a, b = long_two["offset_s"].tolist()
        assert len(long_two) == 2 and b >= a + 15 and b + 15 <= 60
        ca, _ = sf.read(data_dir / long_two["path"].iloc[0])
        assert np.allclose(ca[:1000], y[int(a * sr): int(a * sr) + 1000], atol=2e-4)
        tiny_two = two[two["title"] == "tiny"]
        assert tiny_two["short"].all() and len(tiny_two) == 2

        prepare(cat, settings, kind="offset", offset_s=30, length_s=10, jobs=1, show_progress=False)
        off = cat.clips("offset")
        clip = off[off["title"] == "long"].iloc[0]
        z, _ = sf.read(data_dir / clip["path"])
        assert len(z) == 10 * sr and np.allclose(z[:500], y[30 * sr: 30 * sr + 500], atol=2e-4)

        prepare(cat, settings, kind="first", pad=True, jobs=1, show_progress=False)
        first = cat.clips("first")
        tiny = first[first["title"] == "tiny"].iloc[0]
        z, _ = sf.read(data_dir / tiny["path"])
        assert len(z) == 15 * sr and bool(tiny["padded"]) and np.all(z[5 * sr:] == 0)


def _clip_files(clip_dir: Path) -> dict[str, bytes]:
    """Clips under their final names (a kill can leave a half-written ``.tmp-*`` beside them)."""
    return {p.name: p.read_bytes() for p in clip_dir.rglob("*.wav") if not p.name.startswith(".tmp-")}


@pytest.mark.slow
def test_killed_prepare_resumes_with_identical_clips(tmp_path):
    src = tmp_path / "in"
    for i in range(24):
        write_audio(src / f"song{i:02d}.mp3", sine(200 + 20 * i, 40, 44100), 44100, format="MP3")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for d in (killed, clean):
        subprocess.run([str(BIN), "--data-dir", str(d), "ingest", str(src)], check=True, env=env,
                       capture_output=True)
    proc = subprocess.Popen([str(BIN), "--data-dir", str(killed), "prepare", "-j", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((killed / "clips").rglob("*.wav"))) < 6:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _clip_files(killed / "clips")
    assert 0 < len(partial) < 24, "the kill should land mid-run"
    for name, _data in partial.items():  # every clip under a final name is complete
        info = sf.info(str(next((killed / "clips").rglob(name))))
        assert info.frames == 15 * 16000, name
    r = subprocess.run([str(BIN), "--data-dir", str(killed), "prepare", "-j", "2"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run([str(BIN), "--data-dir", str(clean), "prepare", "-j", "2"], env=env, check=True,
                   capture_output=True)
    resumed, fresh = _clip_files(killed / "clips"), _clip_files(clean / "clips")
    assert resumed == fresh and len(fresh) == 24
    assert not list((killed / "clips").rglob(".tmp-*"))
    with Catalog(killed / "catalog.duckdb", read_only=True) as cat:
        assert len(cat.clips()) == 24


def twin_corpus(folder: Path, n: int = 7) -> Path:
    """A chart CSV of ``n`` songs whose files are byte-identical, and one other song."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(f"{100 + i},twin {i},a,20,{10 * i},1" for i in range(n))
    (folder / "chart.csv").write_text(f"音乐ID,音乐名,创作者,歌曲时间,使用人数,使用人数增量\n{rows}\n", encoding="utf-8")
    first = write_audio(folder / "100.wav", sine(440, 20), 16000)
    for i in range(1, n):
        (folder / f"{100 + i}.wav").write_bytes(first.read_bytes())
    write_audio(folder / "other.wav", sine(660, 20), 16000)
    return folder


def count_decodes(monkeypatch) -> list[str]:
    import bgmscope.prepare.cutter as cutter

    calls: list[str] = []
    real = cutter.load

    def counting(path, **kw):
        calls.append(str(path))
        return real(path, **kw)

    monkeypatch.setattr(cutter, "load", counting)
    return calls


def test_twins_each_get_clips_from_one_decode(tmp_path, data_dir, monkeypatch):
    twin_corpus(tmp_path / "in")
    settings = Settings(data_dir=data_dir)
    calls = count_decodes(monkeypatch)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        s = prepare(cat, settings, jobs=1, show_progress=False)
        assert (s.ok, s.twins, s.clips, s.failed) == (8, 6, 8, 0)
        assert len(calls) == 2  # one decode per distinct audio, not per song
        clips = cat.clips()
        twins = clips[clips["track_id"].str.startswith("1")]
        assert sorted(twins["track_id"]) == [str(100 + i) for i in range(7)]
        assert twins["path"].nunique() == 1 and twins["clip_id"].nunique() == 7  # one file, own rows
        assert len(list(settings.clip_dir.rglob("*.wav"))) == 2
        again = prepare(cat, settings, jobs=1, show_progress=False)
        assert (again.ok, again.skipped, again.twins) == (0, 8, 6) and len(calls) == 2
        # a new twin arrives later: registered from the clip on disk, no decode
        (tmp_path / "in2").mkdir()
        (tmp_path / "in2" / "copy.wav").write_bytes((tmp_path / "in" / "100.wav").read_bytes())
        ingest([tmp_path / "in2"], cat)
        late = prepare(cat, settings, jobs=1, show_progress=False)
        assert (late.ok, late.skipped, late.twins) == (1, 8, 7) and len(calls) == 2
        assert len(cat.clips()) == 9


def test_legacy_clip_ids_move_to_per_track_ids_without_work(tmp_path, data_dir, monkeypatch):
    from bgmscope.features.stage import run_features

    src = tmp_path / "in"
    write_audio(src / "a.wav", sine(440, 20), 16000)
    write_audio(src / "b.wav", sine(550, 20), 16000)
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        ingest([src], cat)
        prepare(cat, settings, jobs=1, show_progress=False)
        run_features(cat, settings, jobs=1, export=False, show_progress=False)
        new_ids = set(cat.clips()["clip_id"])
        # what an older bgmscope wrote: the clip id was the file name
        cat.con.execute("UPDATE features SET clip_id = (SELECT regexp_extract(c.path, '([^/]+)\\.wav$', 1) "
                        "FROM clips c WHERE c.clip_id = features.clip_id)")
        legacy = cat.clips()[cat.read_frame("clips").columns]
        legacy["clip_id"] = legacy["path"].map(lambda p: Path(p).stem)
        cat.con.execute("DELETE FROM clips")
        cat.upsert_frame("clips", legacy)
        calls = count_decodes(monkeypatch)
        s = prepare(cat, settings, jobs=1, show_progress=False)
        assert (s.ok, s.skipped) == (0, 2) and not calls
        assert set(cat.clips()["clip_id"]) == new_ids
        f = run_features(cat, settings, jobs=1, export=False, show_progress=False)
        assert (f.computed, f.cached, f.rows) == (0, 2, 2)


@pytest.mark.parametrize("kw", [{"length_s": float("nan")}, {"length_s": float("inf")}, {"length_s": 0},
                                {"length_s": -3}, {"offset_s": float("nan")}, {"offset_s": -1},
                                {"jobs": 0}, {"jobs": -3}, {"kind": "middle"}])
def test_prepare_refuses_bad_parameters_before_any_work(tmp_path, data_dir, kw):
    from bgmscope.errors import ParameterError

    write_audio(tmp_path / "in" / "a.wav", sine(440, 2), 16000)
    settings = Settings(data_dir=data_dir)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        with pytest.raises(ParameterError):
            prepare(cat, settings, show_progress=False, **kw)
        assert set(cat.query("SELECT stage FROM runs")["stage"]) == {"ingest"}  # refused at the start


@pytest.mark.parametrize("sr", [0, -16000])
def test_prepare_refuses_a_bad_sample_rate(tmp_path, data_dir, sr):
    from bgmscope.errors import ParameterError

    settings = Settings(data_dir=data_dir, sample_rate=sr)
    with Catalog(settings.catalog_path) as cat, pytest.raises(ParameterError, match="sample rate"):
        prepare(cat, settings, show_progress=False)


def count_song_decodes(monkeypatch) -> list[str]:
    import bgmscope.prepare.scan as scan

    calls: list[str] = []
    real = scan.decode_song

    def counting(path, sr):
        calls.append(str(path))
        return real(path, sr)

    monkeypatch.setattr(scan, "decode_song", counting)
    return calls


def test_song_pass_cuts_every_clip_and_the_scan_from_one_decode(tmp_path, data_dir, monkeypatch):
    from bgmscope.audio.decode import load
    from bgmscope.prepare.clips import prepare_pass
    from bgmscope.prepare.hook import find_hook
    from bgmscope.prepare.scan import read_scan, scan_cache_path

    twin_corpus(tmp_path / "in", n=3)
    sr = 16000
    t = np.arange(sr * 50) / sr
    y = (0.4 * np.sin(2 * np.pi * (100 + 5 * t) * t) * (1 + (t > 20) * (t < 35))).astype(np.float32)
    write_audio(tmp_path / "in" / "long.wav", y, sr)
    write_audio(tmp_path / "in" / "tiny.wav", sine(440, 1.0), sr)  # too short for a scan: clips still
    settings = Settings(data_dir=data_dir)
    calls = count_song_decodes(monkeypatch)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        s = prepare_pass(cat, settings, jobs=1, show_progress=False)
        assert (s.ok, s.twins, s.failed) == (6, 2, 0)
        assert len(calls) == 4  # one decode per distinct audio (the three twins share one)
        clips = cat.clips()
        assert s.clips == len(clips) == 6 * 4
        assert clips.groupby("clip_kind").size().to_dict() == {"first": 6, "two": 12, "hook": 6}
        long = clips[clips["title"] == "long"].set_index(["clip_kind", "clip_index"])
        whole, _ = load(tmp_path / "in" / "long.wav", sr=sr)
        hook = find_hook(whole, sr, length_s=15.0)
        assert long.loc[("hook", 0), "offset_s"] == pytest.approx(hook, abs=1e-3)
        for (kind, index), r in long.iterrows():  # each clip is the song's samples at its offset
            z, zsr = sf.read(data_dir / r["path"], dtype="float32")
            a = int(round(r["offset_s"] * sr))
            assert zsr == sr and len(z) == round(r["length_s"] * sr), (kind, index)
            assert np.allclose(z, whole[a: a + len(z)], atol=1e-4), (kind, index)
        scan = read_scan(scan_cache_path(data_dir / "cache" / "scan", long["audio_sha256"].iloc[0], sr, 15.0))
        assert scan["hook_start_s"] == pytest.approx(hook, abs=1e-3) and scan["duration_s"] == pytest.approx(50, abs=0.01)
        tiny = clips[clips["title"] == "tiny"]
        assert tiny["short"].all() and (tiny.loc[tiny["clip_kind"] == "hook", "offset_s"] == 0).all()

        again = prepare_pass(cat, settings, jobs=1, show_progress=False)
        assert (again.ok, again.skipped, again.failed) == (0, 6, 0) and len(calls) == 4  # nothing decoded
        assert len(cat.clips()) == 24
        # a deleted clip file is cut again from one decode, under the same name, from the stored scan
        hook_file = data_dir / long.loc[("hook", 0), "path"]
        before = hook_file.read_bytes()
        hook_file.unlink()
        redo = prepare_pass(cat, settings, jobs=1, show_progress=False)
        assert redo.ok == 1 and len(calls) == 5 and hook_file.read_bytes() == before
