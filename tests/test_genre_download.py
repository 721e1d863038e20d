"""genre download against a loopback HTTP server serving archives the tests build."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf
from genre_helpers import SR, make_clip

from bgmscope.errors import ParameterError
from bgmscope.genre.dataset import load_dataset
from bgmscope.genre.download import DownloadError, download_dataset


def _wav_bytes(label: str, seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, make_clip(label, np.random.default_rng(seed), seconds=0.5), SR, format="AU", subtype="PCM_16")
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


GTZAN_LIKE = {f"genres/{g}/{g}.{i:05d}.au": None for g in ("blues", "jazz") for i in range(2)}


@pytest.fixture
def archive() -> bytes:
    return _tar_gz({name: _wav_bytes("tones", i) for i, name in enumerate(GTZAN_LIKE)}
                   | {"genres/README": b"GTZAN-like test archive"})


def test_download_verifies_and_unpacks(httpserver, tmp_path, archive):
    httpserver.expect_request("/genres.tar.gz").respond_with_data(archive, content_type="application/gzip")
    digest = hashlib.sha256(archive).hexdigest()
    res = download_dataset(tmp_path / "gtzan", url=httpserver.url_for("/genres.tar.gz"), sha256=digest)
    assert res.labels == {"blues": 2, "jazz": 2} and res.archive_sha256 == digest
    ds = load_dataset(tmp_path / "gtzan")
    assert ds.labels == ["blues", "jazz"] and len(ds) == 4
    assert (tmp_path / "gtzan" / "blues" / "blues.00001.au").is_file()
    assert (tmp_path / "gtzan" / "download.json").is_file()


def test_bad_checksum_leaves_nothing(httpserver, tmp_path, archive):
    httpserver.expect_request("/genres.tar.gz").respond_with_data(archive)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_dataset(tmp_path / "gtzan", url=httpserver.url_for("/genres.tar.gz"), sha256="0" * 64)
    assert not (tmp_path / "gtzan").exists()
    with pytest.raises(ParameterError, match="64 hex"):
        download_dataset(tmp_path / "gtzan", url=httpserver.url_for("/genres.tar.gz"), sha256="abc")


def test_http_errors_and_retries(httpserver, tmp_path, archive):
    httpserver.expect_request("/missing.tar.gz").respond_with_data("nope", status=404)
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_dataset(tmp_path / "a", url=httpserver.url_for("/missing.tar.gz"))
    # one transient 503, then the archive: the retry gets it
    httpserver.expect_ordered_request("/flaky.tar.gz").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky.tar.gz").respond_with_data(archive)
    res = download_dataset(tmp_path / "b", url=httpserver.url_for("/flaky.tar.gz"))
    assert res.labels == {"blues": 2, "jazz": 2}


def test_zip_nested_layout(httpserver, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for g in ("rock", "pop", "metal"):
            zf.writestr(f"Data/genres_original/{g}/{g}.00000.wav", _wav_bytes("tones", 1))
    httpserver.expect_request("/gtzan.zip").respond_with_data(buf.getvalue())
    res = download_dataset(tmp_path / "g", url=httpserver.url_for("/gtzan.zip"))
    assert res.labels == {"metal": 1, "pop": 1, "rock": 1}


def test_unsafe_and_non_dataset_archives_refused(httpserver, tmp_path):
    evil = _tar_gz({"../escape.au": b"x", "genres/blues/blues.00000.au": _wav_bytes("tones", 0)})
    httpserver.expect_request("/evil.tar.gz").respond_with_data(evil)
    with pytest.raises(DownloadError, match="unsafe"):
        download_dataset(tmp_path / "e", url=httpserver.url_for("/evil.tar.gz"))
    assert not (tmp_path / "escape.au").exists()
    httpserver.expect_request("/plain.tar.gz").respond_with_data(_tar_gz({"notes/readme.txt": b"hi"}))
    with pytest.raises(DownloadError, match="no <label>"):
        download_dataset(tmp_path / "p", url=httpserver.url_for("/plain.tar.gz"))
    httpserver.expect_request("/junk.tar.gz").respond_with_data(b"this is not an archive")
    with pytest.raises(DownloadError, match="not a tar or zip"):
        download_dataset(tmp_path / "j", url=httpserver.url_for("/junk.tar.gz"))
