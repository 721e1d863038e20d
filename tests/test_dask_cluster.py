"""Every pooled stage on a real Dask cluster (``dask scheduler`` + two ``dask worker`` processes on
loopback, started from the command line), through ``bgmscope --scheduler tcp://…``: the tables
equal those of a local run. The workers are sent file bytes, never the client's paths."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import chord_song, write_audio
from typer.testing import CliRunner

from bgmscope.cli import app
from bgmscope.dask_engine import Parcel, call_parcel, pack, unpack
from bgmscope.prepare.cutter import PrepareTask, prepare_one

DASK = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))
needs_dask_cli = pytest.mark.skipif(not os.access(DASK, os.X_OK), reason="dask's command-line tools are absent")
SR = 16000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on random loopback ports; always torn down."""
    root = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "TMPDIR": str(root)}  # the workers' task folders live apart from the client's
    procs: list[subprocess.Popen] = []
    log = open(root / "dask.log", "w")  # noqa: SIM115 - closed in the finalizer
    try:
        procs.append(subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                      cwd=root))
        for i in range(2):
            procs.append(subprocess.Popen([DASK, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                           "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                                           str(root / f"w{i}")], stdout=log, stderr=subprocess.STDOUT,
                                          env=env, cwd=root))
        from distributed import Client

        deadline = time.monotonic() + 45
        while True:
            try:
                with Client(address, timeout="2s") as c:
                    if len(c.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                pytest.fail("the Dask cluster did not start:\n" + (root / "dask.log").read_text()[-3000:])
            time.sleep(0.5)
        yield address
    finally:
        _stop(procs)
        log.close()


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """Three distinct songs, a twin (same bytes, own Chinese name) and a gain-changed cut of one."""
    d = tmp_path_factory.mktemp("songs")
    ys = {f"song{i}": chord_song(i, 18.0) for i in range(3)}
    for name, y in ys.items():
        write_audio(d / f"{name}.wav", y, SR)
    shutil.copyfile(d / "song1.wav", d / "同一首歌.wav")
    cut = ys["song2"][3 * SR: 14 * SR] * 0.5
    write_audio(d / "song2 剪辑.wav", cut, SR)
    return d


def _run(data: Path, folder: Path, scheduler: str | None) -> dict[str, pd.DataFrame]:
    runner = CliRunner()
    base = ["--data-dir", str(data)]
    res = runner.invoke(app, [*base, "ingest", str(folder)])
    assert res.exit_code == 0, res.output
    remote = [*base, "--scheduler", scheduler] if scheduler else base
    for cmd in (["prepare", "--clip", "first", "--length", "8", "-j", "1"], ["features", "-j", "1"], ["transcribe", "-j", "1"], ["versions", "-j", "1"]):
        res = runner.invoke(app, [*remote, *cmd])
        assert res.exit_code == 0, f"{cmd}: {res.output}\n{res.exception!r}"
    from bgmscope.catalog import Catalog

    with Catalog(data / "catalog.duckdb", read_only=True) as cat:
        return {t: cat.read_frame(t) for t in ("clips", "features", "midi_songs", "midi_notes", "versions")}


@needs_dask_cli
def test_a_cluster_run_gives_the_local_run_s_tables(cluster, songs, tmp_path):
    local = _run(tmp_path / "local", songs, None)
    remote = _run(tmp_path / "remote", songs, cluster)
    # same clips (ids hash audio and parameters), each file written here by the client
    assert sorted(local["clips"]["clip_id"]) == sorted(remote["clips"]["clip_id"])
    assert len(remote["clips"]) == 4  # a folder run: byte-identical files are one song
    for rel in remote["clips"]["path"]:
        assert (tmp_path / "remote" / rel).is_file()
    # same descriptors, within float tolerance
    key = ["clip_id"]
    a, b = (df.sort_values(key).reset_index(drop=True) for df in (local["features"], remote["features"]))
    assert list(a["clip_id"]) == list(b["clip_id"]) and len(a) == len(local["clips"])
    num = [c for c in a.columns if c not in ("clip_id", "track_id", "clip_kind") and a[c].dtype.kind == "f"]
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), rtol=1e-5, atol=1e-6,
                               equal_nan=True)
    # same transcriptions; their MIDI and SSM files came back to the client's folders
    ma, mb = (df.sort_values("track_id").reset_index(drop=True) for df in (local["midi_songs"], remote["midi_songs"]))
    assert list(ma["track_id"]) == list(mb["track_id"])
    assert list(ma["n_notes"]) == list(mb["n_notes"])
    for p in mb["midi_path"]:
        assert str(p).startswith(str(tmp_path / "remote")) and Path(p).is_file()
    assert len(local["midi_notes"]) == len(remote["midi_notes"])
    # same version groups
    ga, gb = (sorted(map(sorted, df.groupby("group_id")["track_id"].apply(list))) for df in
              (local["versions"], remote["versions"]))
    assert ga == gb
    # every pooled stage ran on the cluster, the versions alignments included (they once ran on a
    # local pool whatever --scheduler said)
    from distributed import Client

    with Client(cluster, timeout="10s") as c:
        ran = set(c.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    assert {"prepare_one", "extract_task", "align_batch"} <= ran, sorted(ran)
    assert any(p.startswith("transcribe") for p in ran), sorted(ran)


def test_a_parcel_carries_bytes_not_the_client_s_paths(songs, tmp_path):
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    song = songs / "song0.wav"
    task = PrepareTask(str(song), "ab" * 32, "t1", 24.0, "first", 5.0, 0.0, SR, False,
                       str(data / "clips"), str(data))
    parcel, roots = pack(task)
    assert isinstance(parcel, Parcel) and song.read_bytes() in parcel.files.values()
    import pickle

    blob = pickle.dumps(parcel.item)
    assert str(songs).encode() not in blob and str(data).encode() not in blob
    returned = call_parcel(prepare_one, parcel)  # what a worker does, here in-process
    assert returned.error is None and len(returned.files) == 1
    rows, error = unpack(returned, roots)
    assert error is None
    assert rows == [{**r, "created_at": rows[i]["created_at"]} for i, r in enumerate(prepare_one(task))]
    assert (data / rows[0]["path"]).is_file()


@dataclass(frozen=True)
class ClipJob:  # as the report's song task: the data folder and a clip path relative to it
    data_dir: str
    path: str


def clip_size(job: ClipJob) -> dict:
    return {"bytes": (Path(job.data_dir) / job.path).stat().st_size, "where": job.data_dir}


def test_a_relative_path_inside_a_task_folder_travels_too(tmp_path):
    (tmp_path / "clips" / "ab").mkdir(parents=True)
    (tmp_path / "clips" / "ab" / "c.wav").write_bytes(b"x" * 123)
    parcel, roots = pack(ClipJob(str(tmp_path), "clips/ab/c.wav"))
    result, error = unpack(call_parcel(clip_size, parcel), roots)
    assert error is None and result == {"bytes": 123, "where": str(tmp_path)}


def test_a_worker_failure_in_a_parcel_comes_back_as_one_line(tmp_path):
    missing = tmp_path / "gone"
    missing.mkdir()
    task = PrepareTask(str(missing / "x.wav"), "cd" * 32, "t2", 24.0, "first", 5.0, 0.0, SR, False,
                       str(missing), str(missing))
    parcel, roots = pack(task)
    returned = call_parcel(prepare_one, parcel)
    result, error = unpack(returned, roots)
    assert result is None and error and "\n" not in error
