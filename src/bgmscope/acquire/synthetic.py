"""A synthetic chart corpus (chart CSV + real MP3s) for tests, benchmarks and trying the server.

Songs are real MP3s (a few distinct encoded tones or noise bursts, each song's copy made unique by a
trailing ID3v1 tag naming it), so downloads must decode and byte-compare like the real thing.
Titles are deliberately hostile ('/', '..', quotes, emoji, repeats) because real charts are.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import soundfile as sf

from ..prepare.ingest import STUDY_CSV_COLUMNS

HOSTILE_TITLES = ["生日快乐", "生日快乐~1", "../../etc/passwd", 'a "quoted" / title', "🎵 emoji 🎶", "CON",
                  "  spaced  ", "dj版-抖音热歌"]


def encode_tone(seconds: float, *, freq: float = 440.0, sr: int = 16000, noise: bool = False,
                seed: int = 0) -> bytes:
    """MP3 bytes of a sine (or seeded white noise, which compresses far less) of ``seconds``."""
    n = max(1, int(sr * seconds))
    if noise:
        y = np.random.default_rng(seed).uniform(-0.3, 0.3, n).astype(np.float32)
    else:
        y = (0.3 * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="MP3")
    return buf.getvalue()


def id3v1(title: str) -> bytes:
    """A 128-byte ID3v1 tag (decoders skip it): makes each song's bytes unique."""
    t = title.encode("latin-1", "replace")[:30].ljust(30, b"\0")
    return b"TAG" + t + b"\0" * 30 + b"\0" * 30 + b"2026" + b"\0" * 30 + b"\xff"


def make_chart_corpus(root: str | Path, n: int, *, seconds: float = 0.5, target_bytes: int | None = None,
                      missing: set[int] = frozenset(), seed: int = 0, first_id: int = 7_100_000_000_000_000_000
                      ) -> tuple[Path, dict[str, Path]]:
    """Write ``root/demo-chart.csv`` and ``root/audio/<music_id>.mp3`` for ``n`` songs.

    ``target_bytes`` makes files about that size (seeded noise); song indices in ``missing`` get no
    audio (the server reports them gone). Returns (csv path, {music_id: audio path}).
    """
    root = Path(root)
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if target_bytes:
        secs = 1.0
        for _ in range(2):  # the encoder's rate is not quite linear in length: estimate twice
            probe = encode_tone(secs, noise=True, sr=44100, seed=seed)
            secs = max(0.2, secs * target_bytes / max(1, len(probe)))
        bases = [encode_tone(secs, noise=True, sr=44100, seed=seed + k) for k in range(2)]
    else:
        bases = [encode_tone(seconds, freq=220.0 * (k + 1), seed=seed) for k in range(4)]
    files: dict[str, Path] = {}
    rows = []
    for i in range(n):
        mid = str(first_id + i)
        title = HOSTILE_TITLES[i % len(HOSTILE_TITLES)] if i < 2 * len(HOSTILE_TITLES) else f"歌曲{i}"
        count = int(rng.integers(1_000, 5_000_000))
        rows.append([mid, title, f"作者{i % 7}", max(1, int(round(seconds))), count, int(count * 0.1), True])
        if i not in missing:
            p = audio / f"{mid}.mp3"
            p.write_bytes(bases[i % len(bases)] + id3v1(mid))
            files[mid] = p
    out = root / "demo-chart.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*STUDY_CSV_COLUMNS, "is_demo"])
        w.writerows(rows)
    return out, files
