"""Synthetic songs of realistic length for the pipeline benchmark: distinct audio per song.

Each song has its own tempo, key, chord progressions, melody and drum pattern, a verse/chorus form
that repeats (so hooks and self-similarity exist) and a length of 1-4 minutes; it is written as a
44.1 kHz stereo MP3 (the chart's format), so decoding costs what it costs on real downloads. Only
the bars of each section are synthesised; the song tiles them (quick to make, still one song).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def _tone(f: float, n: int, decay: float, harmonics: int = 3) -> np.ndarray:
    t = np.arange(n) / SR
    y = sum(np.sin(2 * np.pi * f * (h + 1) * t) / (h + 1) ** 1.5 for h in range(harmonics))
    return y * np.exp(-t * decay) * np.minimum(1, t * 200)


def _bar(rng: np.random.Generator, beat: int, root: float, chord: list[int], melody: list[int],
         drums: np.ndarray) -> np.ndarray:
    n = 4 * beat
    y = np.zeros(n)
    for st in chord:  # a pad
        y += 0.08 * _tone(root * 2 ** (st / 12), n, 0.6, 2)
    y += 0.18 * _tone(root / 2, n, 1.5, 2)  # bass
    eighth = beat // 2
    for k, st in enumerate(melody):  # eight notes of the lead
        if st is not None:
            y[k * eighth:(k + 1) * eighth] += 0.16 * _tone(2 * root * 2 ** (st / 12), eighth, 6.0)
    for k in range(8):  # kick, snare, hat on the eighths
        a = k * eighth
        if drums[0, k]:
            y[a:a + eighth] += 0.5 * _tone(55.0, eighth, 30.0, 1)
        if drums[1, k]:
            y[a:a + 2000] += 0.25 * rng.standard_normal(2000) * np.exp(-np.arange(2000) / 400)
        if drums[2, k]:
            y[a:a + 600] += 0.06 * rng.standard_normal(600) * np.exp(-np.arange(600) / 100)
    return y


def song(seed: int, seconds: float) -> np.ndarray:
    """One song, ``seconds`` long, stereo float32 at 44.1 kHz."""
    rng = np.random.default_rng(seed)
    bpm = rng.uniform(78, 150)
    beat = int(SR * 60 / bpm)
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    scale = list(MAJOR) + list(MAJOR + 12)
    sections = {}
    for name in ("verse", "chorus", "bridge"):
        degrees = rng.choice(7, 4)
        drums = (rng.random((3, 8)) < [[0.35], [0.25], [0.7]]).astype(bool)
        drums[0, 0] = drums[1, 4] = True
        bars = []
        for d in degrees:
            chord = [int(MAJOR[d % 7]), int(MAJOR[(d + 2) % 7]) + (12 if d + 2 >= 7 else 0),
                     int(MAJOR[(d + 4) % 7]) + (12 if d + 4 >= 7 else 0)]
            melody = [int(scale[i]) if rng.random() < 0.8 else None for i in rng.integers(0, 12, 8)]
            bars.append(_bar(rng, beat, root * 2 ** (MAJOR[d] / 12), chord, melody, drums))
        sections[name] = np.concatenate(bars)
    form = ["verse", "verse", "chorus", "chorus", "verse", "bridge", "chorus", "chorus"]
    parts, total, i = [], 0, 0
    want = int(seconds * SR)
    while total < want:
        part = sections[form[i % len(form)]] * rng.uniform(0.8, 1.0)
        parts.append(part)
        total += part.size
        i += 1
    y = np.concatenate(parts)[:want]
    y *= np.minimum(1, np.minimum(np.arange(y.size), np.arange(y.size)[::-1]) / SR)  # fade in/out
    y /= max(1e-9, np.abs(y).max()) / 0.8
    right = np.roll(y, 220) * 0.9
    return np.stack([y, right], axis=1).astype(np.float32)


def write_song(job: tuple[int, float, str]) -> str:
    seed, seconds, path = job
    tmp = Path(path).with_suffix(".part.mp3")
    sf.write(str(tmp), song(seed, seconds), SR, format="MP3")
    tmp.replace(path)
    return path


def make_corpus(root: Path, n: int, *, jobs: int = 1, seed: int = 0) -> tuple[Path, list[Path]]:
    """``root/audio/<id>.mp3`` for songs 0..n-1 (made once, kept) and ``root/chart-<n>.csv``."""
    from bgmscope.engine import run_map

    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(60, 240, max(n, 1))
    ids = [str(7_200_000_000_000_000_000 + i) for i in range(n)]
    jobs_ = [(seed * 100_003 + i, float(lengths[i]), str(audio / f"{ids[i]}.mp3")) for i in range(n)
             if not (audio / f"{ids[i]}.mp3").exists()]
    for o in run_map(write_song, jobs_, jobs=jobs, desc=f"making {len(jobs_)} songs"):
        if not o.ok:
            raise RuntimeError(o.error)
    counts = rng.lognormal(11, 1.5, n).astype(int) + 100
    chart = root / f"chart-{n}.csv"
    with open(chart, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["音乐ID", "音乐名", "创作者", "歌曲时间", "使用人数", "使用人数增量"])
        for i in range(n):
            w.writerow([ids[i], f"合成歌曲 {i}", f"作者{i % 17}", int(lengths[i]), int(counts[i]), int(counts[i] // 10)])
    return chart, [audio / f"{i}.mp3" for i in ids]
