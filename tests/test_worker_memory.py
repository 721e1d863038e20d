"""Worker items keep freed arrays in glibc's heap for the next item (tasks.keep_freed_memory):
in every pool worker, in a Dask worker too, whose nanny sets MALLOC_TRIM_THRESHOLD_ (that also
turns glibc's adaptive mmap threshold off: a song pass took 1.6x the CPU there). A value the user
set stands."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the allocator setting is glibc's")

# page faults of a second set of twelve 2 MB arrays after the first set was freed: ~6,000 when
# the pages are fresh, few when the heap kept them (2 MB: numpy asks for huge pages from 4 MB on,
# which would hide the faults)
FAULTS = """
import resource
import numpy as np

def faults(_=None):
    a = [np.ones(250_000) for _ in range(12)]; del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = [np.ones(250_000) for _ in range(12)]; del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
"""


def _faults_after_an_item(trim: str | None) -> int:
    script = FAULTS + textwrap.dedent("""
        import distributed  # as in a Dask worker process
        from bgmscope.tasks import call_item
        result, error = call_item(faults, None)
        assert error is None, error
        print(result)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if trim is not None:
        env["MALLOC_TRIM_THRESHOLD_"] = trim
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_an_item_reuses_freed_pages_unless_the_user_set_the_allocator():
    import dask
    import distributed  # noqa: F401 - loads its config

    nanny = str(dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"))
    assert _faults_after_an_item(None) < 500
    assert _faults_after_an_item(nanny) < 500  # Dask's own default is overridden
    assert _faults_after_an_item(str(int(nanny) + 1)) > 3000  # the user's value stands: fresh pages


def test_a_dask_worker_item_reuses_freed_pages():
    import logging

    from distributed import Client, LocalCluster

    from bgmscope.tasks import call_item

    namespace: dict = {}
    exec(FAULTS, namespace)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(env.values()) != [None]  # the nanny set it, as the bare-faults check below shows
        bare = client.submit(namespace["faults"], pure=False).result()
        result, error = client.submit(call_item, namespace["faults"], None, pure=False).result()
    assert error is None and bare > 3000 and result < 500, (bare, result)
