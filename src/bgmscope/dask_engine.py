"""Run the engine's map on a Dask cluster: an existing scheduler (``tcp://HOST:PORT``) or, without
an address, a LocalCluster of single-threaded worker processes on loopback.

Workers run :func:`bgmscope.tasks.call_item`, so an exception comes back as the item's one-line
failure exactly as with the local pool; a worker that dies is reported the same way. A bounded
number of tasks is in flight, so a map over millions of clips keeps the scheduler's memory flat.

Workers on other machines do not see this machine's files. Unless told the file system is shared,
each task is sent as a :class:`Parcel`: every absolute path in the item that names an existing
file travels as its bytes (so does a relative path naming a file inside one of the item's
folders), every one that names a directory becomes an empty folder on the worker, and what the worker writes there comes back as bytes, which this process writes
(atomically) where the item said. Paths in the result are mapped back the same way, so the stage
that reads the result sees its own paths and, as with the local pool, alone writes the catalog.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ParameterError
from .fsutil import atomic_write_bytes
from .tasks import bounded, call_item, one_line

_TOKEN = "@bgmscope-root-"  # a root's stand-in in a parcel: no client path reaches the worker


@dataclass
class Parcel:
    """One task for a worker that shares no files with the client.

    ``item`` has each client root replaced by ``<_TOKEN><k>``; ``files`` holds the bytes of the
    files it names, as ``(k, relative path)``; ``dirs`` the folders it names (``(k, relative)``).
    """

    item: Any
    files: dict[tuple[int, str], bytes] = field(default_factory=dict)
    dirs: list[tuple[int, str]] = field(default_factory=list)
    n_roots: int = 0


@dataclass
class Returned:
    """A parcel's answer: the result (roots as tokens) and the files the worker wrote."""

    result: Any
    error: str | None
    files: dict[tuple[int, str], bytes] = field(default_factory=dict)


# ----------------------------------------------------------------------------- walking values
def _strings(value: Any) -> Iterator[str]:
    """Every str inside a dataclass, tuple, list or dict (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with every str inside it (as :func:`_strings` finds them) replaced by ``fn(s)``."""
    if isinstance(value, str):
        return fn(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _map_strings(getattr(value, f.name), fn) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_map_strings(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _swap(s: str, old: list[str], new: list[str]) -> str:
    """``s`` with the first root of ``old`` it lies under replaced by the matching ``new`` one."""
    for o, n in zip(old, new, strict=True):
        if _under(s, o):
            return n + s[len(o):]
    return s


# ----------------------------------------------------------------------------- client side
def pack(item: Any) -> tuple[Parcel, list[str]]:
    """The parcel for ``item`` and its roots (client folders, by token number).

    A root is the folder of each named file or each named folder; a root inside another is
    merged into it, so the relative layout (e.g. clips under the data folder) survives.
    """
    files, dirs, relative = [], [], []
    for s in dict.fromkeys(_strings(item)):
        if _TOKEN in s or not s or "\0" in s or len(s) > 4096:
            continue
        if not os.path.isabs(s):
            relative.append(s)
        elif os.path.isfile(s):
            files.append(os.path.normpath(s))
        elif os.path.isdir(s):
            dirs.append(os.path.normpath(s))
    # a relative path naming a file inside one of the task's folders (a clip's catalog path under
    # the data folder) travels too: the worker joins it to its copy of that folder
    files += [os.path.normpath(os.path.join(d, r)) for r in relative for d in dirs
              if ".." not in Path(r).parts and os.path.isfile(os.path.join(d, r))]
    files = list(dict.fromkeys(files))
    candidates = sorted({os.path.dirname(f) for f in files} | set(dirs), key=len)
    roots: list[str] = []
    for c in candidates:
        if not any(_under(c, r) for r in roots):
            roots.append(c)
    tokens = [f"{_TOKEN}{k}" for k in range(len(roots))]
    parcel = Parcel(_map_strings(item, lambda s: _swap(s, roots, tokens) if os.path.isabs(s) else s),
                    n_roots=len(roots))
    for f in files:
        k = next(k for k, r in enumerate(roots) if _under(f, r))
        parcel.files[(k, os.path.relpath(f, roots[k]))] = Path(f).read_bytes()
    for d in dirs:
        k = next(k for k, r in enumerate(roots) if _under(d, r))
        parcel.dirs.append((k, os.path.relpath(d, roots[k])))
    return parcel, roots


def unpack(returned: Returned, roots: list[str]) -> tuple[Any, str | None]:
    """Write the files the worker made under the client's roots (atomically), then map the
    result's paths back: the stage writes its catalog rows after the files exist."""
    for (k, rel), data in returned.files.items():
        atomic_write_bytes(Path(roots[k]) / rel, data)
    tokens = [f"{_TOKEN}{k}" for k in range(len(roots))]
    return _map_strings(returned.result, lambda s: _swap(s, tokens, roots)), returned.error


# ----------------------------------------------------------------------------- worker side
def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def call_parcel(func: Callable, parcel: Parcel) -> Returned:
    """Worker: lay the parcel out in a private temp folder, run ``func`` on it, send back the
    result and every file it wrote or changed there; the folder is removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="bgmscope-task-"))
    try:
        locals_ = [str(tmp / str(k)) for k in range(parcel.n_roots)]
        for p in locals_:
            os.makedirs(p)
        for k, rel in parcel.dirs:
            os.makedirs(os.path.join(locals_[k], rel), exist_ok=True)
        for (k, rel), data in parcel.files.items():
            dest = Path(locals_[k]) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        before = _snapshot(tmp)
        tokens = [f"{_TOKEN}{k}" for k in range(parcel.n_roots)]
        item = _map_strings(parcel.item, lambda s: _swap(s, tokens, locals_))
        result, error = call_item(func, item)
        out = Returned(_map_strings(result, lambda s: _swap(s, locals_, tokens)), error)
        if error is None:
            for path, stamp in _snapshot(tmp).items():
                if before.get(path) != stamp:
                    k, *rel = Path(path).relative_to(tmp).parts
                    out.files[(int(k), os.path.join(*rel))] = Path(path).read_bytes()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- the session
class DaskSession:
    """One Dask client (and its LocalCluster when no address is given) for many maps."""

    def __init__(self, *, jobs: int, scheduler: str | None = None, ship: bool | None = None) -> None:
        self.jobs, self.scheduler = max(1, jobs), scheduler
        # a LocalCluster's workers run on this machine: they read the files where they are
        self.ship = bool(scheduler) if ship is None else ship
        self.client = self.cluster = None

    def open(self):
        if self.client is None:
            self.client, self.cluster = _client(self.jobs, self.scheduler)
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def workers(self) -> int:
        return max(1, len(self.open().scheduler_info().get("workers", {})) or self.jobs)


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


def dask_map(func: Callable, items: list, *, jobs: int, scheduler: str | None = None,
             session: DaskSession | None = None, ship: bool | None = None
             ) -> Iterator[tuple[Any, Any, str | None]]:
    """Yield ``(item, result, error)`` for every item, in completion order.

    ``session`` reuses an open client (``engine.use``); otherwise one is opened for this map.
    ``ship`` sends files as bytes (default: when ``scheduler`` names a cluster, see the module).
    """
    from distributed import wait

    from .warmup import warm_up

    own = session is None
    session = session or DaskSession(jobs=jobs, scheduler=scheduler, ship=ship)
    warm_up()  # LocalCluster workers share this machine's numba cache: fill it from one process
    client = session.open()
    try:
        client.run(warm_up)  # remote workers: each machine's first worker compiles, under its lock
        client.run(importlib.import_module, func.__module__)  # as the local pool's preload: imports before timing
        roots: dict[Any, list[str]] = {}
        name = getattr(func, "__name__", type(func).__name__)  # a functools.partial has none

        def submit(x):
            # keys named for the stage's function (prepare_song-<id>, align_batch-<id>): the dashboard
            # and the scheduler's task prefixes say which stage ran where
            key = f"{name}-{uuid.uuid4().hex}"
            if not session.ship:
                return client.submit(call_item, func, x, key=key)
            parcel, r = pack(x)
            fut = client.submit(call_parcel, func, parcel, key=key)
            roots[fut.key] = r
            return fut

        def first_done(futures):
            return wait(futures, return_when="FIRST_COMPLETED").done

        for item, fut in bounded(submit, items, window=session.workers() * 4, wait_any=first_done):
            try:
                if session.ship:
                    result, error = unpack(fut.result(), roots.pop(fut.key))
                else:
                    result, error = fut.result()
            except Exception as exc:  # the worker died, the task could not run or its files not be written
                result, error = None, one_line(f"worker failed: {type(exc).__name__}: {exc}")
            fut.release()
            yield item, result, error
    finally:
        if own:
            session.close()
