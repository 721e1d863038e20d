"""What every map over items shares, whichever executor runs it: the outcome of one item, the call
that turns a worker's exception into that item's one-line failure, and the bounded window of
tasks in flight (so a map over millions of clips keeps memory flat)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F")  # a future of any executor
_END = object()


@dataclass
class Outcome(Generic[T, R]):
    """One item's result, or its failure as one line."""

    item: T
    result: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def one_line(text: str, limit: int = 500) -> str:
    return " ".join(str(text).split())[:limit]


_POOLS: tuple[int, object] | None = None  # (len(sys.modules) when made, threadpoolctl controller)


def single_threaded():
    """A context limiting BLAS and OpenMP to one thread. A map runs one item per core; a library's
    own threads on the small work of one item only contend with the other workers and spin while
    they wait: OpenBLAS's were 28 % of the prepare stage's song pass (0.69 -> 0.49 s CPU per song),
    and scikit-learn's OpenMP threads in KMeans made the cluster null test's fits, mapped over two
    workers on two cores, take 388 s of wall time instead of 13.

    A controller knows only the libraries loaded when it was made (making one scans them, ~4.5 ms),
    so it is made again when modules were imported since: a library an item imported lazily is
    limited from the next item on."""
    global _POOLS
    if _POOLS is None or _POOLS[0] != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        _POOLS = (len(sys.modules), controller)
    return _POOLS[1].limit(limits=1)


# glibc's allocator hands arrays above its mmap threshold (128 KiB, adapting up to the size of
# the last freed one) fresh pages from the kernel and trims freed heap back to it; every new page
# then costs a fault on first touch. A clip's STFT makes ~15 MB of such arrays: on the dev VM
# 3,800 faults, ~8 ms of system CPU per 15 s clip (a third of the clip's CPU). Keeping freed
# memory in the heap (below these limits) makes the next item reuse the same pages.
MALLOC_MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum (HEAP_MAX_SIZE / 2 on 64-bit)
MALLOC_TRIM_THRESHOLD = 64 * 2**20  # at most this much free heap is kept by the process
_MALLOC_SET = False


def _dask_default_trim() -> bool:
    """Whether ``MALLOC_TRIM_THRESHOLD_`` is the value a Dask nanny sets in every worker it spawns
    (its ``pre-spawn-environ`` default; it also leaves it in ``os.environ`` of the process that
    started a LocalCluster), not one the user chose. Setting the variable also turns
    glibc's adaptive mmap threshold off, so under it a song pass took 1.6x the CPU in a Dask worker."""
    if "distributed" not in sys.modules:
        return False
    import os

    import dask

    dask_value = dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_", None)
    return (dask_value is not None and "MALLOC_MMAP_THRESHOLD_" not in os.environ
            and os.environ.get("MALLOC_TRIM_THRESHOLD_") == str(dask_value))


def keep_freed_memory() -> bool:
    """Once per process, tell glibc's allocator to keep freed arrays for reuse (mallopt's
    ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD``) unless the user set them in the environment
    (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``; a Dask nanny's own default is not the
    user's). Returns whether both took effect; a no-op (False) off glibc."""
    global _MALLOC_SET
    if _MALLOC_SET:
        return True
    import os

    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")) and not _dask_default_trim():
        _MALLOC_SET = True  # the user's choice stands
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-3, MALLOC_MMAP_THRESHOLD) == 1 and libc.mallopt(-1, MALLOC_TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):
        ok = False
    _MALLOC_SET = True
    return ok


def call_item(func: Callable[[T], R], item: T) -> tuple[R | None, str | None]:
    """``(func(item), None)``, or ``(None, "Type: message")`` when it raises: the run goes on.
    The item runs with BLAS and OpenMP on one thread (:func:`single_threaded`): parallelism is across
    items; and in a process that keeps freed arrays for the next item (:func:`keep_freed_memory`)."""
    keep_freed_memory()
    try:
        with single_threaded():
            return func(item), None
    except Exception as exc:  # reported as the item's failure
        return None, one_line(f"{type(exc).__name__}: {exc}")


def bounded(submit: Callable[[T], F], items: Iterable[T], *, window: int,
            wait_any: Callable[[Collection[F]], Iterable[F]],
            keep_going: Callable[[], bool] = lambda: True) -> Iterator[tuple[T, F]]:
    """Yield ``(item, future)`` as futures finish, with at most ``window`` submitted and unfinished.

    ``submit`` starts one item; ``wait_any`` blocks until at least one of the futures is done and
    returns the done ones; ``keep_going`` returning False stops new submissions (the running ones
    still finish and are yielded).
    """
    it = iter(items)
    pending: dict[Any, T] = {}

    def fill() -> None:
        while len(pending) < window and keep_going():
            item = next(it, _END)
            if item is _END:
                return
            pending[submit(item)] = item

    fill()
    while pending:
        for fut in wait_any(list(pending)):
            yield pending.pop(fut), fut
        fill()
