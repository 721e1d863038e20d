"""The map over items (songs, clips) that every heavy stage runs: inline, on a local process
pool, or on a Dask cluster. Workers never touch the catalog; they return results to the caller,
which writes them. A worker's exception comes back as a one-line failure, never a crash.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .config import default_jobs
from .errors import ParameterError
from .tasks import Outcome, bounded, call_item, one_line
from .warmup import warm_up

T = TypeVar("T")
R = TypeVar("R")


def progress(console=None, transient: bool = False) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=transient)


ENGINES = ("local", "dask")


@dataclass
class _Choice:
    engine: str = "local"
    session: Any = None  # dask_engine.DaskSession while a `use("dask")` block is open


_choice = _Choice()


@contextmanager
def use(engine: str = "local", *, scheduler: str | None = None, jobs: int | None = None,
        shared_fs: bool = False) -> Iterator[None]:
    """Run every :func:`run_map` inside the block (every pooled stage) on ``engine``.

    ``engine='dask'`` opens one Dask client for the whole block: on the cluster at ``scheduler``
    (``tcp://HOST:PORT``) or, without one, a LocalCluster of ``jobs`` workers. Workers of a
    cluster are sent their input files as bytes and send back what they write (see
    :mod:`bgmscope.dask_engine`) unless ``shared_fs`` says they see this machine's paths.
    """
    global _choice
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if scheduler and engine != "dask":
        raise ParameterError("--scheduler needs --engine dask")
    if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise ParameterError(f"a Dask scheduler address looks like tcp://HOST:PORT, got {scheduler!r}")
    outer, session = _choice, None
    if engine == "dask":
        from .dask_engine import DaskSession

        session = DaskSession(jobs=jobs or default_jobs(), scheduler=scheduler,
                              ship=bool(scheduler) and not shared_fs)
        if scheduler:
            session.open()  # an unreachable address fails here, once, not in every stage
    _choice = _Choice(engine, session)
    try:
        yield
    finally:
        _choice = outer
        if session is not None:
            session.close()


def current_engine() -> str:
    """The engine a :func:`run_map` without ``engine=`` uses here: 'local' or 'dask'."""
    return _choice.engine


def run_map(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int | None = None,
    desc: str = "working",
    show_progress: bool = True,
    engine: str | None = None,
    scheduler: str | None = None,
    inline: bool | None = None,
) -> Iterator[Outcome[T, R]]:
    """Apply ``func`` to every item, yielding outcomes as they finish (order not kept).

    ``func`` must be a picklable top-level function. ``jobs=1`` runs inline (no pool).
    ``engine='dask'`` sends the map to a Dask scheduler (``scheduler`` address, else a LocalCluster);
    without ``engine`` the map runs where the enclosing :func:`use` block says (default: local).
    ``inline=False`` runs even one job or one item in a worker process, so that the calling
    thread's own work (the report's figures) runs beside it; None: inline when there is no gain.
    """
    items = list(items)
    jobs = jobs or default_jobs()
    session = None
    if engine is None:
        engine, session = _choice.engine, _choice.session
    with progress(transient=False) if show_progress else NullProgress() as bar:
        task = bar.add_task(desc, total=len(items))
        if engine == "dask" and items:
            from .dask_engine import dask_map

            source = dask_map(func, items, jobs=jobs, scheduler=scheduler, session=session)
        elif inline or (inline is None and (jobs <= 1 or len(items) <= 1)):
            source = ((item, *call_item(func, item)) for item in items)
        else:
            source = _pool_map(func, items, jobs)
        for item, result, error in source:
            bar.advance(task)
            yield Outcome(item, result, error)


def _first_done(futures):
    return wait(futures, return_when=FIRST_COMPLETED)[0]


def _death(exc: BaseException) -> str:
    """One line for a worker that died: the signal's name when a signal killed it."""
    code = getattr(exc, "exitcode", None)
    if isinstance(code, int) and code < 0:
        try:
            return f"worker died: killed by {signal.Signals(-code).name} (signal {-code})"
        except ValueError:
            return f"worker died: killed by signal {-code}"
    if isinstance(code, int):
        return f"worker died: exit code {code}"
    return one_line(f"worker failed: {type(exc).__name__}: {exc}")


_live_pools: set = set()


def _stop_live_pools() -> None:
    for pool in list(_live_pools):
        pool.stop()
        pool.join()
        _live_pools.discard(pool)


atexit.register(_stop_live_pools)  # Ctrl-C or an error: no worker outlives the process


def _on_terminate(signum, frame) -> None:
    # SIGTERM's default kills the process at once and leaves the workers running: stop them first
    _stop_live_pools()
    raise SystemExit(128 + signum)


def _on_interrupt(signum, frame) -> None:
    # Ctrl-C: stop the workers before the KeyboardInterrupt unwinds, so the pool's own clean-up
    # (wherever the interrupt lands in it) never waits for a running task to finish
    _stop_live_pools()
    raise KeyboardInterrupt


def _stop_pools_on_terminate() -> None:
    """Make SIGTERM and Ctrl-C stop the workers of live pools (any other exit does, through atexit)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_interrupt)


def _pool_map(func: Callable[[T], R], items: list[T], jobs: int) -> Iterator[tuple[T, Any, str | None]]:
    """A pebble pool: a worker killed by a signal (segfault, OOM killer) costs only the item it
    was running, which is reported with the signal's name; pebble starts a new worker and the
    rest go on. Leaving early (an error, Ctrl-C, SIGTERM) stops every worker."""
    from pebble import ProcessPool

    # numba's cache must be written by one process, before workers load it (see warmup.py)
    warm_up()
    # forkserver: workers start clean (no inherited DuckDB handle or threads), and cheaply.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([func.__module__])  # workers fork with the worker's imports done
    pool = ProcessPool(max_workers=jobs, context=ctx)
    _live_pools.add(pool)
    _stop_pools_on_terminate()
    try:
        # keep a bounded number of tasks in flight so memory stays flat on huge corpora
        for item, fut in bounded(lambda x: pool.schedule(call_item, args=(func, x)), items,
                                 window=jobs * 4, wait_any=_first_done):
            try:
                result, error = fut.result()
            except Exception as exc:  # pebble's ProcessExpired (a killed worker), an unpicklable result
                result, error = None, _death(exc)
            yield item, result, error
        pool.close()
    finally:
        pool.stop()  # after close() the workers are idle; on an early exit this terminates them
        pool.join()
        _live_pools.discard(pool)


class NullProgress:
    """A progress bar that shows nothing (show_progress=False)."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return None

    def add_task(self, *a, **k):
        return 0

    def advance(self, *a, **k):
        return None
