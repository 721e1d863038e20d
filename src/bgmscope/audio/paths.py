"""File names as the catalog stores them, and what a path that is not a regular file is.

POSIX file names are bytes. Python shows bytes that are not UTF-8 as lone surrogates
(``os.fsdecode``), which DuckDB's UTF-8 VARCHAR refuses, so such a name is stored with each
undecodable byte as ``%XX`` and ``%`` as ``%25``. Only those names are escaped: every UTF-8 path is
stored unchanged, so existing catalogs keep their keys. :func:`from_catalog` turns either form back
into the exact bytes; :func:`display` shows a name to people with U+FFFD for the bad bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import unquote_to_bytes

PathLike = str | bytes | os.PathLike


def _text(path: PathLike) -> str:
    p = os.fspath(path)
    return os.fsdecode(p) if isinstance(p, bytes) else p


def needs_escape(path: PathLike) -> bool:
    """True when the name holds bytes that are not UTF-8 (so it cannot be stored as is)."""
    try:
        _text(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def to_catalog(path: PathLike) -> str:
    """The text the catalog stores for ``path``: unchanged if UTF-8, else %XX-escaped (reversible)."""
    s = _text(path)
    if not needs_escape(s):
        return s
    out = []
    for ch in s:
        if ch == "%":
            out.append("%25")
        elif "\udc80" <= ch <= "\udcff":  # surrogateescape's stand-in for the byte ord(ch) - 0xDC00
            out.append(f"%{ord(ch) - 0xDC00:02X}")
        else:
            out.append(ch)
    return "".join(out)


def from_catalog(text: PathLike) -> Path:
    """The file a stored path names: the literal path if it exists, else the escaped bytes it encodes."""
    s = _text(text)
    if "%" not in s or os.path.lexists(s):
        return Path(s)
    real = os.fsdecode(unquote_to_bytes(s))
    # only undo escapes to_catalog made: a UTF-8 name that merely contains '%41' stays literal
    return Path(real) if to_catalog(real) == s else Path(s)


def display(path: PathLike) -> str:
    """A printable form of a name: undecodable bytes become U+FFFD (never a lone surrogate)."""
    s = _text(path)
    try:
        return os.fsencode(s).decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate surrogateescape did not make
        return s.encode("utf-8", "replace").decode("utf-8")


def not_a_file(path: PathLike) -> str | None:
    """Why ``path`` is not a regular file one can read to the end (None if it is one).

    Follows links, so a link to /dev/zero is a device, not a file (reading it would never end).
    """
    p = _text(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return "broken link (its target does not exist)" if os.path.islink(p) else "no such file"
    except OSError as exc:
        return f"cannot stat: {exc.strerror or exc}"
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    what = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    if os.path.islink(p):
        what = f"a link to {what} ({display(os.path.realpath(p))})"
    return f"{what}, not a regular file"
