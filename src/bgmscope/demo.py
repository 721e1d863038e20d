"""The offline demo corpus: real compositions from music21's corpus, arranged and rendered through a
General MIDI SoundFont, encoded as MP3, with a demo chart CSV (clearly marked as demo data).

Chinese folk songs (Essen collection), Irish fiddle tunes (Ryan's Mammoth) and Bach chorales get
varied lead instruments, tempi, keys and drum parts. Popularity is drawn so that it leans on tempo
and drums (a planted, documented effect the hit analysis should find), plus noise. Two songs get a
shorter edit ('-剪辑版'), as real charts hold. Deterministic for a seed; a rebuild reuses the files.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from .engine import run_map
from .fsutil import atomic_path, atomic_write_text

DEMO_VERSION = 2
SOURCES = [  # (style, corpus path or folder, share, chinese label)
    ("chinese-folk", "essenFolksong/han1", 0.35, "中国民歌"),
    ("chinese-folk", "essenFolksong/han2", 0.25, "中国民歌"),
    ("irish-fiddle", "ryansMammoth", 0.2, "爱尔兰小提琴曲"),
    ("bach-chorale", "bach", 0.2, "巴赫众赞歌"),
]
DRUM_STYLES = [None, "backbeat", "four-on-floor", "half-time"]


@dataclass(frozen=True)
class SongRecipe:
    music_id: str
    style: str
    path: str
    number: int | None
    label: str
    tempo: float
    transpose: int
    drums: str | None
    min_seconds: float
    seed: int
    edit_of: str | None = None  # music_id of the song this is a cut of
    cut_offset_s: float = 0.0
    cut_length_s: float = 0.0
    cut_gain_db: float = 0.0


@dataclass
class DemoCorpus:
    root: Path
    audio_dir: Path
    midi_dir: Path
    chart_csv: Path
    songs: pd.DataFrame


def plan_corpus(n_songs: int, seed: int) -> list[SongRecipe]:
    from .scores import corpus_paths

    if n_songs < 3:
        raise ValueError("the demo corpus needs at least 3 songs")
    rng = random.Random(seed)
    n_edits = 2 if n_songs >= 20 else 0
    n_orig = n_songs - n_edits
    recipes: list[SongRecipe] = []
    counts = [int(round(share * n_orig)) for *_, share, _ in SOURCES]
    counts[0] += n_orig - sum(counts)
    for (style, path, _share, label), count in zip(SOURCES, counts, strict=True):
        if path in ("ryansMammoth", "bach"):
            files = corpus_paths(path)
            chosen = [(f, None) for f in rng.sample(files, count)]
        else:
            chosen = [(path, n) for n in rng.sample(range(1, 500), count)]
        for f, number in chosen:
            i = len(recipes)
            recipes.append(SongRecipe(
                music_id=str(6_900_000_000_000_000_000 + seed * 10_000 + i), style=style, path=f,
                number=number, label=label, tempo=round(rng.uniform(72, 140), 1),
                transpose=rng.randint(-4, 4),
                drums=None if style == "bach-chorale" and rng.random() < 0.5 else rng.choice(DRUM_STYLES),
                min_seconds=rng.uniform(40, 60), seed=rng.randrange(2**31)))
    for k in range(n_edits):
        src = recipes[k * 3]
        recipes.append(SongRecipe(**{**asdict(src), "music_id": str(int(src.music_id) + 5000 + k),
                                     "edit_of": src.music_id, "cut_offset_s": round(rng.uniform(3, 12), 2),
                                     "cut_length_s": round(rng.uniform(24, 30), 2),
                                     "cut_gain_db": round(rng.uniform(-6, -2), 1)}))
    return recipes


def render_song(job: tuple[SongRecipe, str, str]) -> dict:
    """Worker: arrange, render and encode one song; returns its chart row."""
    from .scores import arrange, load_piece
    from .synth import render_midi

    recipe, audio_dir, midi_dir = job
    mp3 = Path(audio_dir) / f"{recipe.music_id}.mp3"
    mid = Path(midi_dir) / f"{recipe.music_id}.mid"
    piece = load_piece(recipe.path, recipe.number)
    rng = random.Random(recipe.seed)
    pm = arrange(piece, rng, tempo=recipe.tempo, transpose=recipe.transpose, min_seconds=recipe.min_seconds,
                 drums=recipe.drums)
    sr = 44100
    if not (mp3.exists() and mid.exists()):
        y = render_midi(pm, sr=sr)
        if recipe.edit_of:
            a = int(recipe.cut_offset_s * sr)
            y = y[:, a: a + int(recipe.cut_length_s * sr)] * (10 ** (recipe.cut_gain_db / 20))
        with atomic_path(mid) as tmp:
            pm.write(str(tmp))
        with atomic_path(mp3) as tmp:
            sf.write(str(tmp), y.T, sr, format="MP3")
        duration = y.shape[1] / sr
    else:
        duration = sf.info(str(mp3)).duration
    title = f"{recipe.label}·{piece.title}"
    if recipe.edit_of:
        title += "-剪辑版"
    drums = recipe.drums or "none"
    return {"music_id": recipe.music_id, "title": title, "style": recipe.style, "tempo": recipe.tempo,
            "drums": drums, "duration_s": round(duration, 2), "edit_of": recipe.edit_of,
            "source": f"{recipe.path}#{recipe.number}" if recipe.number else recipe.path}


def demo_popularity(songs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Plausible chart numbers: log(user_count) leans on tempo and drums (planted), plus noise."""
    rng = np.random.default_rng(seed + 7)
    z_tempo = (songs["tempo"] - songs["tempo"].mean()) / (songs["tempo"].std() or 1)
    has_drums = (songs["drums"] != "none").astype(float)
    log_count = 11.5 + 0.6 * z_tempo + 0.5 * has_drums + rng.normal(0, 0.6, len(songs))
    out = songs.copy()
    out["user_count"] = np.round(np.exp(log_count)).astype(int)
    out["user_incr"] = np.round(out["user_count"] * rng.beta(2, 18, len(songs))).astype(int)
    out = out.sort_values("user_count", ascending=False).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def build_demo_corpus(root: Path, *, n_songs: int = 48, seed: int = 0, jobs: int = 1,
                      console=None) -> DemoCorpus:
    root = Path(root)
    audio_dir, midi_dir = root / "audio", root / "midi"
    audio_dir.mkdir(parents=True, exist_ok=True)
    midi_dir.mkdir(parents=True, exist_ok=True)
    chart_csv = root / "demo-chart.csv"
    manifest = root / "manifest.json"
    key = {"version": DEMO_VERSION, "seed": seed, "songs": n_songs}
    state = json.loads(manifest.read_text("utf-8")) if manifest.exists() else {}
    if state.get("key") == key and state.get("complete") and chart_csv.exists():
        songs = pd.read_csv(chart_csv, dtype={"音乐ID": str})
        if all((audio_dir / f"{m}.mp3").exists() for m in songs["音乐ID"]):
            if console:
                console.print(f"demo corpus: reusing {len(songs)} songs in {root}")
            return DemoCorpus(root, audio_dir, midi_dir, chart_csv, songs)
    if state.get("key") != key:
        # another plan (seed, size, version): its files would sit under this plan's ids
        for folder in (audio_dir, midi_dir):
            for f in folder.iterdir():
                f.unlink()
        chart_csv.unlink(missing_ok=True)
    atomic_write_text(manifest, json.dumps({"key": key, "complete": False}))
    recipes = plan_corpus(n_songs, seed)
    rows, failed = [], []
    jobs_list = [(r, str(audio_dir), str(midi_dir)) for r in recipes]
    for outcome in run_map(render_song, jobs_list, jobs=jobs, desc="render demo songs"):
        if outcome.ok:
            rows.append(outcome.result)
        else:
            failed.append((outcome.item[0].music_id, outcome.error))
    if console and failed:
        for mid, err in failed:
            console.print(f"  [yellow]skipped demo song {mid}: {err}[/yellow]")
    songs = demo_popularity(pd.DataFrame(rows).sort_values("music_id"), seed)
    chart = pd.DataFrame({
        "音乐ID": songs["music_id"], "音乐名": songs["title"], "创作者": "bgmscope demo (synthetic)",
        "歌曲时间": songs["duration_s"].map(lambda d: int(math.ceil(d))), "使用人数": songs["user_count"],
        "使用人数增量": songs["user_incr"], "排名": songs["rank"], "榜单": "demo (synthetic data)",
        "is_demo": True, "style": songs["style"], "tempo_bpm": songs["tempo"], "drums": songs["drums"],
        "edit_of": songs["edit_of"], "score": songs["source"],
    })
    atomic_write_text(chart_csv, chart.to_csv(index=False))
    atomic_write_text(manifest, json.dumps({"key": key, "complete": True}))
    return DemoCorpus(root, audio_dir, midi_dir, chart_csv, chart)
