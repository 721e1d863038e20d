"""A chart server on 127.0.0.1 speaking the seed's chart API, with optional fault injection.

Serves a chart CSV plus an audio folder (the demo corpus layout: ``demo-chart.csv`` + ``audio/<music_id>.mp3``)
or a bgmscope catalog. Endpoints (``base_url`` = ``http://127.0.0.1:PORT/api/``):

* ``GET /api/search?keyword=&page=&size=&orderby=user_count|user_incr&incr_type=1d|7d|30d&order=desc|asc``
  → ``{"code": 0, "data": {"list": [...]}}`` (items carry music_id, title, author, audition_duration,
  user_count, user_incr, the seed's cover_image/use_trend/hot_awemes/is_fav, and any extra CSV columns);
* ``GET /api/getPlayUrl?music_id=`` → ``{"data": "http://.../audio/<id>.mp3"}``, ``""`` when there is no audio;
* ``GET /audio/<music_id>.mp3``: the bytes, with ``Accept-Ranges``, single-range ``Range`` (206/416, If-Range)
  and a sha256 ``ETag``. Audio needs no token (as a CDN); the API does when a token is set
  (401 without the header, 403 with a wrong one).

Faults (``faults`` = rate 0..1, seeded): each request draws a fault with that probability, one of
latency, 429 with Retry-After, a 5xx burst (this and up to 2 following requests), a truncated body
(Content-Length promised, connection closed early), malformed JSON (API only), a stalled body (half,
then silence for ``stall_s``), and a download cut halfway (audio only).
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import math
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from ..audio.paths import from_catalog
from ..errors import ParameterError
from ..fsutil import sha256_file
from ..prepare.ingest import CSV_COLUMNS, parse_count, parse_duration
from .client import ORDER_BY, WINDOWS

log = logging.getLogger("bgmscope.acquire.server")
FAULT_KINDS = ("latency", "429", "5xx", "truncate", "malformed", "stall", "cut")
_API_FAULTS = ("latency", "429", "5xx", "truncate", "malformed", "stall")
_AUDIO_FAULTS = ("latency", "429", "5xx", "truncate", "stall", "cut")
# What each chart CSV column (named as prepare.ingest.CSV_COLUMNS names it) becomes here: a Song
# field, or nothing (rank and chart are the served order and the endpoint). Other columns pass
# through into the API item under their own header.
_SONG_FIELDS = ("music_id", "title", "author", "duration_s", "user_count", "user_incr")
_DROP = ("rank", "chart")


@dataclass
class Song:
    music_id: str
    title: str
    author: str
    duration_s: float
    user_count: int
    user_incr: int
    audio: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        """The API item, shaped as the seed's chart sends it (extras first so the core wins)."""
        return {**self.extra, "music_id": self.music_id, "title": self.title, "author": self.author,
                "audition_duration": int(math.ceil(self.duration_s)), "user_count": self.user_count,
                "user_incr": self.user_incr, "cover_image": "", "use_trend": [], "hot_awemes": [],
                "is_fav": False}


@dataclass(frozen=True)
class RequestRecord:
    path: str
    music_id: str | None
    range_start: int | None
    status: int
    fault: str | None
    sent: int


def _scalar(v: str) -> Any:
    if v == "":
        return None
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            x = cast(v)
            return x if not (isinstance(x, float) and not math.isfinite(x)) else None
        except ValueError:
            pass
    return v


def _num(v: Any, cast: type, default: Any = 0) -> Any:
    try:
        return cast(float(v))
    except (TypeError, ValueError):
        return default


def load_songs(path: str | Path, audio_dir: str | Path | None = None) -> list[Song]:
    """Songs from a chart CSV (+ audio folder), a corpus folder, or a catalog (.duckdb).

    A source with no chart song raises ParameterError saying why: a chart with nothing in it is a
    mistake to report, not an empty API to serve.
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"nothing to serve at {path}")
    if path.suffix == ".duckdb":
        return _songs_from_catalog(path)
    songs = _songs_from_csv(path, audio_dir)
    if not songs:
        raise ParameterError(f"{path}: the chart CSV has no rows with a music_id (音乐ID); nothing to serve")
    return songs


def _songs_from_csv(path: Path, audio_dir: str | Path | None) -> list[Song]:
    if path.is_dir():
        csvs = [path / "demo-chart.csv"] if (path / "demo-chart.csv").exists() else sorted(path.glob("*.csv"))
        if not csvs:
            raise ParameterError(f"{path}: no chart CSV (demo-chart.csv or *.csv) in this folder")
        csv_path = csvs[0]
        audio = Path(audio_dir) if audio_dir else (path / "audio" if (path / "audio").is_dir() else path)
    else:
        csv_path = path
        audio = Path(audio_dir) if audio_dir else (path.parent / "audio" if (path.parent / "audio").is_dir()
                                                   else path.parent)
    try:
        raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
        raise ParameterError(f"{csv_path}: not a readable UTF-8 chart CSV ({exc})") from None
    cols = {c: CSV_COLUMNS.get(c.strip()) for c in raw.columns}
    if "music_id" not in cols.values():
        raise ParameterError(f"{csv_path}: no 音乐ID/music_id column")
    songs = []
    for rec in raw.to_dict("records"):
        core = {cols[c]: v for c, v in rec.items() if cols[c] in _SONG_FIELDS}
        extra = {c: _scalar(v) for c, v in rec.items() if cols[c] not in _SONG_FIELDS and cols[c] not in _DROP}
        mid = str(core.get("music_id", "")).strip()
        if not mid:
            continue
        f = audio / f"{mid}.mp3"
        songs.append(Song(mid, core.get("title", ""), core.get("author", ""),
                          _duration(core.get("duration_s")), _count(core.get("user_count")),
                          _count(core.get("user_incr")), f if f.is_file() else None, extra))
    return songs


def _duration(v: Any) -> float:
    """Seconds, read as ingest reads them ('215', '3:35'); 0 when not a duration >= 0."""
    secs = parse_duration(v)
    return secs if secs is not None and math.isfinite(secs) and secs >= 0 else 0.0


def _count(v: Any) -> int:
    """A count read as ingest reads it ('3,456', '12.3万'); 0 when not a number. The range is the
    client's to check (a negative user_count is served, and rejected there)."""
    try:
        n = parse_count(v, -(2**63), 2**63 - 1)
    except ValueError:
        return _num(v, int)
    return 0 if n is None else n


def _songs_from_catalog(path: Path) -> list[Song]:
    import duckdb

    from ..catalog import Catalog

    try:
        with Catalog(path, read_only=True) as cat:
            df = cat.query("""
                SELECT t.*, (SELECT a.path FROM audio_files a WHERE a.track_id = t.track_id AND a.status = 'ok'
                             ORDER BY a.path LIMIT 1) AS audio_path
                FROM tracks t WHERE t.music_id IS NOT NULL ORDER BY t.rank NULLS LAST, t.track_id""")
            others = 0 if not df.empty else int(cat.query("SELECT count(*) AS n FROM tracks")["n"][0])
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise ParameterError(f"another bgmscope command is using {path}; wait for it to finish") from None
        raise ParameterError(f"{path}: not a readable bgmscope catalog "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
    if df.empty:
        # chosen over inventing chart data: ingested files have no music_id, rank or user counts
        what = (f"its {others} tracks have no music_id: they came from audio files, not a chart" if others
                else "it has no tracks")
        raise ParameterError(f"{path}: no chart songs in this catalog ({what}); to serve a chart, ingest "
                             f"its chart CSV too (bgmscope ingest chart.csv audio/) or crawl one")
    songs = []
    for r in df.to_dict("records"):
        # the catalog stores non-UTF-8 names %XX-escaped: open the real bytes
        p = from_catalog(r["audio_path"]) if isinstance(r.get("audio_path"), str) else None
        songs.append(Song(str(r["music_id"]), r.get("title") or "", r.get("author") or "",
                          _num(r.get("duration_s"), float, 0.0), _num(r.get("user_count"), int),
                          _num(r.get("user_incr"), int), p if p and p.is_file() else None,
                          {"is_demo": bool(r.get("is_demo"))} if r.get("is_demo") else {}))
    return songs


class FaultPlan:
    """Draws a fault (or None) per request from a seeded RNG; thread-safe."""

    def __init__(self, rate: float, kinds: tuple[str, ...] | None = None, seed: int = 0):
        if not 0.0 <= rate <= 1.0:
            raise ParameterError(f"--faults must be in 0..1, got {rate}")
        kinds = tuple(kinds or FAULT_KINDS)
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad:
            raise ParameterError(f"unknown fault kinds {bad}; choose from {', '.join(FAULT_KINDS)}")
        self.rate, self.kinds = rate, kinds
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._burst = 0
        self.counts: dict[str, int] = {}

    def draw(self, applicable: tuple[str, ...]) -> str | None:
        with self._lock:
            if self._burst > 0 and "5xx" in applicable:
                self._burst -= 1
                kind: str | None = "5xx"
            elif self.rate and self._rng.random() < self.rate:
                options = [k for k in self.kinds if k in applicable]
                kind = self._rng.choice(options) if options else None
                if kind == "5xx":
                    self._burst = self._rng.randint(0, 2)
            else:
                kind = None
            if kind:
                self.counts[kind] = self.counts.get(kind, 0) + 1
            return kind

    def fraction(self) -> float:
        with self._lock:
            return self._rng.uniform(0.1, 0.9)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: ChartServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        try:
            self.server.app.handle(self)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)


def _listen(host: str, port: int) -> _HTTPServer:
    """The bound server, or a one-line ParameterError (port out of range, in use, not allowed)."""
    if not 0 <= port <= 65535:
        raise ParameterError(f"--port must be in 0..65535, got {port}")
    try:
        return _HTTPServer((host, port), _Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ParameterError(f"port {port} on {host} is already in use; pick another --port "
                                 f"(0 = any free port)") from None
        raise ParameterError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


class ChartServer:
    """The loopback chart server. ``with ChartServer(songs) as srv: srv.base_url`` runs it in a thread.

    Parameters
    ----------
    songs : list of Song
        What to serve (see :func:`load_songs`).
    port : int
        0 picks a free port.
    token : str, optional
        When set, the API wants it in the ``auth_header`` header.
    faults : float
        Probability of a fault per request; ``fault_kinds`` limits which.
    retry_after_s : float
        The Retry-After a 429 sends (whole seconds are standard; fractions are for tests).
    stall_s : float
        How long a stalled body stays silent before the connection is closed.
    throttle_bps : int, optional
        Audio bytes per second per connection (to make long downloads for kill/resume tests).
    """

    def __init__(self, songs: list[Song], *, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 auth_header: str = "authorization", faults: float = 0.0,
                 fault_kinds: tuple[str, ...] | None = None, seed: int = 0, retry_after_s: float = 1.0,
                 stall_s: float = 30.0, latency_s: float = 0.2, throttle_bps: int | None = None):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ParameterError("the chart server binds to loopback only")
        self.songs = list(songs)
        self._by_id = {s.music_id: s for s in self.songs}
        self.token = token
        self.auth_header = auth_header
        self.plan = FaultPlan(faults, fault_kinds, seed)
        self.retry_after_s = retry_after_s
        self.stall_s = stall_s
        self.latency_s = latency_s
        self.throttle_bps = throttle_bps
        self.requests: deque[RequestRecord] = deque(maxlen=200_000)
        self._etags: dict[Path, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _listen(host, port)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def start(self) -> ChartServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="bgmscope-chart-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._stop.set()  # wakes stalled bodies
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> ChartServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handling -----------------------------------------------------------------------------------
    def handle(self, h: _Handler) -> None:
        u = urlsplit(h.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if u.path in ("/api/search", "/api/getPlayUrl"):
            if self.token is not None:
                given = h.headers.get(self.auth_header)
                if given is None:
                    return self._json(h, 401, {"code": 401, "msg": "login required"}, u.path)
                if not hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8")):
                    return self._json(h, 403, {"code": 403, "msg": "token invalid or expired"}, u.path)
            fault = self.plan.draw(_API_FAULTS)
            if fault == "latency":
                self._stop.wait(self.latency_s)
            if fault in ("429", "5xx"):
                return self._error(h, fault, u.path)
            status, body = self._search(q) if u.path == "/api/search" else self._play_url(q)
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            if status == 200 and fault == "malformed":
                data = data[: max(1, len(data) // 2)] + b"\x00<html>"
                return self._send(h, 200, data, "application/json", u.path, fault=fault, music_id=q.get("music_id"))
            return self._send(h, status, data, "application/json; charset=utf-8", u.path,
                              fault=fault if fault in ("truncate", "stall") else None, fault_logged=fault,
                              music_id=q.get("music_id"))
        if u.path.startswith("/audio/") and u.path.endswith(".mp3"):
            return self._audio(h, u.path[len("/audio/"):-4], u.path)
        return self._json(h, 404, {"code": 404, "msg": "not found"}, u.path)

    def _search(self, q: dict[str, str]) -> tuple[int, Any]:
        try:
            page, size = int(q.get("page", "1")), int(q.get("size", "50"))
        except ValueError:
            return 400, {"code": 400, "msg": "page and size must be integers"}
        order_by, window = q.get("orderby", "user_count"), q.get("incr_type", "7d")
        order = q.get("order", "desc")
        if page < 1 or not 1 <= size <= 500 or order_by not in ORDER_BY or window not in WINDOWS \
                or order not in ("desc", "asc"):
            return 400, {"code": 400, "msg": "bad search parameters"}
        kw = q.get("keyword", "").strip().casefold()
        songs = [s for s in self.songs if not kw or kw in s.title.casefold() or kw in s.author.casefold()]
        songs.sort(key=lambda s: s.music_id)
        songs.sort(key=lambda s: getattr(s, order_by), reverse=order == "desc")
        chunk = songs[(page - 1) * size: page * size]
        return 200, {"code": 0, "msg": "ok", "data": {"list": [s.item() for s in chunk], "page": page,
                                                       "size": size, "total": len(songs)}}

    def _play_url(self, q: dict[str, str]) -> tuple[int, Any]:
        song = self._by_id.get(q.get("music_id", ""))
        url = f"{self.origin}/audio/{song.music_id}.mp3" if song and song.audio else ""
        return 200, {"code": 0, "msg": "ok", "data": url}

    def _etag(self, path: Path) -> str:
        with self._lock:
            if path not in self._etags:
                self._etags[path] = sha256_file(path)
            return self._etags[path]

    def _audio(self, h: _Handler, music_id: str, path: str) -> None:
        song = self._by_id.get(music_id)
        if song is None or song.audio is None or not song.audio.is_file():
            return self._json(h, 404, {"code": 404, "msg": "歌曲不存在"}, path)
        fault = self.plan.draw(_AUDIO_FAULTS)
        if fault == "latency":
            self._stop.wait(self.latency_s)
        if fault in ("429", "5xx"):
            return self._error(h, fault, path, music_id)
        blob = song.audio.read_bytes()
        size = len(blob)
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{self._etag(song.audio)}"'}
        rng = h.headers.get("range", "")
        if_range = h.headers.get("if-range")
        if if_range is not None and if_range.strip() != headers["ETag"]:
            rng = ""  # RFC 9110: the file changed since the client's part; send it whole
        start = None
        if rng.startswith("bytes=") and "," not in rng:
            a, _, b = rng[6:].partition("-")
            try:
                start = int(a)
                end = int(b) if b else size - 1
            except ValueError:
                start = None
            if start is not None and (start >= size or end < start):
                headers["Content-Range"] = f"bytes */{size}"
                return self._send(h, 416, b"", "text/plain", path, headers, music_id=music_id, range_start=start)
        status, body = 200, blob
        if start is not None:
            end = min(end, size - 1)
            status, body = 206, blob[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        kind = fault if fault in ("truncate", "stall", "cut") else None
        self._send(h, status, body, "audio/mpeg", path, headers, fault=kind, fault_logged=fault, music_id=music_id,
                   range_start=start, throttle=True)

    def _error(self, h: _Handler, fault: str, path: str, music_id: str | None = None) -> None:
        if fault == "429":
            ra = self.retry_after_s
            headers = {"Retry-After": str(int(ra)) if float(ra).is_integer() else f"{ra:g}"}
            return self._json(h, 429, {"code": 429, "msg": "too many requests"}, path, headers, fault, music_id)
        code = random.Random(len(self.requests)).choice((500, 502, 503))
        return self._json(h, code, {"code": code, "msg": "server error"}, path, None, fault, music_id)

    def _json(self, h: _Handler, status: int, body: Any, path: str, headers: dict[str, str] | None = None,
              fault: str | None = None, music_id: str | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(h, status, data, "application/json; charset=utf-8", path, headers, fault_logged=fault,
                   music_id=music_id)

    def _send(self, h: _Handler, status: int, body: bytes, ctype: str, path: str,
              headers: dict[str, str] | None = None, *, fault: str | None = None, fault_logged: str | None = None,
              music_id: str | None = None, range_start: int | None = None, throttle: bool = False) -> None:
        """Write a response; ``fault`` truncate/stall/cut promises the whole body and sends part of it."""
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if fault:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        n = len(body)
        if fault == "truncate":
            n = int(len(body) * self.plan.fraction())
        elif fault in ("stall", "cut"):
            n = len(body) // 2
        sent = self._write(h, body[:n], throttle)
        if fault == "stall":
            self._stop.wait(self.stall_s)
        self.requests.append(RequestRecord(path, music_id, range_start, status, fault or fault_logged, sent))

    def _write(self, h: _Handler, data: bytes, throttle: bool) -> int:
        if not (throttle and self.throttle_bps):
            h.wfile.write(data)
            return len(data)
        step = max(1024, self.throttle_bps // 20)
        sent = 0
        for i in range(0, len(data), step):
            if self._stop.is_set():
                break
            h.wfile.write(data[i:i + step])
            h.wfile.flush()
            sent += len(data[i:i + step])
            self._stop.wait(step / self.throttle_bps)
        return sent


def serve_chart(path: str | Path, *, audio_dir: str | Path | None = None, **kwargs: Any) -> ChartServer:
    """A (not yet started) :class:`ChartServer` for a CSV, corpus folder or catalog at ``path``."""
    return ChartServer(load_songs(path, audio_dir), **kwargs)
