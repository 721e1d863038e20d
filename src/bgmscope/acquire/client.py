"""The chart API client: one httpx client, declared retries (tenacity), a polite rate limit.

Retried, with exponential backoff and jitter: timeouts, connection errors, truncated bodies,
malformed JSON, 5xx and 429 (waiting what Retry-After asks, capped). Not retried: 401/403
(:class:`AuthError`, "token rejected or expired"), other 4xx, a response of the wrong shape, a
JSON reply over the size cap (:class:`TooLarge`) and a URL the host rule refuses (:class:`RefusedURL`,
see :mod:`bgmscope.acquire.hosts`). A caller may give a deadline (``time.monotonic()`` value) that
ends retries and clips each request's timeouts (:class:`DeadlineExceeded`).
The token goes only to the API's own origin (audio may live on a CDN), never into a message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from ..errors import BgmscopeError, ParameterError
from .auth import ChartAuth, Redactor
from .hosts import AllowedHost, HostPolicy, origin_of, parse_allow_host

log = logging.getLogger("bgmscope.acquire")
T = TypeVar("T")
USER_AGENT = "bgmscope-chart/1 (+https://github.com/; research crawler)"
ORDER_BY = ("user_count", "user_incr")
WINDOWS = ("1d", "7d", "30d")
DEFAULT_MAX_JSON_BYTES = 16 * 2**20  # a chart page of 500 items is ~0.5 MB; 16 MB is far beyond honest


class ChartError(BgmscopeError):
    """The chart API answered something we cannot use (not retried)."""


class AuthError(ChartError):
    """401/403: the token was rejected or has expired (never retried)."""


class TransientError(ChartError):
    """A failure worth retrying (429, 5xx, malformed or short body); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RangeNotSatisfiable(TransientError):
    """416: a partial file is not a prefix the server can continue; the caller starts over."""


class TooLarge(ChartError):
    """A body over the size cap (not retried)."""


class RefusedURL(ChartError):
    """A play URL or redirect the host rule refuses (another origin not allowed, an internal address)."""


class DeadlineExceeded(ChartError):
    """The caller's total deadline passed (not retried)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request, backoff (s) and the most a Retry-After may make us wait."""

    attempts: int = 8
    initial_s: float = 0.5
    max_s: float = 30.0
    jitter_s: float = 0.5
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_s < 0 or self.max_s < 0 or self.jitter_s < 0:
            raise ParameterError(f"bad retry policy {self}")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.UnsupportedProtocol):
        return False
    return isinstance(exc, TransientError | httpx.TransportError)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class _WaitRetryAfterOrBackoff(wait_base):
    """Honour the server's Retry-After when it sent one; else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy):
        self.policy = policy
        self.backoff = wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_s,
                                               jitter=policy.jitter_s)

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return min(float(after), self.policy.max_retry_after_s)
        return self.backoff(retry_state)


class RateLimiter:
    """At most ``rps`` request starts per second across threads (0 = unlimited)."""

    def __init__(self, rps: float):
        if rps < 0:
            raise ParameterError(f"--rps must be >= 0, got {rps}")
        self.interval = 1.0 / rps if rps > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def check_http_url(url: str) -> str:
    """The URL if it is http(s) with a host, else ChartError (file:, ftp:, javascript: are refused)."""
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ChartError(f"refusing to follow a non-http(s) URL (scheme {u.scheme or 'none'!r})")
    try:
        u.port  # noqa: B018 - raises on a port that is not a number in 0..65535
    except ValueError:
        raise ChartError(f"not a usable URL (bad port): {u.scheme}://{u.netloc.rpartition('@')[2]}") from None
    return url


class _StopAtDeadline(stop_base):
    """Stop retrying when the next attempt would start after ``deadline`` (monotonic seconds)."""

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + (retry_state.upcoming_sleep or 0.0) >= self.deadline


class ChartClient:
    """A client for one chart API.

    Parameters
    ----------
    base_url : str
        The API root; ``search`` and ``getPlayUrl`` are resolved against it.
    auth : ChartAuth, optional
        Token and headers (see :func:`bgmscope.acquire.auth.load_auth`).
    rps : float
        Polite rate limit, requests per second over all threads (0 = none).
    timeout_s : float
        Connect/read timeout; a body that stalls longer than this is retried (downloads resume).
    retry : RetryPolicy
        Attempts and backoff.
    allow_hosts : iterable of str
        Hosts besides the API's origin that play URLs and redirects may lead to (``HOST``,
        ``HOST:PORT`` or ``*.domain``); see :mod:`bgmscope.acquire.hosts`.
    max_json_bytes : int
        Size cap of a JSON reply (after decompression); a larger one raises :class:`TooLarge`.

    Examples
    --------
    >>> with ChartClient("http://127.0.0.1:8765/api/") as c:   # doctest: +SKIP
    ...     items = c.search(page=1, size=50)
    """

    def __init__(self, base_url: str, *, auth: ChartAuth | None = None, rps: float = 4.0,
                 timeout_s: float = 20.0, retry: RetryPolicy | None = None, max_connections: int = 16,
                 allow_hosts: Iterable[str | AllowedHost] = (), max_json_bytes: int = DEFAULT_MAX_JSON_BYTES):
        check_http_url(base_url)
        if timeout_s <= 0:
            raise ParameterError(f"timeout must be > 0, got {timeout_s}")
        if max_json_bytes < 1:
            raise ParameterError(f"the JSON size cap must be >= 1 byte, got {max_json_bytes}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.auth = auth or ChartAuth()
        self.redact = Redactor(self.auth.token)
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rps)
        headers = {"user-agent": USER_AGENT, "accept": "application/json, */*"}
        headers.update({k.lower(): v for k, v in self.auth.headers.items()})
        self.timeout_s = timeout_s
        self.max_json_bytes = int(max_json_bytes)
        self._http = httpx.Client(
            headers=headers, follow_redirects=False, timeout=self._timeout(None),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self._origin = origin_of(self.base_url)
        self.hosts = HostPolicy(self.base_url, [a if isinstance(a, AllowedHost) else parse_allow_host(a)
                                                for a in allow_hosts])
        self._count_lock = threading.Lock()
        self.requests = 0  # every HTTP attempt, for the summary

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> ChartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def public_base_url(self) -> str:
        """The base URL without query or credentials: what may be stored in the catalog."""
        u = urlsplit(self.base_url)
        host = u.hostname or ""
        if u.port:
            host = f"{host}:{u.port}"
        return self.redact(f"{u.scheme}://{host}{u.path}")

    def _count(self) -> None:
        self.limiter.wait()
        with self._count_lock:
            self.requests += 1

    # -- deadlines -------------------------------------------------------------------------------
    @staticmethod
    def check_deadline(deadline: float | None, what: str) -> None:
        """:class:`DeadlineExceeded` when the monotonic ``deadline`` has passed."""
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded(f"{what}: the deadline passed")

    def _timeout(self, deadline: float | None) -> httpx.Timeout:
        # a read may block for the whole read timeout: clip it so no single wait outlives the deadline
        t = self.timeout_s if deadline is None else max(0.05, min(self.timeout_s, deadline - time.monotonic()))
        return httpx.Timeout(t, connect=min(t, 10.0))

    def check_url(self, url: str, what: str) -> str:
        """``url`` if it is http(s) and the host rule lets it be fetched, else :class:`RefusedURL`."""
        check_http_url(url)
        reason = self.hosts.refusal(url)
        if reason is not None:
            raise RefusedURL(self.redact(f"refusing {what}: {reason}"))
        return url

    # -- retries ---------------------------------------------------------------------------------
    def call(self, what: str, func: Callable[[], T], *, deadline: float | None = None) -> T:
        """Run ``func`` under the retry policy; ``what`` names it in log lines.

        With a ``deadline`` (``time.monotonic()`` seconds) no retry starts after it.
        """
        def before_sleep(rs: RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            wait = rs.next_action.sleep if rs.next_action else 0.0
            log.info("retry %s in %.2fs after %s (attempt %d/%d)", what, wait, self.describe(exc),
                     rs.attempt_number, self.retry.attempts)

        stop = stop_after_attempt(self.retry.attempts)
        if deadline is not None:
            stop = stop | _StopAtDeadline(deadline)
        retrying = Retrying(
            retry=retry_if_exception(is_transient), stop=stop,
            wait=_WaitRetryAfterOrBackoff(self.retry), before_sleep=before_sleep, reraise=True)
        return retrying(func)

    def describe(self, exc: BaseException | None) -> str:
        """A one-line, token-free description of an exception."""
        if exc is None:
            return "unknown error"
        return self.redact(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]

    def _auth_headers(self, url: str) -> dict[str, str]:
        # the token is for the API's origin only; a CDN or a redirect elsewhere never sees it
        if self.auth.token and origin_of(url) == self._origin:
            return {self.auth.auth_header: self.auth.token}
        return {}

    def check_status(self, r: httpx.Response, what: str) -> None:
        code = r.status_code
        if code in (401, 403):
            raise AuthError(f"token rejected or expired (HTTP {code} from {what}); "
                            f"set BGMSCOPE_CHART_TOKEN to a fresh token")
        if code == 416:
            raise RangeNotSatisfiable(f"HTTP 416 from {what}: range not satisfiable")
        if code == 429 or code >= 500:
            raise TransientError(f"HTTP {code} from {what}", parse_retry_after(r.headers.get("retry-after")))
        if code >= 400 or code < 200:
            raise ChartError(f"HTTP {code} from {what}")

    # -- JSON endpoints ------------------------------------------------------------------------------
    def get_json(self, endpoint: str, params: dict[str, Any], *, deadline: float | None = None) -> Any:
        """GET ``endpoint`` and parse its JSON reply, under retries and the size cap."""
        url = urljoin(self.base_url, endpoint)

        def once() -> Any:
            self.check_deadline(deadline, endpoint)
            self._count()
            with self._http.stream("GET", url, params=params, headers=self._auth_headers(url),
                                   timeout=self._timeout(deadline)) as r:
                if r.is_redirect:  # the token must not follow a redirect; the user can pass the target
                    raise ChartError(f"HTTP {r.status_code} from {endpoint}: the API redirects; "
                                     f"pass the URL it points to as --base-url")
                self.check_status(r, endpoint)
                body = self._read_capped(r, endpoint)
            try:
                return json.loads(body)
            except ValueError as exc:  # includes UnicodeDecodeError
                raise TransientError(f"malformed JSON from {endpoint}: {' '.join(str(exc).split())[:120]}") from None

        return self.call(endpoint, once, deadline=deadline)

    def _read_capped(self, r: httpx.Response, what: str) -> bytes:
        """The (decoded) body of a streamed response, or :class:`TooLarge` once it passes the cap."""
        cap = self.max_json_bytes
        too_large = f"reply from {what} is over the JSON size cap of {cap} bytes ({cap / 2**20:g} MiB, --max-json-mb)"
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap and "content-encoding" not in r.headers:
            raise TooLarge(too_large)
        buf = bytearray()
        for chunk in r.iter_bytes():  # decompressed: a gzip bomb is capped too
            buf += chunk
            if len(buf) > cap:
                raise TooLarge(too_large)
        return bytes(buf)

    def search(self, *, page: int, size: int = 50, order_by: str = "user_count", window: str = "7d",
               keyword: str = "", order: str = "desc") -> list[Any]:
        """One chart page: the raw ``data.list`` (items are validated by the caller, one by one)."""
        if order_by not in ORDER_BY:
            raise ParameterError(f"--order-by must be one of {ORDER_BY}, got {order_by!r}")
        if window not in WINDOWS:
            raise ParameterError(f"--window must be one of {WINDOWS}, got {window!r}")
        if page < 1 or not 1 <= size <= 500:
            raise ParameterError(f"page must be >= 1 and size in 1..500, got {page=}, {size=}")
        body = self.get_json("search", {"keyword": keyword, "page": page, "size": size,
                                        "orderby": order_by, "incr_type": window, "order": order})
        data = body.get("data") if isinstance(body, dict) else None
        items = data.get("list") if isinstance(data, dict) else None
        if items is None and isinstance(data, dict) and "list" in data:
            return []
        if not isinstance(items, list):
            raise ChartError(f"search page {page}: expected {{'data': {{'list': [...]}}}}, "
                             f"got keys {sorted(body) if isinstance(body, dict) else type(body).__name__}")
        return items

    def play_url(self, music_id: str, *, deadline: float | None = None) -> str | None:
        """The song's audio URL, or None when the chart says it is gone (empty data, as '歌曲不存在').

        A URL the host rule refuses raises :class:`RefusedURL` (see :mod:`bgmscope.acquire.hosts`).
        """
        body = self.get_json("getPlayUrl", {"music_id": music_id}, deadline=deadline)
        if not isinstance(body, dict) or "data" not in body:
            raise ChartError(f"getPlayUrl {music_id}: expected {{'data': '<url>'}}")
        data = body["data"]
        if data is None or (isinstance(data, str) and data.strip() in ("", "None", "null")):
            return None
        if not isinstance(data, str):
            raise ChartError(f"getPlayUrl {music_id}: data is {type(data).__name__}, not a URL")
        return self.check_url(urljoin(self.base_url, data.strip()), f"the play URL of {music_id}")

    # -- streaming ---------------------------------------------------------------------------------
    @contextmanager
    def stream(self, url: str, headers: dict[str, str] | None = None, *,
               max_redirects: int = 5, deadline: float | None = None) -> Iterator[httpx.Response]:
        """GET ``url`` streamed, following redirects ourselves (http/https only, token per origin).

        Every hop is checked against the host rule (:class:`RefusedURL`); with a ``deadline`` each
        hop's timeouts end by it. Yields the final response after its status was checked (2xx;
        4xx/5xx raise as above).
        """
        what = "the audio URL"
        for _ in range(max_redirects + 1):
            self.check_url(url, what)
            self.check_deadline(deadline, "audio")
            self._count()
            req = self._http.build_request("GET", url, headers={**(headers or {}), **self._auth_headers(url)},
                                           timeout=self._timeout(deadline))
            r = self._http.send(req, stream=True)
            try:
                if r.is_redirect and r.headers.get("location"):
                    url, what = urljoin(url, r.headers["location"]), f"a redirect (HTTP {r.status_code})"
                    continue
                self.check_status(r, "audio")
                yield r
                return
            finally:
                r.close()
        raise ChartError(f"more than {max_redirects} redirects")
