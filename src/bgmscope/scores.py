"""Real compositions from music21's bundled corpus, arranged as pretty_midi songs.

Used by the demo corpus, the genre styles corpus and the tests: melodies (Chinese folk songs of
the Essen collection, Irish fiddle tunes) and polyphonic pieces (Bach chorales) become songs with a
lead instrument, a bass line and chords guessed bar by bar, and an optional drum part.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pretty_midi

# no sitar (104): its drone patch has no single pitch, so it makes poor melody ground truth
LEAD_PROGRAMS = [0, 4, 11, 24, 40, 56, 65, 71, 73, 75, 80, 81, 110]
PAD_PROGRAMS = [4, 48, 49, 52, 88, 89, 0, 24]
BASS_PROGRAMS = [32, 33, 34, 38, 39]


@dataclass(frozen=True)
class Piece:
    """A parsed composition: notes as (start_beat, dur_beats, midi_pitch, part_index)."""

    source: str
    number: int
    title: str
    notes: tuple[tuple[float, float, int, int], ...]
    beats_per_bar: float
    tonic_pc: int
    mode: str

    @property
    def length_beats(self) -> float:
        return max(s + d for s, d, _, _ in self.notes)


def corpus_paths(source: str) -> list[str]:
    """music21 corpus names ('folder/stem') of a composer/collection folder, e.g. 'ryansMammoth'."""
    from music21 import corpus

    return sorted(f"{p.parent.name}/{p.stem}" for p in corpus.getComposer(source)
                  if p.suffix in (".abc", ".mxl", ".xml", ".krn", ".musicxml"))


def load_piece(path: str, number: int | None = None) -> Piece:
    """One score: ``number`` picks a tune (ABC X: number) from a multi-tune file such as the Essen
    collection's ``essenFolksong/han1``; parsing just that tune keeps it fast.

    music21's parse and key analysis cost ~0.25 s a score (the demo's 156 scores: ~40 s of a
    12-song demo), so the parsed :class:`Piece` is kept in the user's cache folder
    (:func:`scores_cache_dir`), keyed by the score, music21's version and :data:`PIECE_VERSION`."""
    cached = _read_cached(path, number)
    if cached is not None:
        return cached
    piece = _parse_piece(path, number)
    _write_cached(piece, path, number)
    return piece


def _parse_piece(path: str, number: int | None) -> Piece:
    from music21 import corpus, stream

    score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    index = number or 0
    notes = []
    parts = score.parts if score.parts else [score]
    for pi, part in enumerate(parts):
        for n in part.flatten().notes:
            for p in n.pitches:
                if n.quarterLength > 0:
                    notes.append((float(n.offset), float(n.quarterLength), int(p.midi), pi))
    if not notes:
        raise ValueError(f"{path}#{index} has no notes")
    ts = score.recurse().getElementsByClass("TimeSignature")
    bpb = float(ts[0].barDuration.quarterLength) if ts else 4.0
    try:
        key = score.analyze("key")
        tonic, mode = key.tonic.pitchClass, key.mode
    except Exception:  # key analysis can fail on odd scores; C major is a harmless default
        tonic, mode = 0, "major"
    title = score.metadata.title if score.metadata and score.metadata.title else ""
    title = title.strip() or path.rsplit("/", 1)[-1].upper().replace("BWV", "BWV ")
    return Piece(path, index, title, tuple(sorted(notes)), bpb, tonic, mode)


PIECE_VERSION = 1  # bump when _parse_piece reads a score differently (cached pieces are redone)


def scores_cache_dir() -> Path:
    """``$BGMSCOPE_CACHE_DIR/scores``, else ``$XDG_CACHE_HOME/bgmscope/scores`` (``~/.cache``): parsed
    scores are the same for every data folder, so they live beside numba's cache, not in one."""
    base = os.environ.get("BGMSCOPE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bgmscope")
    return Path(base) / "scores"


def _cache_file(path: str, number: int | None) -> Path:
    import music21

    from .fsutil import short_hash

    return scores_cache_dir() / f"{short_hash(path, number, music21.__version__, PIECE_VERSION, n=20)}.json"


def _read_cached(path: str, number: int | None) -> Piece | None:
    try:
        d = json.loads(_cache_file(path, number).read_text(encoding="utf-8"))
        if d["source"] != path or d["number"] != (number or 0):
            return None  # a hash collision: parse instead
        return Piece(d["source"], int(d["number"]), d["title"], tuple((float(a), float(b), int(p), int(i))
                     for a, b, p, i in d["notes"]), float(d["beats_per_bar"]), int(d["tonic_pc"]), d["mode"])
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or torn / from elsewhere: parse again
        return None


def _write_cached(piece: Piece, path: str, number: int | None) -> None:
    from .fsutil import atomic_path

    try:
        final = _cache_file(path, number)
        with atomic_path(final, durable=False) as tmp:  # a regenerable cache
            tmp.write_text(json.dumps(asdict(piece), ensure_ascii=False), encoding="utf-8")
    except OSError:
        pass  # an unwritable cache folder costs the next run a parse, nothing else


def _chord_for(pcs: list[int], tonic: int, mode: str) -> list[int]:
    """The diatonic triad (I, IV, V, vi / i, iv, v, VI) covering most of a bar's pitch classes."""
    degrees = [(0, 4, 7), (5, 9, 0), (7, 11, 2), (9, 0, 4)] if mode == "major" else \
              [(0, 3, 7), (5, 8, 0), (7, 10, 2), (8, 0, 3)]
    best = max(degrees, key=lambda tri: sum(((p - tonic) % 12) in tri for p in pcs))
    return [(tonic + d) % 12 for d in best]


def arrange(
    piece: Piece,
    rng: random.Random,
    *,
    tempo: float,
    transpose: int = 0,
    min_seconds: float = 0.0,
    lead_program: int | None = None,
    accompaniment: bool = True,
    drums: str | None = "backbeat",
) -> pretty_midi.PrettyMIDI:
    """A song from ``piece``: repeated until ``min_seconds`` long, with bass, chords and drums.

    ``drums``: None, 'backbeat', 'four-on-floor' or 'half-time'.
    """
    spb = 60.0 / tempo
    length = piece.length_beats
    bar = piece.beats_per_bar
    length = float(np.ceil(length / bar) * bar)
    repeats = max(1, int(np.ceil(min_seconds / (length * spb)))) if min_seconds else 1
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    parts = sorted({p for *_, p in piece.notes})
    lead_prog = rng.choice(LEAD_PROGRAMS) if lead_program is None else lead_program
    insts = {p: pretty_midi.Instrument(program=lead_prog if i == 0 else rng.choice(PAD_PROGRAMS),
                                       name=f"part{p}") for i, p in enumerate(parts)}
    for r in range(repeats):
        base = r * length
        for start, dur, pitch, part in piece.notes:
            vel = int(np.clip(rng.gauss(92 if part == parts[0] else 70, 8), 40, 127))
            s = (base + start) * spb
            insts[part].notes.append(pretty_midi.Note(vel, int(np.clip(pitch + transpose, 0, 127)), s,
                                                      s + max(0.05, dur * spb * 0.95)))
    pm.instruments.extend(insts.values())
    total_beats = repeats * length
    if accompaniment and len(parts) == 1:
        bass = pretty_midi.Instrument(program=rng.choice(BASS_PROGRAMS), name="bass")
        pad = pretty_midi.Instrument(program=rng.choice(PAD_PROGRAMS), name="chords")
        for b0 in np.arange(0, length, bar):
            pcs = [p % 12 for s, d, p, _ in piece.notes if b0 <= s < b0 + bar]
            tri = _chord_for(pcs, piece.tonic_pc, piece.mode)
            for r in range(repeats):
                s = (r * length + b0) * spb
                e = s + bar * spb
                root = 36 + (tri[0] + transpose) % 12
                for k in range(int(bar)):
                    bs = s + k * spb
                    bass.notes.append(pretty_midi.Note(84, root + (7 if k % 2 else 0), bs, bs + spb * 0.9))
                for pc in tri:
                    pad.notes.append(pretty_midi.Note(55, 60 + (pc + transpose) % 12, s, e - 0.02))
        pm.instruments.extend([bass, pad])
    if drums:
        pm.instruments.append(drum_part(drums, total_beats, spb, bar))
    return pm


def drum_part(style: str, total_beats: float, spb: float, bar: float) -> pretty_midi.Instrument:
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    kick, snare, hat = 36, 38, 42
    for beat in np.arange(0, total_beats, 0.5):
        t = beat * spb
        pos = beat % bar
        hits = [hat]
        if style == "four-on-floor" and pos % 1 == 0:
            hits.append(kick)
        elif style == "backbeat" and pos in (0, 2.5 if bar >= 4 else 0):
            hits.append(kick)
        elif style == "half-time" and pos == 0:
            hits.append(kick)
        if (style in ("backbeat", "four-on-floor") and pos in (1, 3)) or (style == "half-time" and pos == 2):
            hits.append(snare)
        for h in hits:
            kit.notes.append(pretty_midi.Note(100 if h != hat else 60, h, t, t + 0.1))
    return kit
