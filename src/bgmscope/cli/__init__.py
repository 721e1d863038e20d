"""The ``bgmscope`` command line: each command parses, calls the library, prints where outputs went.

One module per command group, each with ``register(app)``; they are wired in below in ``--help``
order. ``common`` holds what they share (the app, the console, the exit codes, option types).
"""

from __future__ import annotations

from rich.markup import escape

from ..errors import BgmscopeError
from . import (
    acquire,
    cluster,
    core,
    features,
    genre,
    hits,
    midi,
    report,
    select,
    similar,
    tags,
    versions,
)
from .common import EXIT_USAGE, app, console

for _group in (core, acquire, features, select, cluster, genre, midi, hits, versions, tags, similar, report):
    _group.register(app)


def main() -> None:
    try:
        app()
    except BgmscopeError as exc:  # usage or environment (busy/broken catalog, bad data dir): one line
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_USAGE) from None
    except OSError as exc:  # the file system refused a write or read (full disk, not a folder, no permission)
        where = f": {exc.filename}" if exc.filename else ""
        console.print(f"[red]error:[/red] {escape((exc.strerror or str(exc)) + where)}", highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_USAGE) from None


__all__ = ["app", "main"]
