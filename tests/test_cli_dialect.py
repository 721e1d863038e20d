"""The CLI speaks one dialect: the same option name for the same thing in every command, ``--out`` always a
file, ``--out-dir`` always a folder, ``--jobs`` at least 1, and ``--json`` printing one JSON document (and
nothing else) on stdout for the commands a script would read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, get_args, get_origin

import numpy as np
import pandas as pd
import pytest
from conftest import click_song, sine, write_audio
from typer.main import get_command
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli import app
from bgmscope.cli.common import EXIT_OK, EXIT_USAGE
from bgmscope.features.extract import extract_clip

SR = 16000
CLIP_S = 4.0
OLD_NAMES = ("--boot", "--kind", "--clip-kind", "--rate", "--to")


def _commands() -> list[tuple[str, object]]:
    """Every leaf command as ("genre train", command)."""
    found: list[tuple[str, object]] = []

    def walk(cmd, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), cmd))

    walk(get_command(app), [])
    return found


COMMANDS = _commands()
IDS = [name for name, _ in COMMANDS]


def _options(cmd) -> list:
    return [p for p in cmd.params if p.param_type_name == "option"]


def _annotation(opt) -> object:
    """The option's value type as declared (``X | None`` unwrapped)."""
    ann = opt.type_descriptor.annotation
    args = [a for a in get_args(ann) if a is not type(None)]
    return args[0] if get_origin(ann) is not Literal and len(args) == 1 else ann


def _info(opt):
    """typer's OptionInfo behind the parameter (dir_okay, file_okay, min, max, hidden)."""
    return opt.type_descriptor.parameter_info


def test_every_command_group_is_walked():
    names = set(IDS)
    assert {"tables", "describe", "select", "cluster", "hits", "versions", "similar", "crawl", "report",
            "genre train", "render"} <= names


def test_groups_live_in_modules_named_for_them():
    for name in ("cluster", "versions", "similar", "hits", "select"):
        cmd = dict(COMMANDS)[name]
        assert cmd.callback.__module__ == f"bgmscope.cli.{name}", name


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=IDS)
def test_old_spellings_are_never_shown(name: str, cmd):
    for opt in _options(cmd):
        if opt.hidden:
            continue
        assert not set(opt.opts) & set(OLD_NAMES), f"{name}: {opt.opts} shows an old spelling"
        assert opt.opts[0] not in OLD_NAMES


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=IDS)
def test_out_is_a_file_and_out_dir_a_folder(name: str, cmd):
    for opt in _options(cmd):
        if "--out" in opt.opts:
            assert _annotation(opt) is Path, f"{name} --out is not a path"
            assert _info(opt).dir_okay is False and _info(opt).file_okay, f"{name} --out accepts a folder"
        if "--out-dir" in opt.opts:
            assert _annotation(opt) is Path, f"{name} --out-dir is not a path"
            assert _info(opt).file_okay is False and _info(opt).dir_okay, f"{name} --out-dir accepts a file"


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=IDS)
def test_jobs_is_at_least_one_and_clip_a_choice(name: str, cmd):
    for opt in _options(cmd):
        if "--jobs" in opt.opts:
            assert _annotation(opt) is int and opt.min == 1, name
            assert "-j" in opt.opts, name
        if "--clip" in opt.opts:
            ann = _annotation(opt)
            assert get_origin(ann) is Literal, f"{name} --clip is not a choice"
            assert set(get_args(ann)) <= {"first", "offset", "two", "hook"}, name
        if "--bootstrap" in opt.opts:
            assert _annotation(opt) is int and opt.min == 0, name


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=IDS)
def test_seed_is_the_random_seed(name: str, cmd):
    for opt in _options(cmd):
        if "--seed" in opt.opts:
            assert _annotation(opt) is int, name
            assert "random seed" in (opt.help or "").lower(), f"{name} --seed: {opt.help!r}"


@pytest.mark.parametrize("name", ["tables", "describe", "similar", "hits", "cluster"])
def test_json_flag_on_the_commands_a_script_reads(name: str):
    cmd = dict(COMMANDS)[name]
    flags = [o for o in _options(cmd) if "--json" in o.opts]
    assert len(flags) == 1 and flags[0].is_flag, name


@pytest.mark.parametrize("argv", [
    ["export", "tracks", "--out", "{tmp}"],  # a folder given to --out
    ["plot", "pca", "--out-dir", "{tmp}/f.txt"],  # a file given to --out-dir
    ["plot", "pca", "--format", "png,gif"],
    ["serve-chart", "{tmp}", "--fault-kinds", "latency,bogus"],
    ["render", "x.mid", "--out", "{tmp}/x.wav", "--sr", "100"],
    ["describe", "x.wav", "--offset", "-1"],
    ["select", "--folds", "-1"],
    ["hits", "--bootstrap", "-1"],
    ["hits", "--boot", "-1"],  # the hidden alias is checked like the real name
    ["features", "--kind", "bogus"],
])
def test_bad_values_are_refused_with_exit_2(tmp_path: Path, argv: list[str]):
    (tmp_path / "f.txt").write_text("a file")
    data = tmp_path / "data"
    r = CliRunner().invoke(app, ["--data-dir", str(data), *(a.format(tmp=tmp_path) for a in argv)])
    assert r.exit_code == EXIT_USAGE, r.output
    assert "Invalid value for" in r.output
    assert not data.exists()


# -- --json: one document on stdout, from the real commands -------------------------------------


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> Path:
    """A catalog of 16 chart songs with described first clips (titles in Chinese)."""
    d = tmp_path_factory.mktemp("dialect")
    rng = np.random.default_rng(1)
    rows, tracks = [], []
    for i in range(16):
        bpm, pitch = rng.uniform(70, 170), rng.uniform(200, 600)
        v = extract_clip(click_song(bpm, pitch, i, CLIP_S), SR)
        rows.append({"clip_id": f"c{i}", "track_id": f"t{i}", "clip_kind": "first", "clip_index": 0, **v})
        tracks.append({"track_id": f"t{i}", "music_id": f"t{i}", "title": f"歌曲{i}",
                       "user_count": int(1000 + 50 * bpm + rng.integers(0, 500)), "user_incr": int(rng.integers(1, 99)),
                       "rank": i + 1, "chart": "test", "source": "test", "is_demo": False})
    with Catalog(d / "catalog.duckdb") as cat:
        cat.upsert_frame("tracks", pd.DataFrame(tracks))
        cat.write_frame("features", pd.DataFrame(rows))
    return d


def _json(chart: Path, *argv: str) -> object:
    r = CliRunner().invoke(app, ["--data-dir", str(chart), *argv])
    assert r.exit_code == EXIT_OK, (r.stdout, r.stderr)
    return json.loads(r.stdout)  # stdout is the document and nothing else


def test_tables_json(chart: Path):
    doc = _json(chart, "tables", "--json")
    assert doc["tables"]["tracks"] == 16 and doc["tables"]["features"] == 16
    assert doc["catalog"].endswith("catalog.duckdb")


def test_describe_json(tmp_path: Path, chart: Path):
    song = write_audio(tmp_path / "一首歌.wav", 0.5 * sine(440, 4, SR), SR)
    out = tmp_path / "v.json"
    doc = _json(chart, "describe", str(song), "--json", "--out", str(out))
    assert doc["file"].endswith("一首歌.wav")
    assert doc["descriptors"]["f0_median_hz"] == pytest.approx(440, rel=0.01)
    assert json.loads(out.read_text(encoding="utf-8")).keys() == doc["descriptors"].keys()


def test_similar_json(chart: Path):
    doc = _json(chart, "similar", "歌曲3", "-k", "3", "--all-features", "--json")
    assert len(doc["neighbours"]) == 3 and doc["metric"] == "euclidean"
    assert all(n["track_id"] != "t3" and n["title"].startswith("歌曲") for n in doc["neighbours"])


def test_hits_json(chart: Path):
    doc = _json(chart, "hits", "--bootstrap", "50", "--json", "-j", "1")
    assert doc["songs"] == 16 and doc["clip_kind"] == "first"
    corr = doc["tables"]["hits_correlations"]
    assert corr and {"target", "feature", "rho", "q"} <= corr[0].keys()


def test_cluster_json(chart: Path):
    doc = _json(chart, "cluster", "--k-min", "2", "--k-max", "3", "--stability-seeds", "1", "--bootstrap", "2",
                "--features", "all", "--json")
    assert doc["chosen_k"] in (2, 3) and doc["summary"]["songs"] == 16
    assert {r["k"] for r in doc["sweep"]} == {2, 3}
    assert doc["descriptions"] and "description_en" in doc["descriptions"][0]


def test_human_output_still_ends_with_where_the_outputs_went(chart: Path):
    r = CliRunner().invoke(app, ["--data-dir", str(chart), "hits", "--bootstrap", "50", "-j", "1"])
    assert r.exit_code == EXIT_OK, r.output
    assert "tables: hits_" in r.stdout and r.stdout.rstrip().endswith("catalog.duckdb")  # (the line may wrap)
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)


def test_json_error_goes_to_stderr_and_leaves_stdout_empty(chart: Path):
    r = CliRunner().invoke(app, ["--data-dir", str(chart), "similar", "no such song", "--json"])
    assert r.exit_code == EXIT_USAGE
    assert r.stdout == "" and "no song" in r.stderr

