"""Shared fixtures: tests make their own audio."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Rich wraps the commands' output at the terminal's width (its consoles read COLUMNS when the CLI
# module is imported). A pytest-xdist worker has no terminal (80 columns) and longer temp paths
# (popen-gwN), so a wrapped path would break the words the tests look for: workers get one wide width.
# The controller's own terminal keeps its width.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["COLUMNS"] = "250"


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


def chord_song(seed: int, seconds: float, sr: int = 16000) -> np.ndarray:
    """Random three-note chords, half a second each: a distinct 'song' per seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.5 * sr)) / sr
    env = np.minimum(1, np.minimum(t, t[::-1]) * 50)
    chords = [env * sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(110, 880, 3)) for _ in range(int(seconds * 2))]
    return (0.15 * np.concatenate(chords)).astype(np.float32)


def click_song(bpm: float, pitch: float, seed: int, seconds: float = 4.0, sr: int = 16000) -> np.ndarray:
    """A tone with a click track: tempo and pitch are the knobs, a little seeded noise on top."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = 0.2 * np.sin(2 * np.pi * pitch * t) + 0.01 * rng.standard_normal(n)
    for onset in np.arange(0, seconds, 60.0 / bpm):
        seg = y[int(onset * sr): int(onset * sr) + 400]  # a view: the click is added in place
        seg += 0.6 * np.hanning(800)[400: 400 + seg.size] * rng.choice([-1, 1])
    return y.astype(np.float32)
