"""Audio the genre tests make: three labels a classifier must tell apart, with random gain/pitch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def make_clip(label: str, rng: np.random.Generator, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    gain = 10 ** (rng.uniform(-12, 0) / 20)
    if label == "tones":  # a sustained major triad at a random root
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        y = sum(np.sin(2 * np.pi * f0 * r * t) for r in (1, 1.26, 1.5))
    elif label == "clicks":  # a click train at a random tempo over faint noise
        y = rng.normal(0, 0.02, len(t))
        step = int(sr * 60 / rng.uniform(90, 180))
        for a in range(0, len(t) - 200, step):
            y[a: a + 200] += np.hanning(400)[200:] * rng.normal(0, 1, 200)
    elif label == "sweeps":  # rising chirps
        f = np.geomspace(200 * rng.uniform(0.8, 1.2), 3000, len(t) // 4)
        seg = np.sin(2 * np.pi * np.cumsum(f) / sr)
        y = np.tile(seg, 4)[: len(t)]
        y = np.pad(y, (0, len(t) - len(y)))
    else:
        raise ValueError(label)
    y = np.asarray(y, np.float64)
    return (gain * 0.9 * y / (np.max(np.abs(y)) + 1e-9)).astype(np.float32)


LABELS = ("clicks", "sweeps", "tones")


def make_dataset(root: Path, per_label: int = 8, seed: int = 0, ext: str = "wav") -> Path:
    rng = np.random.default_rng(seed)
    for lab in LABELS:
        for i in range(per_label):
            p = root / lab / f"{lab}.{i:05d}.{ext}"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(p), make_clip(lab, rng), SR)
    return root
