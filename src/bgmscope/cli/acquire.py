"""Chart commands: crawl, download, serve-chart.

Options are checked here, by click (choices, ranges), so a bad one exits 2 with one message. Exit
codes follow :func:`bgmscope.cli.common.finish`: 0 all done, 1 some songs failed or nothing was fetched,
2 bad usage (an unusable base URL, a port in use, a rejected token).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..acquire.client import DEFAULT_MAX_JSON_BYTES, ORDER_BY, WINDOWS
from ..acquire.download import DEFAULT_DEADLINE_S
from .common import finite

OrderBy = Literal[ORDER_BY]
Window = Literal[WINDOWS]


# numbers checked by the shared helper (NaN and inf refused, as 0 and negatives where they make no sense)
_positive = finite(0.0, above=True)
_at_least_zero = finite(0.0)
_fraction = finite(0.0, hi=1.0)


def _hosts(values: list[str] | None) -> list[str] | None:
    from ..acquire.hosts import parse_allow_host
    from ..errors import ParameterError

    for v in values or []:
        try:
            parse_allow_host(v)
        except ParameterError as exc:
            raise typer.BadParameter(str(exc)) from None
    return values


def _fault_kinds(value: str | None) -> str | None:
    """``--fault-kinds``: a comma list of the server's fault kinds (the same check as common.comma_choice)."""
    from .common import comma_choice

    def kinds() -> tuple[str, ...]:
        from ..acquire.server import FAULT_KINDS

        return FAULT_KINDS

    return comma_choice(kinds)(value)


BaseUrl = Annotated[str, typer.Option("--base-url", envvar="BGMSCOPE_CHART_URL",
                                      help="Chart API root (search and getPlayUrl live under it).")]
Config = Annotated[Path | None, typer.Option("--config", help="TOML with token, auth_header, headers "
                                             "(default ~/.config/bgmscope/chart.toml).")]
Header = Annotated[list[str] | None, typer.Option("--header", "-H", help="Extra header 'Name: value' (repeatable).")]
Rps = Annotated[float, typer.Option("--rps", callback=_at_least_zero, help="Polite rate limit, requests/s "
                                     "(0 = none).")]
Timeout = Annotated[float, typer.Option("--timeout", callback=_positive, help="Connect/read timeout (s), per read.")]
Retries = Annotated[int, typer.Option("--retries", min=1, help="Attempts per request.")]
AllowHost = Annotated[list[str] | None, typer.Option(
    "--allow-host", callback=_hosts, help="A host besides the API's own origin that play URLs and redirects "
    "may lead to: HOST (any port), HOST:PORT or *.DOMAIN (repeatable).")]
MaxJsonMb = Annotated[float, typer.Option("--max-json-mb", callback=_positive,
                                          help="Size cap of one JSON API reply (MiB).")]
DEFAULT_MAX_JSON_MB = DEFAULT_MAX_JSON_BYTES / 2**20


def register(app: typer.Typer) -> None:
    from .common import (
        console,
        finish,
        open_catalog,
        print_failures,
        settings_of,
        summary_table,
        working,
    )

    def make_client(base_url: str, config: Path | None, header: list[str] | None, rps: float, timeout: float,
                    retries: int, max_connections: int = 16, allow_host: list[str] | None = None,
                    max_json_mb: float = DEFAULT_MAX_JSON_MB):
        from ..acquire.auth import load_auth, parse_header_options
        from ..acquire.client import ChartClient, RetryPolicy

        auth = load_auth(config, headers=parse_header_options(header))
        return ChartClient(base_url, auth=auth, rps=rps, timeout_s=timeout,
                           retry=RetryPolicy(attempts=retries), max_connections=max_connections,
                           allow_hosts=allow_host or (), max_json_bytes=max(1, int(max_json_mb * 2**20)))

    @app.command()
    def crawl(
        ctx: typer.Context,
        base_url: BaseUrl,
        top: Annotated[int, typer.Option("--top", min=1, max=1_000_000, help="Songs to fetch.")] = 400,
        order_by: Annotated[OrderBy, typer.Option("--order-by", help=" | ".join(ORDER_BY))] = "user_count",
        window: Annotated[Window, typer.Option("--window", help=" | ".join(WINDOWS))] = "7d",
        keyword: Annotated[str, typer.Option("--keyword", help="Search keyword ('' = the whole chart).")] = "",
        page_size: Annotated[int, typer.Option("--page-size", min=1, max=500)] = 50,
        chart: Annotated[str | None, typer.Option("--chart", help="Chart name (default: the API host).")] = None,
        csv: Annotated[Path | None, typer.Option("--csv", dir_okay=False,
                                                 help="Where to write the chart CSV (the study's layout).")] = None,
        excel: Annotated[bool, typer.Option("--excel", help="Write the CSV with a BOM for Excel.")] = False,
        config: Config = None, header: Header = None, rps: Rps = 4.0, timeout: Timeout = 20.0,
        retries: Retries = 8, allow_host: AllowHost = None, max_json_mb: MaxJsonMb = DEFAULT_MAX_JSON_MB,
    ) -> None:
        """Crawl a hot-BGM chart API into the catalog (a snapshot per day) and export it as the study's CSV.

        The token comes from BGMSCOPE_CHART_TOKEN or the config file; it is never printed or stored.
        Exits 1 when a page or an item failed, or nothing was fetched.
        """
        from ..acquire.crawl import crawl as run_crawl
        from ..acquire.crawl import default_csv_path
        from ..acquire.logs import chart_log
        from ..catalog import now

        settings = settings_of(ctx)
        fetched_at = now()
        out = csv or default_csv_path(settings.export_dir, fetched_at, order_by, window)
        with make_client(base_url, config, header, rps, timeout, retries, allow_host=allow_host,
                         max_json_mb=max_json_mb) as client, \
                chart_log(settings.data_dir / "logs" / "chart.log", client.redact) as log_path, \
                open_catalog(ctx) as cat, working(f"crawl: {top} songs from {base_url}"):
            s = run_crawl(client, cat, top=top, page_size=page_size, order_by=order_by, window=window,
                          keyword=keyword, chart=chart, csv_path=out, excel=excel, fetched_at=fetched_at)
        console.print(summary_table("crawl", {"snapshot": s.snapshot_id, "pages": s.pages, "songs": s.kept,
                                               "duplicates": s.duplicates, "rejected": s.rejected,
                                               "complete": s.complete, "requests": s.requests}))
        print_failures(s.failures)
        console.print(f"catalog: {settings.catalog_path}\nCSV: {s.csv_path or '(nothing fetched)'}\nlog: {log_path}")
        finish(failed=len(s.failures), produced=s.kept, nothing="no songs fetched")

    @app.command()
    def download(
        ctx: typer.Context,
        base_url: Annotated[str | None, typer.Option("--base-url", envvar="BGMSCOPE_CHART_URL",
                                                     help="Chart API root (default: the one last crawled).")] = None,
        jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel downloads (threads).")] = 4,
        max_mb: Annotated[float, typer.Option("--max-mb", callback=_positive, help="Size cap per file (MiB).")] = 50.0,
        deadline: Annotated[float, typer.Option("--deadline", callback=_positive,
                                                help="Most seconds one file may take in all (lookup, "
                                                     "retries, transfer).")] = DEFAULT_DEADLINE_S,
        config: Config = None, header: Header = None, rps: Rps = 4.0, timeout: Timeout = 20.0,
        retries: Retries = 8, allow_host: AllowHost = None, max_json_mb: MaxJsonMb = DEFAULT_MAX_JSON_MB,
    ) -> None:
        """Download every chart song without audio (resumable; files named <music_id>.mp3).

        Exits 1 when a song failed (gone songs are not failures) or no song has audio.
        """
        from ..acquire.download import download as run_download
        from ..acquire.logs import chart_log
        from ..errors import ParameterError

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            url = base_url or _last_chart_url(cat)
            if not url:
                raise ParameterError("no chart URL: pass --base-url (or crawl first)")
            with make_client(url, config, header, rps, timeout, retries, max(16, jobs), allow_host=allow_host,
                             max_json_mb=max_json_mb) as client, \
                    chart_log(settings.data_dir / "logs" / "chart.log", client.redact) as log_path:
                s = run_download(cat, settings, client, jobs=jobs, max_mb=max_mb, deadline_s=deadline)
        console.print(summary_table("download", {"downloaded": s.downloaded, "resumed": s.resumed,
                                                  "already on disk": s.present, "already registered": s.had_audio,
                                                  "gone (歌曲不存在)": s.gone, "failed": s.failed,
                                                  "MiB received": f"{s.bytes / 2**20:.1f}", "requests": s.requests}))
        print_failures(s.failures)
        console.print(f"audio: {settings.audio_dir}\ncatalog: {settings.catalog_path}\nlog: {log_path}")
        finish(failed=s.failed, produced=s.downloaded + s.present + s.had_audio,
               nothing="no audio: no chart song to download (crawl first) or every song is gone")

    @app.command("serve-chart")
    def serve_chart_cmd(
        path: Annotated[Path, typer.Argument(help="A catalog (.duckdb), a chart CSV, or a folder with "
                                             "demo-chart.csv and audio/.")],
        port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                          help="Port on 127.0.0.1 (0 = any free port).")] = 8765,
        audio_dir: Annotated[Path | None, typer.Option("--audio-dir", help="Audio folder for a CSV.")] = None,
        faults: Annotated[float, typer.Option("--faults", callback=_fraction,
                                              help="Fault rate per request, 0..1.")] = 0.0,
        fault_kinds: Annotated[str | None, typer.Option("--fault-kinds", callback=_fault_kinds, help="Comma list of latency,429,5xx,"
                                                        "truncate,malformed,stall,cut (default all).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed of the fault plan.")] = 0,
        retry_after: Annotated[float, typer.Option("--retry-after", callback=_at_least_zero,
                                                   help="Retry-After a 429 sends (s).")] = 1.0,
        stall: Annotated[float, typer.Option("--stall", callback=_at_least_zero,
                                             help="Seconds a stalled body stays silent.")] = 30.0,
        throttle_kbps: Annotated[int | None, typer.Option("--throttle-kbps", min=1,
                                                          help="Audio KiB/s per connection.")] = None,
        require_token: Annotated[bool, typer.Option("--require-token", help="Require BGMSCOPE_CHART_TOKEN "
                                                    "in the authorization header.")] = False,
    ) -> None:
        """Serve a chart on 127.0.0.1 with the study's API shape (optionally with injected faults).

        A source with no chart song (e.g. a catalog of ingested MP3s only) exits 2 saying why.
        """
        from ..acquire.auth import ENV_TOKEN
        from ..acquire.server import serve_chart
        from ..errors import ParameterError

        token = os.environ.get(ENV_TOKEN) if require_token else None
        if require_token and not token:
            raise ParameterError(f"--require-token needs {ENV_TOKEN} set")
        kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip()) if fault_kinds else None
        srv = serve_chart(path, audio_dir=audio_dir, port=port, token=token, faults=faults, fault_kinds=kinds,
                          seed=seed, retry_after_s=retry_after, stall_s=stall,
                          throttle_bps=throttle_kbps * 1024 if throttle_kbps else None)
        with_audio = sum(s.audio is not None for s in srv.songs)
        console.print(f"serving {len(srv.songs)} songs ({with_audio} with audio) at {srv.base_url}"
                      f"{' (token required)' if token else ''}{f', faults {faults:g}' if faults else ''}"
                      " — Ctrl-C to stop", highlight=False)
        def _stop(*_: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)  # stop cleanly (and print the counts) on kill too
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            srv.stop()
            console.print(f"served {len(srv.requests)} requests; faults: {srv.plan.counts or 'none'}")


def _last_chart_url(cat) -> str | None:
    if not cat.has_table("tracks"):
        return None
    df = cat.query("SELECT source FROM tracks WHERE source LIKE 'http%' ORDER BY fetched_at DESC LIMIT 1")
    return None if df.empty else str(df["source"][0])
