"""Settings shared by every stage: where data lives and the analysis defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "bgmscope-data"
ENV_DATA_DIR = "BGMSCOPE_DATA"


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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self
