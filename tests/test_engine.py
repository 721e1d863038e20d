"""The engine's pool: a worker killed by a signal costs one item, never the stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from bgmscope.engine import run_map


def die_on_three(i: int) -> int:
    if i == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    if i == 5:
        os.kill(os.getpid(), signal.SIGSEGV)  # as a crashing native library would
    if i == 7:
        raise ValueError("bad item")
    return i * i


def whose_pid(_: int) -> int:
    return os.getpid()


def test_inline_false_runs_even_one_job_in_a_worker_process():
    # the report draws its cards in one worker while its own thread draws the other figures
    assert {o.result for o in run_map(whose_pid, [0, 1], jobs=1, show_progress=False)} == {os.getpid()}
    away = [o.result for o in run_map(whose_pid, [0], jobs=1, show_progress=False, inline=False)]
    assert len(away) == 1 and away[0] != os.getpid()


def test_a_worker_runs_blas_and_openmp_on_one_thread():
    # a library's own threads beside the other workers spin: KMeans's OpenMP made a 13 s map take 388 s
    from openmp_item import thread_limits

    for o in run_map(thread_limits, [0, 1], jobs=2, show_progress=False):
        assert o.error is None and {"blas", "openmp"} <= set(o.result), o.result
        assert set(o.result.values()) == {1}, o.result


def test_a_library_imported_after_the_first_item_is_limited_too():
    # a fresh interpreter: scikit-learn (and its OpenMP runtime) loads only after the first limit
    code = textwrap.dedent("""
        from threadpoolctl import threadpool_info
        from bgmscope.tasks import single_threaded
        with single_threaded():
            pass
        import sklearn.cluster
        with single_threaded():
            print(sorted({i["user_api"]: i["num_threads"] for i in threadpool_info()}.items()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert out.returncode == 0, out.stderr
    assert "('openmp', 1)" in out.stdout and "('blas', 1)" in out.stdout, out.stdout


def test_a_killed_worker_costs_only_its_item():
    outcomes = {o.item: o for o in run_map(die_on_three, range(12), jobs=2, show_progress=False)}
    assert sorted(outcomes) == list(range(12))
    assert "SIGKILL" in outcomes[3].error and "SIGSEGV" in outcomes[5].error
    assert outcomes[7].error == "ValueError: bad item"
    assert {i: o.result for i, o in outcomes.items() if o.ok} == {i: i * i for i in range(12) if i not in (3, 5, 7)}


def test_the_next_map_after_a_broken_one_runs():
    list(run_map(die_on_three, [3, 5], jobs=2, show_progress=False))
    assert sorted(o.result for o in run_map(die_on_three, [1, 2, 4], jobs=2, show_progress=False)) == [1, 4, 16]


SLOW_MAP = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from bgmscope.engine import run_map
    from test_engine import sleepy
    print("started", flush=True)
    for o in run_map(sleepy, range(50), jobs=2, show_progress=False):
        pass
""")


def sleepy(i: int) -> int:
    time.sleep(30)
    return i


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_stops_the_workers(sig):
    code = SLOW_MAP.format(tests=os.path.dirname(__file__))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    def pool():  # the forkserver and its workers; multiprocessing's resource tracker is a child too
        out = []
        for p in parent.children(recursive=True):
            try:
                if "resource_tracker" not in " ".join(p.cmdline()):
                    out.append(p)
            except psutil.Error:  # gone between the listing and the look
                pass
        return out

    while len(pool()) < 3 and time.monotonic() < deadline:  # forkserver + 2 workers, both started
        time.sleep(0.2)
    family = parent.children(recursive=True)
    assert len(pool()) >= 3
    proc.send_signal(sig)
    assert proc.wait(timeout=30) != 0
    gone, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, f"workers left running: {alive}"


def test_use_checks_its_engine_and_address_before_any_work():
    from bgmscope.engine import current_engine, use
    from bgmscope.errors import ParameterError

    with pytest.raises(ParameterError, match="engine must be one of"):
        with use("spark"):
            pass
    with pytest.raises(ParameterError, match="needs --engine dask"):
        with use("local", scheduler="tcp://127.0.0.1:1"):
            pass
    with pytest.raises(ParameterError, match="tcp://HOST:PORT"):
        with use("dask", scheduler="127.0.0.1:8786"):
            pass
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        with use("dask", scheduler="tcp://127.0.0.1:1"):
            pass
    assert current_engine() == "local"  # a failed block leaves the choice as it was


def test_a_use_block_sends_maps_without_an_engine_to_it_and_restores_the_default(monkeypatch):
    import bgmscope.dask_engine as de
    from bgmscope import engine

    seen = []

    def fake_dask_map(func, items, *, jobs, scheduler=None, session=None):
        seen.append(session)
        for x in items:
            yield x, func(x), None

    monkeypatch.setattr(de, "dask_map", fake_dask_map)  # records where the map went; the cluster test runs Dask
    with engine.use("dask", jobs=1):
        assert engine.current_engine() == "dask"
        assert sorted(o.result for o in engine.run_map(abs, [-1, -2], show_progress=False)) == [1, 2]
        # an explicit engine still wins
        assert [o.result for o in engine.run_map(abs, [-3], engine="local", show_progress=False)] == [3]
    assert engine.current_engine() == "local"
    assert len(seen) == 1 and seen[0] is not None and seen[0].client is None  # never opened: nothing ran on it


def test_a_dask_map_takes_a_partial_and_names_its_tasks():
    """Task keys carry the mapped function's name (the scheduler tells the stages apart); a callable
    without one (functools.partial) still runs."""
    import functools

    from bgmscope import engine

    with engine.use("dask", jobs=1):
        got = sorted(o.result for o in run_map(functools.partial(pow, 2), [3, 4], show_progress=False))
        named = [o.result for o in run_map(whose_pid, [0], show_progress=False)]
        client = engine._choice.session.client
        prefixes = set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    assert got == [8, 16] and named[0] != os.getpid()
    assert {"partial", "whose_pid"} <= prefixes, prefixes
