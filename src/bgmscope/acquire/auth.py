"""Where the chart token and request headers come from, and how the token is kept out of every output.

The token comes from the environment (``BGMSCOPE_CHART_TOKEN``) or a TOML config file
(``BGMSCOPE_CHART_CONFIG``, else ``$XDG_CONFIG_HOME/bgmscope/chart.toml``)::

    token = "eyJ..."                 # the 'authorization' header value copied from the browser
    auth_header = "authorization"    # optional: the header that carries it
    [headers]                        # optional: extra request headers
    user-agent = "Mozilla/5.0 ..."

It is sent only to the chart API's own origin, never printed, logged or stored; :class:`Redactor`
scrubs it from any message on its way to a log or the catalog.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParameterError

ENV_TOKEN = "BGMSCOPE_CHART_TOKEN"
ENV_CONFIG = "BGMSCOPE_CHART_CONFIG"
REDACTED = "[redacted]"


def default_config_path() -> Path:
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "bgmscope" / "chart.toml"


@dataclass
class ChartAuth:
    """The token and headers for one chart API. ``repr`` never shows the token."""

    token: str | None = field(default=None, repr=False)
    auth_header: str = "authorization"
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ChartAuth(token={'set' if self.token else 'unset'}, auth_header={self.auth_header!r})"


def load_auth(config: str | Path | None = None, *, headers: dict[str, str] | None = None) -> ChartAuth:
    """Token and headers from the config file (if any), the token overridden by the environment."""
    path = Path(config).expanduser() if config else default_config_path()
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ParameterError(f"{path}: not a valid TOML chart config ({exc})") from None
    elif config:
        raise ParameterError(f"no chart config at {path}")
    hdrs = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
    hdrs.update(headers or {})
    token = os.environ.get(ENV_TOKEN) or data.get("token") or None
    return ChartAuth(token=str(token) if token else None,
                     auth_header=str(data.get("auth_header") or "authorization"), headers=hdrs)


def parse_header_options(values: list[str] | None) -> dict[str, str]:
    """'Name: value' strings (from --header) as a dict."""
    out: dict[str, str] = {}
    for v in values or []:
        name, sep, value = v.partition(":")
        if not sep or not name.strip():
            raise ParameterError(f"--header wants 'Name: value', got {v!r}")
        out[name.strip()] = value.strip()
    return out


class Redactor:
    """Replaces each secret in a text with '[redacted]' (secrets shorter than 4 chars are ignored)."""

    def __init__(self, *secrets: str | None):
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: object) -> str:
        s = str(text)
        for secret in self.secrets:
            s = s.replace(secret, REDACTED)
        return s


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the formatted message of every record."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor.secrets:
            record.msg = self.redactor(record.getMessage())
            record.args = None
        return True
