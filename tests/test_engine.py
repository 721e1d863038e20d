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
    while len(parent.children(recursive=True)) < 3 and time.monotonic() < deadline:  # forkserver + 2
        time.sleep(0.2)
    family = parent.children(recursive=True)
    assert len(family) >= 3
    proc.send_signal(sig)
    assert proc.wait(timeout=30) != 0
    gone, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, f"workers left running: {alive}"
