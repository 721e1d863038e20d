"""Run the engine's map on a Dask cluster: an existing scheduler (``tcp://HOST:PORT``) or, without
an address, a LocalCluster of single-threaded worker processes on loopback.

Workers run :func:`bgmscope.tasks.call_item`, so an exception comes back as the item's one-line
failure exactly as with the local pool; a worker that dies is reported the same way. A bounded
number of tasks is in flight, so a map over millions of clips keeps the scheduler's memory flat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ParameterError
from .tasks import bounded, call_item, one_line


def _client(jobs: int, scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # dask is an optional extra
        raise ParameterError("--engine dask needs Dask: pip install 'bgmscope[dask]'") from exc
    if scheduler:
        try:
            return Client(scheduler, timeout="15s"), None
        except OSError as exc:
            raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def dask_map(func: Callable, items: list, *, jobs: int, scheduler: str | None = None
             ) -> Iterator[tuple[Any, Any, str | None]]:
    """Yield ``(item, result, error)`` for every item, in completion order."""
    from distributed import wait

    from .warmup import warm_up

    warm_up()  # LocalCluster workers share this machine's numba cache: fill it from one process
    client, cluster = _client(jobs, scheduler)
    try:
        client.run(warm_up)  # remote workers: each machine's first worker compiles, under its lock
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)

        def first_done(futures):
            return wait(futures, return_when="FIRST_COMPLETED").done

        for item, fut in bounded(lambda x: client.submit(call_item, func, x, pure=False), items,
                                 window=n_workers * 4, wait_any=first_done):
            try:
                result, error = fut.result()
            except Exception as exc:  # the worker died or the task could not run
                result, error = None, one_line(f"worker failed: {type(exc).__name__}: {exc}")
            fut.release()
            yield item, result, error
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
