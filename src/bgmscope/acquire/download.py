"""Download chart songs: resolve the play URL, stream to ``<music_id>.mp3.part``, verify, rename.

Files are named from the validated music_id only (titles are untrusted and stay in the catalog).
A partial download lives under ``<music_id>.mp3.part`` (its ETag or Last-Modified beside it in
``.part.validator``) and is resumed with an HTTP Range + If-Range request when the server allows
it (206), else restarted; the final name appears only after the body is
complete (Content-Length / Content-Range), matches the server's sha256 ETag when it sends one,
stays under the size cap and decodes — then it is fsynced and renamed atomically. A song whose
play URL is empty is *gone* (the seed's '歌曲不存在'): it gets an ``audio_files`` row with
status 'gone' (path = where the file would be) and is asked for again on the next run.

Each file has a total deadline (``deadline_s``, over the play URL lookup, every attempt and the
waits between them): a server that drips a byte at a time cannot hold a worker for ever. A file
past its deadline is that song's failure; its ``.part`` stays, to be resumed on the next run.
"""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

from ..catalog import Catalog, now
from ..config import Settings
from ..engine import NullProgress, progress
from ..errors import BgmscopeError, ParameterError
from ..fsutil import sha256_file
from ..tasks import bounded
from .client import (
    AuthError,
    ChartClient,
    ChartError,
    DeadlineExceeded,
    RangeNotSatisfiable,
    TooLarge,
    TransientError,
)
from .models import MUSIC_ID_PATTERN

PART_SUFFIX = ".part"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_ID = re.compile(MUSIC_ID_PATTERN)
DEFAULT_DEADLINE_S = 120.0  # a 50 MB file at ~420 KiB/s; real chart MP3s are 1-5 MB


@dataclass
class DownloadSummary:
    downloaded: int = 0      # fetched in this run
    present: int = 0         # already on disk under the final name (registered, not fetched)
    had_audio: int = 0       # already registered with status ok: not looked at
    gone: int = 0            # the chart has no play URL
    failed: int = 0
    resumed: int = 0         # downloads that continued a partial file
    bytes: int = 0           # body bytes received in this run
    registered: int = 0      # files registered in audio_files
    requests: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class FetchResult:
    music_id: str
    status: str              # downloaded | present | gone
    path: Path
    bytes: int = 0
    resumed_from: int = 0


def audio_paths(audio_dir: Path, music_id: str) -> tuple[Path, Path]:
    """(final, partial) paths of a song; refuses ids that are not plain tokens."""
    if not _ID.match(music_id or ""):
        raise ParameterError(f"not a usable music_id for a file name: {music_id!r}")
    final = Path(audio_dir) / f"{music_id}.mp3"
    return final, final.with_name(final.name + PART_SUFFIX)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    m = _CONTENT_RANGE.match((value or "").strip())
    if not m:
        return None
    return int(m[1]), int(m[2]), None if m[3] == "*" else int(m[3])


def fetch_song(client: ChartClient, music_id: str, audio_dir: Path, *, max_bytes: int,
               verify_decode: bool = True, deadline_s: float | None = DEFAULT_DEADLINE_S) -> FetchResult:
    """Download one song to ``audio_dir/<music_id>.mp3`` (runs in a worker thread).

    Raises :class:`DeadlineExceeded` when it takes more than ``deadline_s`` seconds in all (None = no
    deadline); the partial file is kept under its ``.part`` name only.
    """
    final, _ = audio_paths(audio_dir, music_id)
    if final.exists():
        final.with_name(final.name + PART_SUFFIX + ".validator").unlink(missing_ok=True)  # a kill's leftover
        return FetchResult(music_id, "present", final)
    deadline = time.monotonic() + deadline_s if deadline_s else None
    try:
        return _fetch(client, music_id, audio_dir, max_bytes=max_bytes, verify_decode=verify_decode,
                      deadline=deadline)
    except (TransientError, httpx.TransportError, DeadlineExceeded) as exc:
        # a timeout clipped by the deadline, or retries cut short by it: name the real cause
        if deadline is None or time.monotonic() < deadline:
            raise
        raise DeadlineExceeded(f"not finished within the {deadline_s:g} s deadline per file (--deadline); "
                               f"the partial file is kept to resume") from exc


def _fetch(client: ChartClient, music_id: str, audio_dir: Path, *, max_bytes: int, verify_decode: bool,
           deadline: float | None) -> FetchResult:
    final, part = audio_paths(audio_dir, music_id)
    url = client.play_url(music_id, deadline=deadline)
    if url is None:
        return FetchResult(music_id, "gone", final)
    final.parent.mkdir(parents=True, exist_ok=True)
    validator = part.with_name(part.name + ".validator")  # the ETag/Last-Modified the part came with
    resumed_from = 0  # the first offset a Range request continued from (a kill or a cut body)
    received = 0

    def attempt() -> None:
        nonlocal received, resumed_from
        have = part.stat().st_size if part.exists() else 0
        headers = {"accept-encoding": "identity"}  # Range offsets must be raw file offsets
        if have:
            headers["range"] = f"bytes={have}-"
            if validator.exists():  # only continue the same file: a changed one comes back whole (200)
                headers["if-range"] = validator.read_text("utf-8").strip()
        try:
            with client.stream(url, headers, deadline=deadline) as r:
                if have and r.status_code == 206:
                    cr = parse_content_range(r.headers.get("content-range"))
                    if cr is None or cr[0] != have:
                        part.unlink(missing_ok=True)
                        raise TransientError(f"server resumed at the wrong offset ({r.headers.get('content-range')})")
                    total, mode = cr[2], "ab"
                    resumed_from = resumed_from or have
                else:  # 200: the whole body (the server ignored or refused the range)
                    have, mode = 0, "wb"
                    cl = r.headers.get("content-length")
                    total = int(cl) if cl and cl.isdigit() else None
                    strong = r.headers.get("etag", "")
                    strong = strong if strong and not strong.startswith("W/") else r.headers.get("last-modified")
                    if strong:
                        validator.write_text(strong, "utf-8")
                    else:
                        validator.unlink(missing_ok=True)
                if total is not None and total > max_bytes:
                    raise TooLarge(f"file is {total} bytes, over the {max_bytes}-byte cap")
                etag = r.headers.get("etag", "").removeprefix("W/").strip('"').lower()
                size = have
                with open(part, mode) as fh:
                    for chunk in r.iter_raw():  # as received: a sized chunker would drop a partial tail
                        client.check_deadline(deadline, f"audio {music_id}")
                        size += len(chunk)
                        received += len(chunk)
                        if size > max_bytes:
                            raise TooLarge(f"body passed the {max_bytes}-byte cap")
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
        except RangeNotSatisfiable:
            part.unlink(missing_ok=True)
            validator.unlink(missing_ok=True)
            raise
        if total is not None and size != total:
            raise TransientError(f"short body: {size} of {total} bytes")
        if _SHA256.match(etag):
            digest = sha256_file(part)
            if digest != etag:
                part.unlink(missing_ok=True)  # corrupt: start over on the next attempt
                raise TransientError("body does not match the server's sha256 ETag")

    try:
        client.call(f"audio {music_id}", attempt, deadline=deadline)
    except TooLarge:
        part.unlink(missing_ok=True)
        validator.unlink(missing_ok=True)
        raise
    if verify_decode:
        from ..audio.decode import probe

        try:
            probe(part)
        except BgmscopeError as exc:
            part.unlink(missing_ok=True)
            validator.unlink(missing_ok=True)
            raise ChartError(f"downloaded file does not decode: {exc}") from None
    os.replace(part, final)
    validator.unlink(missing_ok=True)
    _fsync_dir(final.parent)
    return FetchResult(music_id, "downloaded", final, received, resumed_from)




def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pending_songs(catalog: Catalog, music_ids: list[str] | None = None) -> tuple[list[str], int]:
    """Chart songs (tracks with a music_id) that have no registered, existing audio; and how many do."""
    tracks = catalog.tracks()
    if tracks.empty:
        return [], 0
    ids = [m for m in tracks["music_id"].dropna().astype(str) if m]
    if music_ids is not None:
        wanted = set(music_ids)
        ids = [m for m in ids if m in wanted]
    have = set()
    files = catalog.audio_files(status="ok")
    if not files.empty:
        have = {t for t, p in zip(files["track_id"], files["path"], strict=True) if t and Path(p).exists()}
    todo = [m for m in dict.fromkeys(ids) if m not in have]
    return todo, len(set(ids)) - len(todo)


def download(catalog: Catalog, settings: Settings, client: ChartClient, *, jobs: int = 4,
             max_mb: float = 50.0, music_ids: list[str] | None = None, verify_decode: bool = True,
             show_progress: bool = True, deadline_s: float = DEFAULT_DEADLINE_S) -> DownloadSummary:
    """Download every chart song without audio into ``settings.audio_dir``, then register the files.

    Worker threads share the client (HTTP is I/O-bound); only this thread touches the catalog. A
    rejected token stops the run (recorded, then :class:`AuthError` is raised). ``deadline_s`` is
    the most one file may take in all; a slower one is that song's failure.
    """
    if jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    if max_mb <= 0:
        raise ParameterError(f"--max-mb must be > 0, got {max_mb}")
    if not deadline_s > 0:
        raise ParameterError(f"--deadline must be > 0 s, got {deadline_s}")
    from ..prepare.ingest import ingest

    summary = DownloadSummary()
    audio_dir = settings.audio_dir
    audio_dir.mkdir(parents=True, exist_ok=True)
    todo, summary.had_audio = pending_songs(catalog, music_ids)
    run_id = catalog.start_run("download", {"base_url": client.public_base_url, "jobs": jobs,
                                            "max_mb": max_mb, "deadline_s": deadline_s, "songs": len(todo)})
    max_bytes = int(max_mb * 1024 * 1024)
    finals: list[Path] = []
    gone_rows: list[dict] = []
    stop = threading.Event()
    auth_error: AuthError | None = None

    def work(mid: str) -> FetchResult:
        if stop.is_set():
            raise ChartError("not attempted: the token was rejected")
        return fetch_song(client, mid, audio_dir, max_bytes=max_bytes, verify_decode=verify_decode,
                          deadline_s=deadline_s)

    def fail(item: str, reason: str) -> None:
        reason = client.redact(reason)
        summary.failed += 1
        summary.failures.append((item, reason))
        catalog.record_failure(run_id, "download", item, reason)

    with progress(transient=False) if show_progress else NullProgress() as bar, \
            ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="bgmscope-dl") as pool:
        task = bar.add_task("download songs", total=len(todo))
        # a bounded window keeps memory flat on long charts; an auth error stops new requests
        for mid, fut in bounded(lambda m: pool.submit(work, m), todo, window=jobs * 2,
                                wait_any=lambda fs: wait(fs, return_when=FIRST_COMPLETED)[0],
                                keep_going=lambda: not stop.is_set()):
            bar.advance(task)
            try:
                res = fut.result()
            except AuthError as exc:
                stop.set()
                auth_error = auth_error or exc
                fail(mid, str(exc))
            except Exception as exc:  # one song's failure is recorded; the run goes on
                fail(mid, client.describe(exc))
            else:
                if res.status == "gone":
                    summary.gone += 1
                    gone_rows.append(_gone_row(res))
                    catalog.record_failure(run_id, "download", mid,
                                           "gone: the chart has no play URL (歌曲不存在)")
                else:
                    finals.append(res.path)
                    if res.status == "present":
                        summary.present += 1
                    else:
                        summary.downloaded += 1
                        summary.bytes += res.bytes
                        summary.resumed += bool(res.resumed_from)
    if finals:
        s = ingest(finals, catalog)
        summary.registered = s.audio_ok
        for item, reason in s.failures:
            fail(item, reason)
    if gone_rows:
        catalog.upsert_frame("audio_files", pd.DataFrame(gone_rows))
    summary.requests = client.requests
    catalog.finish_run(run_id, summary.downloaded + summary.present, summary.failed + summary.gone,
                       summary.had_audio)
    if auth_error is not None:
        raise auth_error
    return summary


def _gone_row(res: FetchResult) -> dict:
    return {"path": str(res.path.resolve()), "sha256": None, "track_id": res.music_id, "format": None,
            "sample_rate": None, "channels": None, "duration_s": None, "size_bytes": None,
            "status": "gone", "error": "gone: the chart has no play URL (歌曲不存在)", "ingested_at": now()}

