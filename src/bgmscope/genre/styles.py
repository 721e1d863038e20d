"""The offline styles corpus: real compositions from music21's corpus, labelled by style, rendered
through a General MIDI SoundFont, so genre models can be trained and evaluated without GTZAN.

Every clip's lead instrument, accompaniment, drums, tempo, transposition and gain are drawn at
random *independently of the label*, so timbre, loudness, key and tempo cannot give the answer
away: what is left to learn is the music itself (melody, texture, rhythm, harmony). Each clip
records the piece it came from, so evaluation keeps every clip of a piece on one side of a split.

Layout written (the folder-per-label layout :mod:`bgmscope.genre.dataset` reads)::

    OUT/<style>/<style>.<piece>.<k>.wav ...
    OUT/manifest.csv    path, label, group (piece), and the drawn recipe of every clip
"""

from __future__ import annotations

import dataclasses
import json
import random
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..engine import run_map
from ..errors import ParameterError
from ..fsutil import atomic_path, atomic_write_text, short_hash

STYLES_VERSION = 2
# style -> corpus sources: a music21 composer/collection folder, or (multi-tune file, tune range)
STYLE_SOURCES: dict[str, list[str | tuple[str, int, int]]] = {
    "chinese-folk": [("essenFolksong/han1", 1, 400), ("essenFolksong/han2", 1, 400)],
    "irish-fiddle": ["ryansMammoth"],
    "bach-chorale": ["bach"],
    "renaissance-mass": ["palestrina"],
    "madrigal": ["monteverdi"],
    "trecento": ["trecento"],
}
STYLES = tuple(STYLE_SOURCES)
DRUM_CHOICES = (None, None, "backbeat", "four-on-floor", "half-time")
GM_MELODIC = [0, 4, 6, 11, 19, 21, 24, 25, 40, 41, 42, 46, 48, 52, 56, 57, 60, 65, 68, 71, 73, 75,
              80, 81, 89, 104, 105, 110]


@dataclass(frozen=True)
class ClipRecipe:
    """Everything needed to render one labelled clip, reproducibly."""

    clip_id: str
    label: str
    path: str  # music21 corpus path
    number: int | None  # tune number in a multi-tune file
    group: str  # the piece: clips of one group never straddle a train/test split
    tempo: float
    transpose: int
    lead_program: int
    accompaniment: bool
    drums: str | None
    gain_db: float
    offset_s: float
    length_s: float
    seed: int
    renderer: str = "timgm6mb"  # see bgmscope.genre.render
    augment_seed: int | None = None  # None: no augmentation; else the seed of augment.random_chain


HOLDOUT_EVERY = 4  # split="test": the pieces whose group hashes to 0 mod 4 (about a quarter); "train": the rest


def piece_split(group: str) -> str:
    """'test' or 'train': a fixed split of the pieces by a hash of their group, so a training corpus
    and a test corpus never share a piece, whatever size either is built at."""
    return "test" if zlib.crc32(group.encode("utf-8")) % HOLDOUT_EVERY == 0 else "train"


def _pieces(style: str, rng: random.Random, n: int, exclude: frozenset[str] = frozenset(),
            split: str | None = None) -> list[tuple[str, int | None]]:
    from ..scores import corpus_paths

    pool: list[tuple[str, int | None]] = []
    for src in STYLE_SOURCES[style]:
        if isinstance(src, tuple):
            path, lo, hi = src
            pool += [(path, k) for k in range(lo, hi + 1)]
        else:
            pool += [(p, None) for p in corpus_paths(src)]
    pool = list(dict.fromkeys(pool))  # one piece stored twice (.mxl and .xml) is one piece
    pool = [(p, k) for p, k in pool if (g := f"{p}#{k}" if k is not None else p) not in exclude
            and (split is None or piece_split(g) == split)]
    if not pool:
        raise ParameterError(f"music21 corpus holds no pieces for style {style!r}")
    rng.shuffle(pool)
    # more candidates than needed: some scores fail to parse or are too short, and are skipped
    return pool[: min(len(pool), 4 * n + 20)]


def plan_styles(per_class: int = 40, *, styles: tuple[str, ...] | list[str] = STYLES, seed: int = 0,
                length_s: float = 10.0, clips_per_piece: int = 1,
                exclude_groups: frozenset[str] | set[str] = frozenset(), split: str | None = None) -> list[ClipRecipe]:
    """Candidate recipes for every style (about 4x ``per_class`` of them, in a seeded order).

    :func:`build_styles_corpus` renders them in order until ``per_class`` clips of a style succeed.
    ``clips_per_piece`` > 1 cuts several clips (different offsets, fresh arrangement) per piece.
    Pieces named in ``exclude_groups`` (a training corpus's groups) are never drawn, so a test
    corpus can hold only pieces a model has not heard; ``split`` ('train' | 'test') keeps only that
    side of the fixed piece split (:func:`piece_split`).
    """
    if split not in (None, "train", "test"):
        raise ParameterError(f"split must be 'train', 'test' or None, got {split!r}")
    if per_class < 2:
        raise ParameterError(f"per_class must be >= 2, got {per_class}")
    if length_s <= 0.5:
        raise ParameterError(f"clip length must be > 0.5 s, got {length_s}")
    unknown = [s for s in styles if s not in STYLE_SOURCES]
    if unknown:
        raise ParameterError(f"unknown style(s) {unknown}; known: {', '.join(STYLES)}")
    recipes: list[ClipRecipe] = []
    for si, style in enumerate(styles):
        rng = random.Random(seed * 1000 + si)
        n_pieces = -(-per_class // clips_per_piece)
        for pi, (path, number) in enumerate(_pieces(style, rng, n_pieces, frozenset(exclude_groups), split)):
            group = f"{path}#{number}" if number is not None else path
            for k in range(clips_per_piece):
                recipes.append(ClipRecipe(
                    clip_id=f"{style}.{pi:03d}.{k}", label=style, path=path, number=number, group=group,
                    tempo=round(rng.uniform(70, 150), 1), transpose=rng.randint(-6, 6),
                    lead_program=rng.choice(GM_MELODIC), accompaniment=rng.random() < 0.6,
                    drums=rng.choice(DRUM_CHOICES), gain_db=round(rng.uniform(-14, 0), 1),
                    offset_s=round(rng.uniform(0, 6) + k * length_s, 2), length_s=length_s,
                    seed=rng.randrange(2**31)))
    return recipes


def render_clip(job: tuple[ClipRecipe, int]) -> tuple[np.ndarray, int]:
    """Worker: arrange and render one recipe; returns ``(y, sr)`` mono float32 of ``length_s``.

    Only the bars needed for ``offset_s + length_s`` are rendered (a Palestrina movement would
    otherwise cost minutes); a piece shorter than that is repeated by the arranger. The recipe's
    ``renderer`` makes the sound (:mod:`.render`); with an ``augment_seed`` the cut clip goes
    through :func:`.augment.random_chain` before the drawn gain.
    """
    from ..scores import arrange, load_piece
    from ..synth import render_midi

    recipe, sr = job
    piece = load_piece(recipe.path, recipe.number)
    need_beats = (recipe.offset_s + recipe.length_s + 1.0) * recipe.tempo / 60.0
    notes = tuple(n for n in piece.notes if n[0] < need_beats)
    if len({round(n[0], 3) for n in notes}) < 3:  # slow polyphony may hold 3 chords in a short clip
        raise ValueError(f"{recipe.group}: fewer than 3 note onsets in the clip")
    piece = dataclasses.replace(piece, notes=notes)
    rng = random.Random(recipe.seed)
    pm = arrange(piece, rng, tempo=recipe.tempo, transpose=recipe.transpose,
                 min_seconds=recipe.offset_s + recipe.length_s + 0.5, lead_program=recipe.lead_program,
                 accompaniment=recipe.accompaniment, drums=recipe.drums)
    if recipe.renderer == "timgm6mb":  # the original path (panned mix), so old corpora stay identical
        y = render_midi(pm, sr=sr, stereo=False)
    else:
        from .render import render

        y = render(pm, recipe.renderer, sr=sr)
    a = int(recipe.offset_s * sr)
    n = int(recipe.length_s * sr)
    y = y[a: a + n]
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    if float(np.max(np.abs(y), initial=0.0)) < 1e-4:
        raise ValueError(f"{recipe.group}: silent render")
    if recipe.augment_seed is not None:
        from .augment import random_chain

        y, _ = random_chain(y, sr, np.random.default_rng(recipe.augment_seed))
        if float(np.max(np.abs(y), initial=0.0)) < 1e-4:
            raise ValueError(f"{recipe.group}: silent after augmentation")
    # peak-normalise then apply the drawn gain, so loudness says nothing about the style
    y = y / float(np.max(np.abs(y))) * 0.9 * 10 ** (recipe.gain_db / 20)
    return y.astype(np.float32), sr


def _render_to_file(job: tuple[ClipRecipe, int, str]) -> str:
    recipe, sr, out = job
    y, sr = render_clip((recipe, sr))
    with atomic_path(Path(out)) as tmp:
        sf.write(str(tmp), y, sr, subtype="PCM_16", format="WAV")
    return out


def _versions(r: ClipRecipe, renderers: tuple[str, ...], k: int, augment: bool) -> list[ClipRecipe]:
    """The renderings of one recipe: ``k`` renderers drawn (by the recipe's seed) from ``renderers``;
    the default single TimGM6mb rendering keeps the recipe's own clip id."""
    if renderers == ("timgm6mb",) and not augment:
        return [r]
    chosen = renderers if k >= len(renderers) else tuple(random.Random(r.seed ^ 0x5EED).sample(renderers, k))
    return [dataclasses.replace(r, clip_id=f"{r.clip_id}@{ren}{'+aug' if augment else ''}", renderer=ren,
                                augment_seed=(zlib.crc32(f"{r.seed}/{ren}".encode()) if augment else None))
            for ren in chosen]


@dataclass
class StylesCorpus:
    root: Path
    manifest: pd.DataFrame  # path (relative to root), label, group, recipe columns
    failures: list[tuple[str, str]]


def build_styles_corpus(out: str | Path, *, per_class: int = 40, styles: tuple[str, ...] | list[str] = STYLES,
                        seed: int = 0, length_s: float = 10.0, sr: int = 16000, jobs: int = 1,
                        clips_per_piece: int = 1, renderers: tuple[str, ...] | list[str] = ("timgm6mb",),
                        renders_per_clip: int | None = None, augment: bool = False,
                        exclude_groups: frozenset[str] | set[str] = frozenset(), split: str | None = None,
                        show_progress: bool = True) -> StylesCorpus:
    """Render the styles corpus into ``out`` (resumable: existing clips of the same recipe are kept).

    Returns the corpus with its manifest; per style, candidates are rendered in order until
    ``per_class`` succeed (a score that fails to parse is recorded and replaced by the next).
    Each candidate is rendered by ``renders_per_clip`` renderers drawn from ``renderers`` (default:
    all of them; files ``<clip>@<renderer>[+aug].wav``), through :func:`.augment.random_chain` when
    ``augment``; every rendering of a piece shares its group. ``exclude_groups``, ``split``: see
    :func:`plan_styles`. A corpus grows in place: the first candidates do not depend on
    ``per_class``, so a re-run with a larger ``per_class`` keeps every clip made before.
    """
    from .render import get_renderer

    renderers = tuple(renderers)
    if not renderers:
        raise ParameterError("give at least one renderer")
    for name in renderers:
        get_renderer(name)  # unknown or not installed: one clear message before any work
    k = len(renderers) if renders_per_clip is None else int(renders_per_clip)
    if not 1 <= k <= len(renderers):
        raise ParameterError(f"renders_per_clip must be in 1..{len(renderers)}, got {renders_per_clip}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    recipes = plan_styles(per_class, styles=styles, seed=seed, length_s=length_s,
                          clips_per_piece=clips_per_piece, exclude_groups=exclude_groups, split=split)
    key = {"version": STYLES_VERSION, "per_class": per_class, "styles": list(styles), "seed": seed,
           "length_s": length_s, "sr": sr, "clips_per_piece": clips_per_piece}
    if renderers != ("timgm6mb",) or augment or exclude_groups or split:  # the default keeps its old stamp
        key.update({"renderers": list(renderers), "renders_per_clip": k, "augment": augment,
                    "exclude_groups": short_hash(sorted(exclude_groups)), "split": split})
    stamp = root / "styles.json"

    def recipe_set(d: dict) -> dict:  # per_class only says how far down the candidate list to go
        return {k: v for k, v in d.items() if k != "per_class"}

    if stamp.exists() and recipe_set(json.loads(stamp.read_text("utf-8"))) != recipe_set(key):
        for old in root.glob("*/*.wav"):  # a different recipe set: stale clips must not be reused
            old.unlink()
    atomic_write_text(stamp, json.dumps(key, ensure_ascii=False, indent=1))

    by_style: dict[str, list[ClipRecipe]] = {s: [r for r in recipes if r.label == s] for s in styles}
    done: dict[str, list[tuple[ClipRecipe, str]]] = {s: [] for s in styles}
    failures: list[tuple[str, str]] = []
    cursor = {s: 0 for s in styles}
    bad_groups: set[str] = set()
    # rounds: render the next candidates of every style until each has per_class clips; files are
    # named by candidate id, so a resumed build finds exactly the clips it made before
    while True:
        batch: list[tuple[ClipRecipe, list[tuple[ClipRecipe, int, str]]]] = []
        for s in styles:
            missing = per_class - len({r.clip_id.split("@")[0] for r, _ in done[s]})
            cands = by_style[s]
            while missing > 0 and cursor[s] < len(cands):
                r = cands[cursor[s]]
                cursor[s] += 1
                if r.group in bad_groups:
                    continue
                batch.append((r, [(v, sr, str(root / s / f"{v.clip_id}.wav"))
                                  for v in _versions(r, renderers, k, augment)]))
                missing -= 1
        if not batch:
            break
        todo = [j for _, js in batch for j in js if not Path(j[2]).exists()]
        errors = {}
        for o in run_map(_render_to_file, todo, jobs=jobs, desc="rendering styles", show_progress=show_progress):
            if not o.ok:
                errors[o.item[2]] = o.error
        for r, js in batch:
            bad = [(v, errors[p]) for v, _sr, p in js if p in errors]
            if bad:  # a piece one renderer cannot play is dropped whole, not kept lopsided
                failures += [(v.clip_id, e) for v, e in bad]
                bad_groups.add(r.group)
                for _v, _sr, p in js:
                    Path(p).unlink(missing_ok=True)
            else:
                done[r.label] += [(v, p) for v, _sr, p in js]
    short = {s: n for s in styles if (n := len({r.clip_id.split("@")[0] for r, _ in done[s]})) < per_class}
    rows = []
    for s in styles:
        for r, path in done[s]:
            d = asdict(r)
            d["path"] = str(Path(path).relative_to(root))
            d["source"] = r.path if r.number is None else f"{r.path}#{r.number}"
            rows.append(d)
    manifest = pd.DataFrame(rows)
    cols = ["path", "label", "group", "clip_id", "source"] + [c for c in manifest.columns
                                                             if c not in ("path", "label", "group", "clip_id", "source", "number")]
    manifest = manifest[cols]
    with atomic_path(root / "manifest.csv") as tmp:
        manifest.to_csv(tmp, index=False, encoding="utf-8")
    if short:
        failures.append(("corpus", f"styles short of {per_class} clips: {short}"))
    return StylesCorpus(root, manifest, failures)
