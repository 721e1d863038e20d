"""Labelled audio datasets in the folder-per-label layout, and clip-level patches.

Reads the GTZAN layout (``<genre>/<genre>.000NN.au``) and any ``<label>/*.{mp3,wav,flac,ogg,au}``
tree. When the folder holds a ``manifest.csv`` (as the styles corpus does) its ``group`` column
names the piece each clip came from; otherwise every clip is its own group. Evaluation splits by
group, so patches of one clip (or clips of one piece) are never on both sides of a split.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.decode import load
from ..errors import ParameterError

DATASET_EXTENSIONS = {".mp3", ".wav", ".flac", ".ogg", ".au"}


@dataclass
class LabelledDataset:
    """The clips of a dataset: ``items`` has columns path (absolute), label, group, clip_id."""

    root: Path
    items: pd.DataFrame

    @property
    def labels(self) -> list[str]:
        return sorted(self.items["label"].unique())

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.items["label"].value_counts().sort_index().items()}


def load_dataset(root: str | Path, *, min_per_label: int = 1) -> LabelledDataset:
    """Index a folder-per-label dataset (no audio is read here).

    Raises ParameterError when the folder is missing or holds no labelled audio. Labels are the
    immediate sub-folder names; files deeper down belong to their top sub-folder's label.
    """
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"dataset folder not found: {root}")
    manifest = root / "manifest.csv"
    if manifest.is_file():
        m = pd.read_csv(manifest, encoding="utf-8", dtype={"path": str, "label": str, "group": str})
        missing = {"path", "label"} - set(m.columns)
        if missing:
            raise ParameterError(f"{manifest}: missing column(s) {sorted(missing)}")
        m = m[[(root / p).is_file() for p in m["path"]]]
        items = pd.DataFrame({"path": [str(root / p) for p in m["path"]], "label": m["label"].astype(str),
                              "group": m["group"].astype(str) if "group" in m else m["path"].astype(str)})
    else:
        rows = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(sub.rglob("*")):
                if f.is_file() and f.suffix.lower() in DATASET_EXTENSIONS and not f.name.startswith("."):
                    rows.append((str(f), sub.name, str(f.relative_to(root))))
        items = pd.DataFrame(rows, columns=["path", "label", "group"])
    if items.empty:
        raise ParameterError(f"no labelled audio under {root} (expected <label>/<file>.{{wav,au,mp3,flac,ogg}})")
    items["clip_id"] = [str(Path(p).relative_to(root)) for p in items["path"]]
    items = items.sort_values("clip_id").reset_index(drop=True)
    small = {k: v for k, v in items["label"].value_counts().items() if v < min_per_label}
    if small:
        raise ParameterError(f"labels with fewer than {min_per_label} clips: {small}")
    return LabelledDataset(root, items)


def load_clip_audio(path: str | Path, *, sr: int = 16000, duration: float | None = 30.0) -> np.ndarray:
    """Decode one dataset clip (mono, ``sr``), at most ``duration`` seconds from the start."""
    y, _ = load(path, sr=sr, duration=duration)
    return y


def patches(y: np.ndarray, sr: int, *, patch_s: float = 3.0, hop_s: float | None = None) -> Iterator[np.ndarray]:
    """Cut a clip into ``patch_s`` windows (hop ``hop_s``, default no overlap); a clip shorter than
    one patch yields itself zero-padded, so every clip gives at least one patch."""
    if patch_s <= 0 or (hop_s is not None and hop_s <= 0):
        raise ParameterError(f"patch_s and hop_s must be > 0, got {patch_s}, {hop_s}")
    n = int(round(patch_s * sr))
    hop = int(round((hop_s or patch_s) * sr))
    if len(y) <= n:
        yield np.pad(y, (0, n - len(y)))
        return
    for a in range(0, len(y) - n + 1, hop):
        yield y[a: a + n]
