# ruff: noqa: E402
"""Report build time and size on a made corpus, beside the comparisons measured in the same run.

Prints: the whole build at -j 1 and -j 2 (ratio), per-song seconds, the HTML size, and the size of
the embedded Opus clips against the same clips as 16-bit WAV (ratio). Target: the 48-song demo's
report stage in < 60 s on 2 cores.

    python bench/report.py            # 48 songs x 15 s
    python bench/report.py --quick    # 12 songs x 8 s
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest
from bgmscope.report import build_report

SR = 16000


def tune(seed: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    step = 60.0 / rng.uniform(80, 160)
    for i in range(int(seconds / step) + 1):
        m = (t >= i * step) & (t < (i + 1) * step)
        f = 196.0 * 2 ** (rng.integers(0, 15) / 12)
        for h in (1, 2, 3):
            y[m] += 0.3 / h * np.sin(2 * np.pi * f * h * t[m])
        k = int(i * step * SR)
        y[k:k + 300] += 0.5 * np.exp(-np.arange(len(y[k:k + 300])) / 60.0)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def make(root: Path, n: int, seconds: float) -> Settings:
    audio = root / "audio"
    audio.mkdir(parents=True)
    for i in range(n):
        sf.write(audio / f"b{i:03d}.wav", tune(i, seconds), SR)
    pd.DataFrame({"音乐ID": [f"b{i:03d}" for i in range(n)], "音乐名": [f"测试歌曲 {i} 🎵" for i in range(n)],
                  "创作者": ["bench"] * n, "使用人数": [100000 - 1000 * i for i in range(n)]}
                 ).to_csv(root / "chart.csv", index=False)
    s = Settings(data_dir=root / "data", clip_length_s=seconds).ensure()
    with Catalog(s.catalog_path) as cat:
        ingest([root / "chart.csv", audio], cat)
        prepare(cat, s, kind="first", jobs=2)
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n, seconds, cards = (12, 8.0, 6) if a.quick else (48, 15.0, 12)
    with tempfile.TemporaryDirectory(prefix="bgmscope-bench-report-") as tmp:
        s = make(Path(tmp), n, seconds)
        with Catalog(s.catalog_path) as cat:  # warm-up: imports and numba compilation are not the report's cost
            build_report(cat, s, out_dir=Path(tmp) / "warm", cards=1, jobs=1)
        times = {}
        for jobs in (1, 2):
            with Catalog(s.catalog_path) as cat:
                t0 = time.perf_counter()
                res = build_report(cat, s, out_dir=Path(tmp) / f"j{jobs}", cards=cards, jobs=jobs)
                times[jobs] = time.perf_counter() - t0
        page = res.html.read_text(encoding="utf-8")
        ogg = sum(len(m) * 3 // 4 for m in re.findall(r'src="data:audio/ogg;base64,([^"]+)"', page))
        wav = cards * int(seconds * SR) * 2
    print(f"report bench: {n} songs x {seconds:.0f} s, {cards} cards")
    print(f"  build -j 1: {times[1]:6.1f} s  ({times[1] / n:.2f} s/song)")
    print(f"  build -j 2: {times[2]:6.1f} s  ({times[2] / n:.2f} s/song)   speed-up vs -j 1: {times[1] / times[2]:.2f}x")
    print(f"  target: the 48-song report stage < 60 s on 2 cores -> {'met' if n < 48 or times[2] < 60 else 'MISSED'}")
    print(f"  report.html: {len(page) / 1e6:.2f} MB; embedded clips {ogg / 1e3:.0f} kB as Opus vs "
          f"{wav / 1e3:.0f} kB as 16-bit WAV ({wav / max(ogg, 1):.1f}x smaller)")


if __name__ == "__main__":
    main()
