"""What every command shares: the Typer app and its global options, the console, opening the
catalog, the exit-code contract and the option types (choices, ranges) checked at the boundary."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..catalog import Catalog
from ..config import Settings

app = typer.Typer(help="bgmscope: what makes a short-video background song a hit.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)  # progress and, under --json, every human-readable line

# choices checked by click at the boundary (tests keep them equal to the library's tuples)
ClipKind = Literal["first", "offset", "two", "hook"]
Lang = Literal["en", "zh"]
SR_MIN, SR_MAX = 8000, 192000

def _print_version(value: bool) -> None:
    if value:
        console.print(f"bgmscope {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="BGMSCOPE_DATA",
                                                  help="Where the catalog, clips and outputs live.")] = None,
    sample_rate: Annotated[int, typer.Option("--sr", min=SR_MIN, max=SR_MAX,
                                             help="Analysis sample rate (Hz).")] = 16000,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    scheduler: Annotated[str | None, typer.Option("--scheduler", envvar="BGMSCOPE_SCHEDULER",
                                                  help="Run every pooled stage on the Dask cluster at "
                                                       "tcp://HOST:PORT (docs/scale.md).")] = None,
    shared_fs: Annotated[bool, typer.Option("--shared-fs", help="The Dask workers see this machine's "
                                            "paths: send paths, not file bytes.")] = False,
) -> None:
    settings = Settings(sample_rate=sample_rate) if data_dir is None else \
        Settings(data_dir=data_dir, sample_rate=sample_rate)
    ctx.obj = settings
    if scheduler:
        from ..engine import use

        ctx.with_resource(use("dask", scheduler=scheduler, shared_fs=shared_fs))


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings()


def open_catalog(ctx: typer.Context, *, read_only: bool = False) -> Catalog:
    """The command's catalog. ``read_only`` commands create nothing and can run beside other readers."""
    s = settings_of(ctx)
    if read_only:
        return Catalog(s.catalog_path, read_only=True)
    return Catalog(s.ensure().catalog_path)


def jobs_option(help: str = "Worker processes.") -> typer.models.OptionInfo:
    """``--jobs/-j``, the same in every command: at least 1 (click refuses 0 and negatives)."""
    return typer.Option("--jobs", "-j", min=1, help=help)


def out_file_option(help: str, *aliases: str) -> typer.models.OptionInfo:
    """``--out FILE``, the same in every command: always a file (a folder is refused by click)."""
    return typer.Option("--out", *aliases, dir_okay=False, help=help)


def out_dir_option(help: str) -> typer.models.OptionInfo:
    """``--out-dir FOLDER``, the same in every command: always a folder (a file is refused by click)."""
    return typer.Option("--out-dir", file_okay=False, help=help)


def hidden_alias(name: str, **kwargs: object) -> typer.models.OptionInfo:
    """An old spelling kept working but not shown in ``--help`` (merge it with :func:`either`)."""
    return typer.Option(name, hidden=True, **kwargs)  # type: ignore[arg-type]


def either(new: object, old: object, default: object = None) -> object:
    """The value given under the new name, else under the hidden old one, else ``default``."""
    return new if new is not None else (old if old is not None else default)


def json_flag() -> typer.models.OptionInfo:
    return typer.Option("--json", help="Print the result as one JSON document on stdout (notes go to stderr).")


@contextmanager
def json_mode(enabled: bool) -> Iterator[None]:
    """While ``enabled``, everything the command prints goes to stderr: stdout carries only the JSON.

    A usage or environment error is printed there too (one line, exit 2), so stdout stays empty.
    """
    from rich.markup import escape

    from ..errors import BgmscopeError

    if not enabled:
        yield
        return
    before = console.stderr
    console.stderr = True
    try:
        yield
    except BgmscopeError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        console.stderr = before


def jsonable(obj: object) -> object:
    """Plain JSON values: DataFrames as lists of records, numpy scalars as numbers, NaN/inf as null."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records", force_ascii=False, date_format="iso"))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def emit_json(obj: object) -> None:
    """Write one JSON document (UTF-8, non-ASCII kept) and a newline to stdout."""
    text = json.dumps(jsonable(obj), ensure_ascii=False, allow_nan=False, indent=1) + "\n"
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
    else:
        out.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()


@contextmanager
def working(label: str) -> Iterator[None]:
    """A transient spinner with the elapsed time on stderr, for a library call with no per-step callback."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        progress.add_task(label, total=None)
        yield


def finite(lo: float | None = None, *, above: bool = False,
           hi: float | None = None) -> Callable[[float | None], float | None]:
    """A click callback refusing NaN, infinities, numbers below ``lo`` (or not ``above`` it) and above ``hi``.

    typer's ``min=`` cannot say "strictly above" and lets ``inf`` through; the wording matches its own.
    """

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"Input should be a finite number, got {value}")
        if lo is not None and (value <= lo if above else value < lo):
            raise typer.BadParameter(f"Input should be greater than {'' if above else 'or equal to '}{lo:g}")
        if hi is not None and value > hi:
            raise typer.BadParameter(f"Input should be less than or equal to {hi:g}")
        return value

    return check


def comma_choice(allowed: tuple[str, ...] | Callable[[], tuple[str, ...]]) -> Callable[[str | None], str | None]:
    """A click callback for a comma-separated subset of a closed set (``png,svg``): unknown items refused."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        choices = allowed() if callable(allowed) else allowed
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in choices]
        if bad or not items:
            raise typer.BadParameter(f"{', '.join(bad) or repr(value)} not in {', '.join(choices)}")
        return value

    return check


def print_failures(failures: list[tuple[str, str]], limit: int = 20) -> None:
    for item, reason in failures[:limit]:
        console.print(f"  [red]failed[/red] {item}: {reason}", highlight=False, markup=True)
    if len(failures) > limit:
        console.print(f"  … and {len(failures) - limit} more (see the catalog's failures table)")


# Exit codes, the same in every command (README "Exit codes"):
EXIT_OK = 0  # everything asked for was done
EXIT_PARTIAL = 1  # finished, but some items failed (the summary says which) or nothing was produced
EXIT_USAGE = 2  # bad usage or an unusable environment (data dir, busy or broken catalog)


def finish(*, failed: int = 0, produced: int | None = None, nothing: str = "nothing was produced") -> None:
    """End a command with the exit code its summary deserves.

    ``failed`` items make it exit 1; so does ``produced == 0`` (a stage that made nothing and had
    nothing cached is not a success), after printing ``nothing``. Otherwise it returns (exit 0).
    """
    if failed:
        raise typer.Exit(EXIT_PARTIAL)
    if produced == 0:
        console.print(f"[yellow]{nothing}[/yellow]", highlight=False)
        raise typer.Exit(EXIT_PARTIAL)


def summary_table(title: str, rows: dict[str, object]) -> Table:
    t = Table(title=title, show_header=False)
    for k, v in rows.items():
        t.add_row(k, str(v))
    return t
