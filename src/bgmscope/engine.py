"""The map over items (songs, clips) that every heavy stage runs: inline, on a local process
pool, or on a Dask cluster. Workers never touch the catalog; they return results to the caller,
which writes them. A worker's exception comes back as a one-line failure, never a crash.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .config import default_jobs

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Outcome(Generic[T, R]):
    item: T
    result: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(func: Callable[[T], R], item: T) -> tuple[R | None, str | None]:
    try:
        return func(item), None
    except Exception as exc:  # reported as the item's failure, the run goes on
        return None, " ".join(f"{type(exc).__name__}: {exc}".split())[:500]


def progress(console=None, transient: bool = False) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=transient)


def run_map(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int | None = None,
    desc: str = "working",
    show_progress: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[Outcome[T, R]]:
    """Apply ``func`` to every item, yielding outcomes as they finish (order not kept).

    ``func`` must be a picklable top-level function. ``jobs=1`` runs inline (no pool).
    ``engine='dask'`` sends the map to a Dask scheduler (``scheduler`` address, else a LocalCluster).
    """
    items = list(items)
    jobs = jobs or default_jobs()
    with progress(transient=False) if show_progress else NullProgress() as bar:
        task = bar.add_task(desc, total=len(items))
        if engine == "dask":
            from .dask_engine import dask_map

            source = dask_map(func, items, jobs=jobs, scheduler=scheduler)
        elif jobs <= 1 or len(items) <= 1:
            source = ((item, *_call(func, item)) for item in items)
        else:
            source = _pool_map(func, items, jobs)
        for item, result, error in source:
            bar.advance(task)
            yield Outcome(item, result, error)


def _pool_map(func: Callable[[T], R], items: list[T], jobs: int) -> Iterator[tuple[T, Any, str | None]]:
    # forkserver: workers start clean (no inherited DuckDB handle or threads), and cheaply.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([func.__module__])  # workers fork with the worker's imports done
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        pending = {}
        it = iter(items)
        # keep a bounded number of tasks in flight so memory stays flat on huge corpora
        for item in it:
            pending[pool.submit(_call, func, item)] = item
            if len(pending) >= jobs * 4:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                try:
                    result, error = fut.result()
                except Exception as exc:  # the worker died (e.g. killed by the OS)
                    result, error = None, f"worker failed: {type(exc).__name__}: {exc}"
                yield item, result, error
                nxt = next(it, None)
                if nxt is not None:
                    pending[pool.submit(_call, func, nxt)] = nxt


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
