"""Atomic writes and content hashes: a killed run never leaves a half-written file under its final name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final: Path, suffix: str | None = None, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it over ``final`` only if the block succeeds.

    ``durable`` also fsyncs before the rename (survives power loss, not just a killed process);
    regenerable caches can skip it.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; the final file gets normal rights
        if durable:
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once: os.umask is process-wide, so no set/reset while threads write


def atomic_write_bytes(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(final: Path, text: str) -> None:
    atomic_write_bytes(final, text.encode("utf-8"))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def short_hash(*parts: object, n: int = 16) -> str:
    """A stable hash of parameters, for cache keys."""
    h = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:n]


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed run left behind; returns how many."""
    n = 0
    if folder.exists():
        for p in folder.rglob(".tmp-*"):
            p.unlink(missing_ok=True)
            n += 1
    return n
