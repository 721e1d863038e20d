"""Settings shared by every stage: where data lives and the analysis defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BgmscopeError

DEFAULT_DATA_DIR = "bgmscope-data"
ENV_DATA_DIR = "BGMSCOPE_DATA"


class DataDirError(BgmscopeError):
    """The data dir cannot be used (a file, under a file, not creatable or not writable)."""


def make_data_dir(path: Path) -> None:
    """Create ``path`` as a writable folder, or say in one line why it cannot be one."""
    hint = "pass another --data-dir"
    if path.exists() and not path.is_dir():
        raise DataDirError(f"cannot use {path} as the data dir: it is a file, not a folder; {hint}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot use {path} as the data dir: {exc.strerror or exc}; {hint}") from exc
    if not os.access(path, os.W_OK | os.X_OK):  # also catches read-only mounts (EROFS)
        raise DataDirError(f"cannot use {path} as the data dir: it is not writable; {hint}")


def check_data_dir(path: Path) -> None:
    """For read-only use: refuse a data dir that exists but is not a folder (nothing is created)."""
    if path.exists() and not path.is_dir():
        raise DataDirError(f"cannot use {path} as the data dir: it is a file, not a folder; "
                           "pass another --data-dir")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass
class Settings:
    """Paths and analysis defaults. Every command derives its paths from ``data_dir``."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get(ENV_DATA_DIR, DEFAULT_DATA_DIR)))
    sample_rate: int = 16000  # the seed analyses at 16 kHz
    clip_length_s: float = 15.0  # the seed's 15 s samples
    k_min: int = 5
    k_max: int = 13
    seed: int = 0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().absolute()  # printed paths are usable anywhere

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.duckdb"

    @property
    def clip_dir(self) -> Path:
        return self.data_dir / "clips"

    @property
    def audio_dir(self) -> Path:
        """Downloaded and demo audio (named from ids, never from titles)."""
        return self.data_dir / "audio"

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def report_dir(self) -> Path:
        return self.data_dir / "report"

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"

    def ensure(self) -> Settings:
        make_data_dir(self.data_dir)
        return self
