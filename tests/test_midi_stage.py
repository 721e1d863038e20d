"""The transcribe stage on a real catalog: songs rendered from known MIDI, ingested as WAV files."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pretty_midi
import pytest
from conftest import write_audio
from rich.console import Console

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.context import PipelineContext
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.midi.evaluate import note_scores, reference_notes
from bgmscope.midi.melody import Note
from bgmscope.midi.songs import transcribe_catalog
from bgmscope.midi.training import compose_from_catalog
from bgmscope.prepare.ingest import ingest
from bgmscope.scores import drum_part
from bgmscope.synth import render_midi

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
TEMPI = (100, 120, 132, 110)


def song(seed: int, tempo: float) -> pretty_midi.PrettyMIDI:
    rng = random.Random(seed)
    a = [rng.choice(SCALE) for _ in range(8)]
    b = [rng.choice(SCALE) for _ in range(8)]
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    lead = pretty_midi.Instrument(program=[0, 73, 81, 71][seed % 4], name="lead")
    spb = 60 / tempo
    for i, p in enumerate(a + b + a + b):
        lead.notes.append(pretty_midi.Note(96, p, i * spb, (i + 0.9) * spb))
    pm.instruments.append(lead)
    pm.instruments.append(drum_part("backbeat", 32, spb, 4.0))
    return pm


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("midi-stage")
    for i, tempo in enumerate(TEMPI):
        y = render_midi(song(i, tempo), sr=16000, stereo=False)
        write_audio(root / "songs" / f"歌{i}.wav", y, 16000)
    write_audio(root / "songs" / "blip.wav", np.zeros(800, np.float32), 16000)  # decodes, too short
    settings = Settings(data_dir=root / "data")
    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([root / "songs"], cat)
    return root


def test_transcribe_catalog_writes_tables_files_and_goes_on_after_a_bad_song(catalog_dir: Path) -> None:
    settings = Settings(data_dir=catalog_dir / "data")
    with Catalog(settings.catalog_path) as cat:
        s = transcribe_catalog(cat, settings, jobs=1, show_progress=False)
        assert (s.ok, s.failed) == (4, 1)
        assert "too short" in s.failures[0][1]
        assert not cat.failures(s.run_id).empty
        songs = cat.read_frame("midi_songs")
        notes = cat.read_frame("midi_notes")
        f1s: list[float] = []
        assert len(songs) == 4 and set(notes["track_id"]) == set(songs["track_id"])
        for r in songs.itertuples():
            assert Path(r.midi_path).is_file()
            S = np.load(r.ssm_chroma_path)
            assert S.shape[0] == S.shape[1] == r.n_beats
            i = int(Path(r.audio_path).stem[1:])
            got = notes[notes["track_id"] == r.track_id]
            est = [Note(a, b, int(p), 90) for a, b, p in got[["start_s", "end_s", "pitch"]].itertuples(index=False)]
            f1s.append(note_scores(reference_notes(song(i, TEMPI[i]), instruments=[0]), est)["f1_on"])
            assert r.repetition_pitch >= 0.3  # A-B-A-B: the first half comes back
        print("melody-in-mix onset F1 per song:", np.round(f1s, 3))
        assert min(f1s) >= 0.7  # the melody over drums, from the stored notes
        tempi = sorted(songs["tempo_bpm"].round())
        assert all(abs(t - e) <= 2 for t, e in zip(tempi, (100, 110, 120, 132), strict=True))
        again = transcribe_catalog(cat, settings, jobs=1, show_progress=False)
        assert again.skipped == 4 and again.ok == 0  # unchanged songs are not redone
        assert len(cat.read_frame("midi_notes")) == len(notes)


def test_compose_from_chart_and_from_a_cluster(catalog_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=catalog_dir / "data")
    with Catalog(settings.catalog_path) as cat:
        if cat.read_frame("midi_songs").empty:
            transcribe_catalog(cat, settings, jobs=1, show_progress=False)
        with pytest.raises(CatalogError, match="cluster"):
            compose_from_catalog(cat, settings, seed=1, cluster="top")
        r = compose_from_catalog(cat, settings, seed=1, out=tmp_path / "a.mid", n_bars=4)
        assert r.source == "chart" and r.midi_path.is_file() and r.audio_path.is_file()
        ids = sorted(cat.read_frame("midi_songs")["track_id"])
        cat.write_frame("cluster_assignments", pd.DataFrame(
            {"clip_id": ids, "track_id": ids, "kmeans": [0, 0, 0, 1]}))
        r2 = compose_from_catalog(cat, settings, seed=1, cluster="top", out=tmp_path / "b.mid", n_bars=4,
                                  audio_format=None)
        assert r2.source.startswith("cluster 0") and r2.n_songs == 3 and r2.audio_path is None
        log = cat.read_frame("midi_compositions")
        assert list(log["source"].str[:7]) == ["chart", "cluster"]


def test_stage_runs_and_cli_commands(catalog_dir: Path, tmp_path: Path) -> None:
    from bgmscope.midi.stage import run_stage

    settings = Settings(data_dir=catalog_dir / "data")
    with Catalog(settings.catalog_path) as cat:
        ctx = PipelineContext(cat, settings, 1, Console(file=open("/dev/null", "w")))
        out = run_stage(ctx)
    assert out["songs"] == 4 and "composed_from" in out and ctx.outputs["composition"].is_file()
    assert out["audio"] == "4 first-45s"  # no hook clips in this catalog: the first 45 s of each song
    # a rerun redoes no song and keeps the composition: its log gains no row, so the report's
    # inputs are unchanged; a removed composition file is made again
    with Catalog(settings.catalog_path) as cat:
        ctx = PipelineContext(cat, settings, 1, Console(file=open("/dev/null", "w")))
        n_log = len(cat.read_frame("midi_compositions"))
        again = run_stage(ctx)
        assert again["audio"] == "none redone" and again["composed_from"] == out["composed_from"]
        assert len(cat.read_frame("midi_compositions")) == n_log and ctx.outputs["composition"].is_file()
        ctx.outputs["composition"].unlink()
        run_stage(ctx)
        assert len(cat.read_frame("midi_compositions")) == n_log + 1 and ctx.outputs["composition"].is_file()
    exe = [sys.executable, "-m", "bgmscope", "--data-dir", str(settings.data_dir)]
    res = subprocess.run([*exe, "compose", "--seed", "3", "--bars", "4", "--out", str(tmp_path / "c.mid"),
                          "--audio", "wav"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "c.mid").is_file() and (tmp_path / "c.wav").is_file()
    res = subprocess.run([*exe, "transcribe", "--file", str(tmp_path / "c.wav"), "--out", str(tmp_path / "t.mid")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(pretty_midi.PrettyMIDI(str(tmp_path / "t.mid")).instruments[0].notes) > 20
    res = subprocess.run([*exe, "render", str(tmp_path / "nope.mid"), "--out", str(tmp_path / "n.wav")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "not found" in res.stdout


def test_reference_midi_scores_the_transcription(catalog_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=catalog_dir / "data")
    with Catalog(settings.catalog_path) as cat:
        audio = cat.audio_files()
        row = audio[audio["path"].str.endswith("歌1.wav")].iloc[0]
        if len(cat.read_frame("midi_songs")) < 4:  # the module's first test ran on another xdist worker
            transcribe_catalog(cat, settings, jobs=1, show_progress=False)
        song(1, TEMPI[1]).write(str(tmp_path / f"{row.track_id}.mid"))
        s = transcribe_catalog(cat, settings, track_ids=[row.track_id], jobs=1, show_progress=False,
                               reference_dir=tmp_path, reference_tempi={row.track_id: TEMPI[1]})
        assert s.ok == 1
        songs = cat.read_frame("midi_songs").set_index("track_id")
        r = songs.loc[row.track_id]
        assert r.ref_f1_on >= 0.7 and r.ref_tempo_bpm == TEMPI[1]
        assert r.ref_repetition_pitch >= 0.45  # A-B-A-B in the source MIDI
        assert len(songs) == 4  # the other songs keep their rows


def long_song(seed: int, tempo: float) -> pretty_midi.PrettyMIDI:
    """A 48-beat song: a quiet, low intro (16 beats), then a loud A-B-A-B tune over drums."""
    rng = random.Random(100 + seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    lead = pretty_midi.Instrument(program=0, name="lead")
    spb = 60 / tempo
    intro = [rng.choice(SCALE) - 12 for _ in range(16)]
    a = [rng.choice(SCALE) + 12 for _ in range(8)]
    b = [rng.choice(SCALE) + 12 for _ in range(8)]
    for i, p in enumerate(intro + a + b + a + b):
        lead.notes.append(pretty_midi.Note(40 if i < 16 else 110, p, i * spb, (i + 0.9) * spb))
    pm.instruments.append(lead)
    drums = drum_part("backbeat", 32, spb, 4.0)
    for n in drums.notes:
        n.start += 16 * spb
        n.end += 16 * spb
    pm.instruments.append(drums)
    return pm


def test_the_stage_transcribes_the_hook_clip_and_falls_back_to_the_first_seconds(tmp_path: Path) -> None:
    from bgmscope.prepare.clips import prepare

    tempi = (120, 128)
    for i, tempo in enumerate(tempi):
        write_audio(tmp_path / "songs" / f"long{i}.wav", render_midi(long_song(i, tempo), sr=16000, stereo=False),
                    16000)
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure()
    refs = tmp_path / "refs"
    refs.mkdir()
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "songs"], cat)
        audio = cat.audio_files()
        ids = {int(Path(p).stem[4:]): t for p, t in zip(audio["path"], audio["track_id"], strict=True)}
        for i, t in ids.items():
            long_song(i, tempi[i]).write(str(refs / f"{t}.mid"))
        # no hook clips yet: the first max_seconds
        s0 = transcribe_catalog(cat, settings, jobs=1, show_progress=False, max_seconds=60.0, reference_dir=refs)
        assert s0.ok == 2
        first = cat.read_frame("midi_songs").set_index("track_id")
        assert set(first["audio_kind"]) == {"first-60s"} and (first["audio_offset_s"] == 0).all()
        assert first["seconds"].min() > 20
        # hook clips for song 0 only (the other engineer's prepare stage cuts them for every song)
        prepare(cat, settings, kind="hook", show_progress=False)
        hooks = cat.clips("hook")
        assert len(hooks) == 2
        keep = hooks[hooks["track_id"] == ids[0]]
        print("hook offsets:", list(hooks["offset_s"]), "durations:", list(hooks["duration_s"]))
        assert float(keep["offset_s"].iloc[0]) >= 2.0  # the hook is not the start: the clock shift matters
        cat.con.execute("DELETE FROM clips WHERE clip_kind = 'hook' AND track_id = ?", [ids[1]])
        s1 = transcribe_catalog(cat, settings, jobs=1, show_progress=False, max_seconds=60.0, reference_dir=refs)
        assert (s1.ok, s1.skipped) == (1, 1)  # song 1 has no hook clip: its first-60s row is kept
        assert s1.audio_kinds == {"hook": 1} and s0.audio_kinds == {"first-60s": 2}
        rows = cat.read_frame("midi_songs").set_index("track_id")
        hook = rows.loc[ids[0]]
        assert hook.audio_kind == "hook" and hook.audio_offset_s == pytest.approx(float(keep["offset_s"].iloc[0]))
        assert hook.audio_path == str(settings.data_dir / keep["path"].iloc[0])
        assert hook.seconds == pytest.approx(float(keep["duration_s"].iloc[0]), abs=0.05) and hook.seconds <= 15.05
        assert hook.cache_key != first.loc[ids[0], "cache_key"]
        assert rows.loc[ids[1]].audio_kind == "first-60s"
        # the reference is scored on the clip's clock: the lead's notes from the clip offset on
        assert hook.ref_f1_on >= 0.7, hook.ref_f1_on
        notes = cat.read_frame("midi_notes")
        got = notes[notes["track_id"] == ids[0]]
        assert got["end_s"].max() <= hook.seconds + 0.05
        # 'first' ignores the hook clips
        s2 = transcribe_catalog(cat, settings, jobs=1, show_progress=False, max_seconds=60.0, audio="first",
                                reference_dir=refs)
        assert s2.ok == 1 and s2.skipped == 1
        assert set(cat.read_frame("midi_songs")["audio_kind"]) == {"first-60s"}
        with pytest.raises(ParameterError, match="audio"):
            transcribe_catalog(cat, settings, audio="middle", show_progress=False)
    # the command: --audio auto (the default) reads song 0's hook clip again, first the first 60 s
    exe = [sys.executable, "-m", "bgmscope", "--data-dir", str(settings.data_dir), "transcribe", "-j", "1"]
    res = subprocess.run(exe, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "1 hook" in res.stdout, res.stdout + res.stderr
    res = subprocess.run([*exe, "--audio", "first"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "1 first-60s" in res.stdout, res.stdout + res.stderr
    res = subprocess.run([*exe, "--audio", "middle"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
