"""The pretrained models inside the transcribe and describe commands: Basic Pitch for --poly, CREPE for
--f0 crepe, the DSP fallbacks, and the backend each run records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from conftest import write_audio
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli.common import app
from bgmscope.config import Settings
from bgmscope.midi.backends import f0_contour_of, models_available, poly_notes, resolve_poly
from bgmscope.prepare.ingest import ingest
from bgmscope.synth import render_midi

SR = 22050
CHORDS = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]  # C Am F G, one per second


def chords_midi() -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for i, chord in enumerate(CHORDS):
        for p in chord:
            piano.notes.append(pretty_midi.Note(90, p, i * 1.0, i * 1.0 + 0.9))
    pm.instruments.append(piano)
    return pm


FLUTE = [72, 74, 76, 77, 79, 77, 76, 74]


def flute_midi() -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    fl = pretty_midi.Instrument(program=73)
    for i, p in enumerate(FLUTE):
        fl.notes.append(pretty_midi.Note(100, p, i * 0.5, i * 0.5 + 0.45))
    pm.instruments.append(fl)
    return pm


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models-int")
    return {
        "chords": write_audio(root / "chords.wav", render_midi(chords_midi(), sr=SR, stereo=False), SR),
        "flute": write_audio(root / "flute.wav", render_midi(flute_midi(), sr=SR, stereo=False), SR),
        "silent": write_audio(root / "silent.wav", np.zeros(2 * SR, np.float32), SR),
        "short": write_audio(root / "short.wav",
                             (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR // 2) / SR)).astype(np.float32), SR),
    }


def _cli(tmp_path: Path, *argv: str):
    return CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *argv])


def _pcs_per_second(pm: pretty_midi.PrettyMIDI) -> list[set[int]]:
    out = []
    for i in range(len(CHORDS)):
        out.append({n.pitch % 12 for inst in pm.instruments for n in inst.notes
                    if n.start < i + 0.6 and n.end > i + 0.3})
    return out


def test_poly_with_basic_pitch_finds_the_chords_and_says_so(files, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("basic_pitch")
    assert resolve_poly("auto") == "basic-pitch"
    target = tmp_path / "bp.mid"
    r = _cli(tmp_path, "transcribe", "--file", str(files["chords"]), "--poly", "--out", str(target))
    assert r.exit_code == 0, r.output
    assert "basic-pitch" in r.output
    got = _pcs_per_second(pretty_midi.PrettyMIDI(str(target)))
    for chord, pcs in zip(CHORDS, got, strict=True):
        assert {p % 12 for p in chord} <= pcs, (chord, pcs)
        assert len(pcs - {p % 12 for p in chord}) <= 1, (chord, pcs)


def test_poly_backend_dsp_runs_the_old_path(files, tmp_path: Path) -> None:
    target = tmp_path / "dsp.mid"
    r = _cli(tmp_path, "transcribe", "--file", str(files["chords"]), "--poly", "--poly-backend", "dsp",
             "--out", str(target))
    assert r.exit_code == 0, r.output
    assert "dsp" in r.output and "basic-pitch" not in r.output
    assert pretty_midi.PrettyMIDI(str(target)).instruments[0].notes
    notes, used = poly_notes(*_load(files["chords"]), "dsp")
    assert used == "dsp" and notes


def _load(path: Path):
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32")
    return y, sr


def test_catalog_rows_record_the_backend(files, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([files["chords"]], cat)
    r = _cli(tmp_path, "transcribe", "--poly", "--poly-backend", "dsp", "--jobs", "1")
    assert r.exit_code == 0, r.output
    with Catalog(settings.catalog_path) as cat:
        rows = cat.read_frame("midi_songs")
    assert list(rows["backend"]) == ["dsp"]
    r = _cli(tmp_path, "transcribe", "--jobs", "1")  # the default melody path
    assert r.exit_code == 0, r.output
    with Catalog(settings.catalog_path) as cat:
        assert list(cat.read_frame("midi_songs")["backend"]) == ["salience"]
    if models_available(basic_pitch=True):
        r = _cli(tmp_path, "transcribe", "--poly", "--jobs", "1")
        assert r.exit_code == 0, r.output
        with Catalog(settings.catalog_path) as cat:
            rows = cat.read_frame("midi_songs")
        assert list(rows["backend"]) == ["basic-pitch"] and rows["n_notes"].iloc[0] >= 10


def test_f0_crepe_transcribes_a_flute_line(files, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    y, sr = _load(files["flute"])
    c = f0_contour_of(y, sr, "crepe")
    assert c is not None and c.voiced.mean() > 0.5
    target = tmp_path / "fl.mid"
    r = _cli(tmp_path, "transcribe", "--file", str(files["flute"]), "--solo", "--f0", "crepe", "--out", str(target))
    assert r.exit_code == 0, r.output
    assert "crepe" in r.output
    notes = pretty_midi.PrettyMIDI(str(target)).instruments[0].notes
    assert [n.pitch for n in notes if n.end - n.start > 0.15] == FLUTE, notes  # CREPE hears the reverb tail too


def test_describe_with_crepe(files, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import json

    r = _cli(tmp_path, "describe", str(files["flute"]), "--f0", "crepe", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["f0_backend"] == "crepe"
    assert 520 < d["descriptors"]["f0_median_hz"] < 790  # C5..G5


@pytest.mark.parametrize("clip", ["silent", "short"])
def test_models_on_silent_and_short_clips(files, tmp_path: Path, clip: str) -> None:
    pytest.importorskip("onnxruntime")
    for argv in (["--poly"], ["--poly", "--poly-backend", "dsp"], ["--solo", "--f0", "crepe"], []):
        r = _cli(tmp_path, "transcribe", "--file", str(files[clip]), *argv, "--out", str(tmp_path / f"{clip}.mid"))
        assert r.exit_code == 0, (argv, r.output)
    r = _cli(tmp_path, "describe", str(files[clip]), "--f0", "crepe", "--json")
    assert r.exit_code == 0, r.output


def test_crepe_without_the_extra_is_a_usage_error(files, tmp_path: Path) -> None:
    # onnxruntime made unimportable in a fresh interpreter (sys.modules[name] = None blocks an import)
    code = ("import sys; sys.modules['onnxruntime'] = None; sys.modules['basic_pitch'] = None\n"
            "from bgmscope.cli.common import app\n"
            "sys.argv = ['bgmscope', '--data-dir', sys.argv[1], *sys.argv[2:]]\n"
            "app()")
    base = [sys.executable, "-c", code, str(tmp_path / "data")]
    for argv in (["transcribe", "--file", str(files["flute"]), "--solo", "--f0", "crepe"],
                 ["describe", str(files["flute"]), "--f0", "crepe"],
                 ["transcribe", "--file", str(files["chords"]), "--poly", "--poly-backend", "basic-pitch"]):
        res = subprocess.run([*base, *argv], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, (argv, res.stdout, res.stderr)
        assert "bgmscope[models]" in res.stdout + res.stderr
    # auto falls back to the DSP transcriber and says so
    res = subprocess.run([*base, "transcribe", "--file", str(files["chords"]), "--poly",
                          "--out", str(tmp_path / "fb.mid")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "dsp" in res.stdout
