"""Which hosts a play URL or a redirect may lead to (a guard against server-side request forgery).

The chart API is untrusted: a play URL such as ``http://127.0.0.1:6379/`` or
``http://169.254.169.254/latest/meta-data`` would otherwise be fetched and saved as a song. A URL is
followed only when

1. it is on the API's own origin (scheme, host and port), or its host is one the user allowed
   (``--allow-host HOST`` any port, ``HOST:PORT`` that port, ``*.example.com`` any subdomain), and
2. it does not point at a loopback, private, link-local or otherwise internal address, unless the API
   itself is on such an address (a loopback test server may serve audio from its own origin, and
   from other loopback origins the user allowed).

Host names are resolved to check rule 2; a name that does not resolve is left to fail on connect.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ParameterError

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$|^[0-9a-f:.]+$")  # a name, *.name, or an IP


@dataclass(frozen=True)
class AllowedHost:
    """One ``--allow-host`` entry: a host (or ``*.domain``) and an optional port."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])  # '.example.com': subdomains only, as TLS wildcards
        return host == self.host


def parse_allow_host(value: str) -> AllowedHost:
    """``HOST``, ``HOST:PORT``, ``[v6]:PORT``, ``*.domain`` or a URL (its host and explicit port)."""
    text = value.strip().lower()
    target = text if "://" in text else f"//{text}"
    try:
        u = urlsplit(target)
        host, port = (u.hostname or "").rstrip("."), u.port
    except ValueError:
        host, port = "", None
    if not _HOST.match(host) or u.path not in ("", "/") or u.query or u.username:
        raise ParameterError(f"--allow-host wants HOST, HOST:PORT or *.DOMAIN, got {value!r}")
    return AllowedHost(host, port)


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, lower-case host, port with the scheme's default filled in)."""
    u = urlsplit(url)
    return u.scheme, (u.hostname or "").lower().rstrip("."), u.port or DEFAULT_PORTS.get(u.scheme)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # unresolvable: the request itself will fail to connect
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def is_internal_host(host: str) -> bool:
    """True when ``host`` is, or resolves to, an address that is not on the public internet."""
    for addr in _addresses(host):
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        if not addr.is_global or addr.is_multicast:
            return True  # loopback, private, link-local, CGNAT, reserved, unspecified, ...
    return False


class HostPolicy:
    """Decides whether a URL may be fetched, given the API's URL and the user's allowed hosts.

    Examples
    --------
    >>> p = HostPolicy("http://127.0.0.1:8000/api/", [parse_allow_host("127.0.0.1:9000")])
    >>> p.refusal("http://127.0.0.1:8000/audio/1.mp3") is None
    True
    >>> p.refusal("http://127.0.0.1:7000/internal")
    'http://127.0.0.1:7000 is neither the API origin (http://127.0.0.1:8000) nor an --allow-host'
    """

    def __init__(self, api_url: str, allowed: Iterable[AllowedHost] = ()):
        self.api = origin_of(api_url)
        self.allowed = tuple(allowed)
        self.api_internal = is_internal_host(self.api[1])

    @staticmethod
    def _show(origin: tuple[str, str, int | None]) -> str:
        scheme, host, port = origin
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}" + (f":{port}" if port else "")

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, or None when it may."""
        origin = origin_of(url)
        _, host, port = origin
        if origin != self.api and not any(a.matches(host, port) for a in self.allowed):
            return f"{self._show(origin)} is neither the API origin ({self._show(self.api)}) nor an --allow-host"
        if origin != self.api and not self.api_internal and is_internal_host(host):
            return f"{self._show(origin)} is a loopback/private/link-local address and the API is not"
        return None
