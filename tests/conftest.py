"""Shared fixtures: tests make their own audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def sine(freq: float, seconds: float, sr: int = 16000, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clicks(bpm: float, seconds: float, sr: int = 16000) -> np.ndarray:
    y = np.zeros(int(seconds * sr), np.float32)
    step = 60.0 / bpm
    for t in np.arange(0, seconds, step):
        i = int(t * sr)
        y[i: i + 80] += np.hanning(160)[80:] * 0.9
    return y


def write_audio(path: Path, y: np.ndarray, sr: int, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y.T if y.ndim == 2 else y, sr, **kw)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d
