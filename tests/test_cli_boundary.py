"""The CLI boundary: busy or broken environments give one line and exit 2, bad parameters are refused
by click (exit 2), and commands whose items failed exit 1 (README "Exit codes")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import get_args

import pandas as pd
import pytest
from conftest import sine, write_audio
from typer.main import get_command
from typer.testing import CliRunner

from bgmscope.catalog import Catalog
from bgmscope.cli.common import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, ClipKind, app
from bgmscope.midi.songs import TranscribeSummary
from bgmscope.report.builder import ReportResult

BIN = Path(sys.executable).with_name("bgmscope")
BUSY = "another bgmscope command is using"


def bgmscope(*args: object) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process, as a user runs it (errors go through main())."""
    cmd = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "bgmscope"]
    env = {**os.environ, "COLUMNS": "80"}
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def lines(r: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]


def assert_one_line(r: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    out = lines(r)
    assert r.returncode == code, out
    assert len(out) == 1 and text in out[0] and "Traceback" not in r.stderr, out


@contextmanager
def holding(catalog: Path, *, read_only: bool = False) -> Iterator[None]:
    """Another process with the catalog open (a write lock, or a shared read lock) until the block ends."""
    code = ("import sys; from bgmscope.catalog import Catalog; "
            "c = Catalog(sys.argv[1], read_only=sys.argv[2] == '1'); print('ready', flush=True); sys.stdin.read()")
    p = subprocess.Popen([sys.executable, "-c", code, str(catalog), "1" if read_only else "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        yield
    finally:
        assert p.stdin is not None
        p.stdin.close()
        p.wait(timeout=60)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    with Catalog(d / "catalog.duckdb") as cat:
        cat.upsert_frame("tracks", pd.DataFrame({"track_id": ["1", "2"], "title": ["=cmd|' /C calc'!A0", "学猫叫"],
                                                 "author": ["@x", "-剪辑"], "user_count": [-5, 12]}))
    return d


# -- defect 7: a busy data dir --------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["tables"], ["export", "tracks", "--out", "{tmp}/t.csv"], ["ingest", "{tmp}"],
                                  ["prepare", "-j", "1"]], ids=["tables", "export", "ingest", "prepare"])
def test_busy_data_dir_is_one_line_and_exit_2(catalog_dir: Path, tmp_path: Path, argv: list[str]):
    with holding(catalog_dir / "catalog.duckdb"):
        r = bgmscope("--data-dir", catalog_dir, *(a.format(tmp=tmp_path) for a in argv))
    assert_one_line(r, EXIT_USAGE, f"{BUSY} {catalog_dir}; wait or use another --data-dir")


def test_read_only_commands_run_beside_a_reader(catalog_dir: Path, tmp_path: Path):
    with holding(catalog_dir / "catalog.duckdb", read_only=True):
        assert bgmscope("--data-dir", catalog_dir, "tables").returncode == EXIT_OK
        r = bgmscope("--data-dir", catalog_dir, "export", "tracks", "--out", tmp_path / "t.parquet")
        assert r.returncode == EXIT_OK, r.stderr
        # a writer still has to wait for the reader
        assert_one_line(bgmscope("--data-dir", catalog_dir, "ingest", tmp_path / "t.parquet"), EXIT_USAGE, BUSY)


@pytest.mark.parametrize("argv", [["tables"], ["export", "tracks", "--out", "{tmp}/t.csv"]], ids=["tables", "export"])
def test_read_only_command_on_a_new_data_dir_creates_nothing(tmp_path: Path, argv: list[str]):
    fresh = tmp_path / "fresh"
    r = bgmscope("--data-dir", fresh, *(a.format(tmp=tmp_path) for a in argv))
    assert_one_line(r, EXIT_USAGE, "no catalog yet")
    assert not fresh.exists()


# -- defect 8: unusable data dirs and a garbage catalog -----------------------------------------

def _bad_dirs(tmp: Path) -> dict[str, Path]:
    (tmp / "a-file").write_text("not a folder")
    return {"proc": Path("/proc/x"), "regular file": tmp / "a-file", "under a file": Path("/dev/null/x")}


@pytest.mark.parametrize("kind", ["proc", "regular file", "under a file"])
@pytest.mark.parametrize("argv", [["ingest", "{tmp}"], ["prepare"], ["tables"]], ids=["ingest", "prepare", "tables"])
def test_unusable_data_dir_is_one_line_and_exit_2(tmp_path: Path, kind: str, argv: list[str]):
    bad = _bad_dirs(tmp_path)[kind]
    r = bgmscope("--data-dir", bad, *(a.format(tmp=tmp_path) for a in argv))
    assert_one_line(r, EXIT_USAGE, str(bad))


@pytest.mark.parametrize("argv", [["tables"], ["ingest", "{tmp}/none"], ["export", "tracks", "--out", "{tmp}/t.csv"]],
                         ids=["tables", "ingest", "export"])
def test_garbage_catalog_is_one_line_and_exit_2(tmp_path: Path, argv: list[str]):
    d = tmp_path / "data"
    d.mkdir()
    (d / "catalog.duckdb").write_bytes(os.urandom(64 * 1024))
    r = bgmscope("--data-dir", d, *(a.format(tmp=tmp_path) for a in argv))
    assert_one_line(r, EXIT_USAGE, "is not a DuckDB database")


# -- defect 9: CSV export neutralises formulas; Parquet keeps the data -------------------------

def test_export_csv_neutralises_formulas_and_parquet_keeps_raw(catalog_dir: Path, tmp_path: Path):
    run = CliRunner()
    r = run.invoke(app, ["--data-dir", str(catalog_dir), "export", "tracks", "--out", str(tmp_path / "t.csv")])
    assert r.exit_code == EXIT_OK, r.output
    csv = pd.read_csv(tmp_path / "t.csv", encoding="utf-8").sort_values("user_count")  # rows in any order
    assert csv["title"].tolist() == ["'=cmd|' /C calc'!A0", "学猫叫"]
    assert csv["author"].tolist() == ["'@x", "'-剪辑"] and csv["user_count"].tolist() == [-5, 12]
    r = run.invoke(app, ["--data-dir", str(catalog_dir), "export", "tracks", "--out", str(tmp_path / "t.parquet")])
    assert r.exit_code == EXIT_OK, r.output
    pq = pd.read_parquet(tmp_path / "t.parquet").sort_values("user_count")
    assert pq["title"].tolist() == ["=cmd|' /C calc'!A0", "学猫叫"] and pq["author"].tolist() == ["@x", "-剪辑"]


# -- defect 10: parameters refused at the boundary, honest exit codes -----------------------------

@pytest.mark.parametrize("argv", [
    ["prepare", "--length", "nan"], ["prepare", "--length", "inf"], ["prepare", "--length", "0"],
    ["prepare", "--offset", "-1"], ["prepare", "--offset", "nan"], ["--sr", "0", "prepare"], ["--sr", "-1", "tables"],
    ["prepare", "--clip", "bogus"], ["prepare", "--jobs", "0"], ["prepare", "-j", "-3"],
    ["features", "--engine", "spark"], ["features", "--clip", "bogus"], ["cluster", "--lang", "fr"],
    ["report", "--lang", "fr"], ["hits", "--model", "lasso"], ["genre", "train", "x", "--model", "lstm"],
    ["export", "tracks", "--out", "{tmp}/t.xlsx"], ["export", "tracks", "--out", "{tmp}"],
])
def test_bad_parameters_are_refused_by_click_with_exit_2(tmp_path: Path, argv: list[str]):
    data = tmp_path / "data"
    r = CliRunner().invoke(app, ["--data-dir", str(data), *(a.format(tmp=tmp_path) for a in argv)])
    assert r.exit_code == EXIT_USAGE, r.output
    assert "Invalid value for" in r.output
    assert not data.exists()  # refused before anything was touched


def _jobs_commands() -> list[list[str]]:
    """Every command path that has a --jobs option, with placeholder values for its arguments."""
    found: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])
        if any("--jobs" in getattr(p, "opts", ()) for p in cmd.params):
            args = ["x" for p in cmd.params if p.param_type_name == "argument" and p.required]
            found.append([*path, *args])

    walk(get_command(app), [])
    return found


@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("argv", _jobs_commands(), ids=" ".join)
def test_jobs_below_one_is_refused_everywhere(tmp_path: Path, argv: list[str], value: str):
    data = tmp_path / "data"
    r = CliRunner().invoke(app, ["--data-dir", str(data), *argv, "--jobs", value])
    assert r.exit_code == EXIT_USAGE, r.output
    assert "Invalid value for '--jobs'" in r.output
    assert not data.exists()


def test_export_to_a_missing_folder_fails_and_creates_nothing(catalog_dir: Path, tmp_path: Path):
    target = tmp_path / "nonexistent" / "dir" / "x.csv"
    r = CliRunner().invoke(app, ["--data-dir", str(catalog_dir), "export", "tracks", "--out", str(target)])
    assert r.exit_code == EXIT_USAGE and "does not exist" in r.output, r.output
    assert not (tmp_path / "nonexistent").exists()


def test_ingest_of_a_missing_path_exits_1(tmp_path: Path):
    r = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), "ingest", str(tmp_path / "nonexistent")])
    assert r.exit_code == EXIT_PARTIAL, r.output
    assert "failed" in r.output and "nonexistent" in r.output


def test_prepare_exits_1_when_a_song_fails_and_when_nothing_is_there(tmp_path: Path):
    data = tmp_path / "data"
    run = CliRunner()
    r = run.invoke(app, ["--data-dir", str(data), "prepare", "-j", "1"])
    assert r.exit_code == EXIT_PARTIAL and "no clips" in r.output, r.output
    songs = tmp_path / "songs"
    write_audio(songs / "good.wav", sine(440, 3), 16000)
    bad = write_audio(songs / "bad.wav", sine(550, 3), 16000)
    assert run.invoke(app, ["--data-dir", str(data), "ingest", str(songs)]).exit_code == EXIT_OK
    bad.write_bytes(b"RIFF but not audio any more")  # ingested fine, unreadable by the time prepare runs
    r = run.invoke(app, ["--data-dir", str(data), "prepare", "-j", "1", "--length", "2"])
    assert r.exit_code == EXIT_PARTIAL and "bad.wav" in r.output, r.output
    r = run.invoke(app, ["--data-dir", str(data), "prepare", "-j", "1", "--length", "2", "--clip", "first"])
    assert r.exit_code == EXIT_PARTIAL  # the bad song is still missing its clip


FAILED = [("song-9", "boom")]


@pytest.mark.parametrize("argv, target, result", [
    (["features", "-j", "1", "--no-export"], "bgmscope.features.stage.run_features",
     SimpleNamespace(computed=1, cached=0, failed=1, rows=1, failures=FAILED, parquet=None)),
    (["transcribe", "-j", "1"], "bgmscope.midi.songs.transcribe_catalog",
     TranscribeSummary(ok=1, failed=1, skipped=0, notes=3, failures=FAILED, out_dir="x", backend="salience")),
    (["versions", "-j", "1"], "bgmscope.versions.stage.scan_songs",
     SimpleNamespace(songs=2, cached=0, failed=1, groups=0, edits=0, candidates=0, group_checks=0, failures=FAILED,
                     versions=pd.DataFrame({"group_size": []}))),
    (["genre", "predict", "-j", "1"], "bgmscope.genre.predict.predict_catalog",
     SimpleNamespace(kind="svm", n_ok=1, failures=FAILED, model_path="m", summary=pd.DataFrame())),
    (["report", "-j", "1"], "bgmscope.report.build_report",
     # the real result type (its defaults fill fields the command prints), so the stand-in cannot drift
     ReportResult(html=Path("h"), markdown=Path("m"), figures_dir=Path("f"), sections=["a"], omitted=[], songs=2,
                  cards=1, failed=FAILED, seconds=0.1)),
])
def test_stages_with_failed_items_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                         target: str, result: SimpleNamespace):
    monkeypatch.setattr(target, lambda *a, **k: result)
    r = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), *argv])
    assert r.exit_code == EXIT_PARTIAL, r.output
    assert "song-9" in r.output  # the summary says which


def test_clip_kind_choices_are_the_library_kinds():
    from bgmscope.prepare.plan import CLIP_KINDS

    assert get_args(ClipKind) == CLIP_KINDS


def test_readme_documents_the_exit_codes():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in (EXIT_OK, EXIT_PARTIAL, EXIT_USAGE):
        assert f"| {code} " in section


def test_an_output_the_file_system_refuses_is_one_line_and_exit_2(tmp_path: Path):
    """Writing under a path whose parent is a file: the OS error and the path as the last line, no traceback."""
    song = write_audio(tmp_path / "a.wav", sine(440.0, 3.0), 16000)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = bgmscope("describe", song, "--out", blocker / "v.json")
    out = lines(r)
    assert r.returncode == EXIT_USAGE and "Traceback" not in r.stderr, out
    assert out[-1].startswith("error: Not a directory") and str(blocker) in out[-1], out
    assert blocker.read_text() == "x"
