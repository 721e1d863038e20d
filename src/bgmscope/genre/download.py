"""Fetch a labelled dataset archive (GTZAN by default), verify it, and unpack it into the
folder-per-label layout the loader reads (``<dest>/<genre>/<genre>.000NN.au``).

The archive may be ``.tar.gz``/``.tgz``/``.tar``/``.zip``; its genre folders may sit at any depth
(``genres/``, ``Data/genres_original/`` …): the deepest folder whose sub-folders hold audio is
taken as the dataset root. Members that would land outside the destination are refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from ..errors import ParameterError
from ..fsutil import atomic_write_text
from .dataset import DATASET_EXTENSIONS

# The public GTZAN archive (genres.tar.gz, ~1.2 GB): ten folders of 100 .au clips.
GTZAN_URL = "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz"


@dataclass
class DownloadResult:
    dest: Path
    archive_sha256: str
    labels: dict[str, int]  # label -> number of audio files
    bytes: int


class DownloadError(ParameterError):
    """The archive could not be fetched, failed its checksum, or is not a labelled dataset."""


@retry(retry=retry_if_exception_type((httpx.TransportError, httpx.HTTPStatusError)), reraise=True,
       stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.5, max=4))
def _fetch(client: httpx.Client, url: str, out: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with client.stream("GET", url) as resp:
        if resp.status_code >= 500:
            resp.raise_for_status()  # transient: retried
        if resp.status_code != 200:
            raise DownloadError(f"GET {url}: HTTP {resp.status_code}")
        with open(out, "wb") as fh:
            for chunk in resp.iter_bytes(1 << 20):
                fh.write(chunk)
                h.update(chunk)
                n += len(chunk)
    return h.hexdigest(), n


def _safe_extract(archive: Path, into: Path) -> None:
    root = into.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not (root / name).resolve().is_relative_to(root):
                    raise DownloadError(f"archive member escapes the destination: {name!r}")
            zf.extractall(root)
        return
    try:
        with tarfile.open(archive) as tf:
            for m in tf.getmembers():
                if not (root / m.name).resolve().is_relative_to(root) or m.issym() or m.islnk():
                    raise DownloadError(f"unsafe archive member: {m.name!r}")
            tf.extractall(root, filter="data")
    except tarfile.TarError as exc:
        raise DownloadError(f"not a tar or zip archive: {archive.name} ({exc})") from None


def _dataset_root(top: Path) -> Path:
    """The folder whose sub-folders hold the audio (the most labels wins, then the shallowest)."""
    best: tuple[int, int, Path] | None = None
    for d in [top, *sorted(p for p in top.rglob("*") if p.is_dir())]:
        labels = [s for s in d.iterdir() if s.is_dir() and any(
            f.suffix.lower() in DATASET_EXTENSIONS for f in s.iterdir() if f.is_file())]
        if len(labels) >= 2:
            cand = (len(labels), -len(d.parts), d)
            if best is None or cand[:2] > best[:2]:
                best = cand
    if best is None:
        raise DownloadError("the archive holds no <label>/<audio files> folders")
    return best[2]


def download_dataset(dest: str | Path, *, url: str = GTZAN_URL, sha256: str | None = None,
                     client: httpx.Client | None = None, timeout: float = 60.0) -> DownloadResult:
    """Download ``url``, check ``sha256`` (when given), unpack into ``dest/<label>/…``.

    Existing label folders in ``dest`` are replaced. Raises :class:`DownloadError` (a
    ParameterError) with a one-line reason on any failure; ``dest`` is untouched then.
    """
    dest = Path(dest)
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower())):
        raise ParameterError(f"--sha256 must be 64 hex digits, got {sha256!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=True)
    with tempfile.TemporaryDirectory(prefix=".genre-dl-", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        suffix = "".join(Path(httpx.URL(url).path).suffixes[-2:]) or ".archive"
        archive = tmp / f"archive{suffix}"
        try:
            digest, size = _fetch(client, url, archive)
        except httpx.HTTPError as exc:
            raise DownloadError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        finally:
            if own:
                client.close()
        if sha256 is not None and digest != sha256.lower():
            raise DownloadError(f"checksum mismatch for {url}: expected {sha256.lower()}, got {digest}")
        unpacked = tmp / "unpacked"
        unpacked.mkdir()
        _safe_extract(archive, unpacked)
        root = _dataset_root(unpacked)
        dest.mkdir(parents=True, exist_ok=True)
        labels = {}
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            files = [f for f in sub.rglob("*") if f.is_file() and f.suffix.lower() in DATASET_EXTENSIONS]
            if not files:
                continue
            target = dest / sub.name
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(sub), str(target))
            labels[sub.name] = len(files)
    atomic_write_text(dest / "download.json", json.dumps(
        {"url": url, "sha256": digest, "bytes": size, "labels": labels}, ensure_ascii=False, indent=1))
    return DownloadResult(dest, digest, labels, size)
