"""Melody composition: a variable-order Markov model over key-free (interval, duration) tokens.

Training melodies (transcribed songs of a chart or of one cluster) become token sequences: each
note is ``(interval from the previous note in semitones, inter-onset interval in beats)``, with
intervals clipped to an octave and durations quantised to a musical grid, so the model is
independent of key and tempo. :class:`MelodyModel` counts continuations of every context up to
``max_order`` tokens and predicts with interpolated Witten-Bell smoothing (each longer context that
was seen refines the shorter one's estimate in proportion to its evidence). Generation keeps the line in the chosen key (out-of-
scale and out-of-range candidates are down-weighted), fills ``n_bars`` bars and ends on the tonic.
Chords (diatonic triads that cover each bar's melody) and a drum pattern chosen from the corpus'
tempo and rhythm statistics complete the song. Novelty is the longest token n-gram of the result
that occurs verbatim in a training melody.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pretty_midi

from ..errors import ParameterError
from ..scores import drum_part
from .melody import Note

DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)  # beats
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
KEYS = {n: i for i, n in enumerate(["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"])}
KEYS.update({"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10})

Token = tuple[int, float]


def quantize_duration(beats: float) -> float:
    return min(DURATIONS, key=lambda d: abs(np.log2(max(beats, 1e-3) / d)))


def tokens_from_notes(notes: Sequence[Note], tempo_bpm: float, *, max_rest_beats: float = 4.0
                      ) -> list[list[Token]]:
    """Token sequences of a melody; a rest longer than ``max_rest_beats`` starts a new phrase."""
    if tempo_bpm <= 0:
        raise ParameterError("tempo must be positive")
    spb = 60.0 / tempo_bpm
    notes = sorted(notes, key=lambda n: n.start)
    phrases: list[list[Token]] = []
    cur: list[Token] = []
    for a, b in zip(notes, notes[1:], strict=False):
        ioi = (b.start - a.start) / spb
        if ioi > max_rest_beats:
            if len(cur) >= 2:
                phrases.append(cur)
            cur = []
            continue
        cur.append((int(np.clip(b.pitch - a.pitch, -12, 12)), quantize_duration(ioi)))
    if len(cur) >= 2:
        phrases.append(cur)
    return phrases


class MelodyModel:
    """Variable-order Markov model over tokens (scikit-learn style: ``fit`` returns self).

    Parameters
    ----------
    max_order : longest context used.
    random_state : seed for :meth:`generate`.
    """

    def __init__(self, max_order: int = 3, random_state: int | None = 0):
        if max_order < 1:
            raise ParameterError("max_order must be >= 1")
        self.max_order = max_order
        self.random_state = random_state

    def fit(self, sequences: Sequence[Sequence[Token]]) -> MelodyModel:
        seqs = [list(s) for s in sequences if len(s) >= 2]
        if not seqs:
            raise ParameterError("no training melodies (need sequences of at least 2 notes)")
        counts: dict[tuple, Counter] = defaultdict(Counter)
        for s in seqs:
            for i, tok in enumerate(s):
                for k in range(0, self.max_order + 1):
                    if i - k < 0:
                        break
                    counts[tuple(s[i - k:i])][tok] += 1
        self.counts_ = dict(counts)
        self.vocab_ = sorted(self.counts_[()])
        self.sequences_ = seqs
        self.n_tokens_ = sum(len(s) for s in seqs)
        return self

    def distribution(self, history: Sequence[Token]) -> dict[Token, float]:
        """Blended next-token probabilities given ``history``."""
        if not hasattr(self, "counts_"):
            raise ParameterError("fit the model first")
        # interpolated Witten-Bell: each longer context refines the shorter one's estimate
        # in proportion to how much evidence it holds (N tokens seen, T distinct continuations)
        base = self.counts_[()]
        n0 = sum(base.values())
        probs = {t: c / n0 for t, c in base.items()}
        for k in range(1, min(self.max_order, len(history)) + 1):
            c = self.counts_.get(tuple(history[len(history) - k:]))
            if not c:
                break
            n, t = sum(c.values()), len(c)
            probs = {tok: (c.get(tok, 0) + t * p) / (n + t) for tok, p in probs.items()}
        mix = probs
        z = sum(mix.values())
        return {t: v / z for t, v in mix.items()}

    def generate(self, n_beats: float, *, tonic: int = 0, mode: str = "major", low: int = 57,
                 high: int = 81, beats_per_bar: float = 4.0, rng: random.Random | None = None
                 ) -> tuple[list[int], list[float], list[Token]]:
        """Pitches, durations (beats) and tokens filling ``n_beats`` beats in the given key."""
        rng = rng or random.Random(self.random_state)
        scale = {(tonic + d) % 12 for d in (MAJOR if mode == "major" else MINOR)}
        # start on a tonic-chord tone in the middle of the range
        start_choices = [p for p in range(low, high + 1) if (p - tonic) % 12 in (0, 4 if mode == "major" else 3, 7)]
        centre = (low + high) / 2
        pitch = min(start_choices, key=lambda p: abs(p - centre) + rng.random())
        pitches, durs, toks = [pitch], [], []
        beat = 0.0
        history: list[Token] = []
        while True:
            dist = self.distribution(history)
            cands, weights = [], []
            for (iv, d), p in dist.items():
                q = pitch + iv
                w = p * (1.0 if q % 12 in scale else 0.01) * (1.0 if low <= q <= high else 0.02)
                cands.append((iv, d))
                weights.append(w)
            tok = rng.choices(cands, weights=weights)[0]
            d = tok[1]
            if beat + d >= n_beats - 1e-9:  # last note: hold to the end
                break
            durs.append(d)
            beat += d
            pitch += tok[0]
            pitches.append(pitch)
            toks.append(tok)
            history.append(tok)
        durs.append(max(0.25, n_beats - beat))
        # a final tonic feels like an ending: move the last note to the nearest tonic
        last = pitches[-1]
        if (last - tonic) % 12 != 0:
            tonic_near = min((p for p in range(low - 12, high + 13) if (p - tonic) % 12 == 0),
                             key=lambda p: abs(p - last))
            if toks:  # the token that led to the last note now leads to the tonic
                toks[-1] = (int(np.clip(tonic_near - pitches[-2], -12, 12)), toks[-1][1])
            pitches[-1] = tonic_near
        return pitches, durs, toks


def longest_copied_ngram(tokens: Sequence[Token], corpus: Sequence[Sequence[Token]]) -> int:
    """Length of the longest run of ``tokens`` found verbatim (contiguously) in a corpus sequence."""
    if not tokens:
        return 0
    grams: set[tuple] = set()
    best = 0
    # grow n while some n-gram of the result still occurs in the corpus
    n = 1
    while n <= len(tokens):
        grams = {tuple(s[i:i + n]) for s in corpus for i in range(len(s) - n + 1)}
        if not any(tuple(tokens[i:i + n]) in grams for i in range(len(tokens) - n + 1)):
            break
        best = n
        n += 1
    return best


@dataclass(frozen=True)
class CorpusStats:
    """Tempo and rhythm statistics of the training melodies that shape the arrangement."""

    tempo_bpm: float
    notes_per_beat: float
    offbeat_share: float  # share of onsets not on a beat
    drum_style: str


def corpus_stats(melodies: Sequence[tuple[Sequence[Note], float]]) -> CorpusStats:
    """Median tempo, note density and syncopation of ``(notes, tempo)`` melodies; picks a drum style."""
    tempos, dens, off = [], [], []
    for notes, tempo in melodies:
        if len(notes) < 2 or tempo <= 0:
            continue
        spb = 60.0 / tempo
        t0 = notes[0].start
        span = (notes[-1].start - t0) / spb
        tempos.append(tempo)
        if span > 0:
            dens.append(len(notes) / span)
        pos = np.array([(n.start - t0) / spb for n in notes])
        off.append(float(np.mean(np.abs(pos - np.round(pos)) > 0.15)))
    if not tempos:
        raise ParameterError("no usable training melodies for corpus statistics")
    tempo = float(np.median(tempos))
    npb = float(np.median(dens)) if dens else 1.0
    offs = float(np.median(off)) if off else 0.0
    if tempo < 88:
        style = "half-time"
    elif npb >= 1.6 and tempo >= 110:
        style = "four-on-floor"
    else:
        style = "backbeat"
    return CorpusStats(tempo, npb, offs, style)


def _triad_for(pcs: list[int], tonic: int, mode: str) -> list[int]:
    degrees = [(0, 4, 7), (5, 9, 0), (7, 11, 2), (9, 0, 4)] if mode == "major" else \
              [(0, 3, 7), (5, 8, 0), (7, 10, 2), (8, 0, 3)]
    best = max(degrees, key=lambda tri: (sum(((p - tonic) % 12) in tri for p in pcs), tri == degrees[0]))
    return [(tonic + d) % 12 for d in best]


@dataclass
class Composition:
    midi: pretty_midi.PrettyMIDI
    tokens: list[Token]
    longest_copied: int  # tokens
    n_notes: int
    tempo_bpm: float
    key: str
    drum_style: str


def compose(
    model: MelodyModel,
    stats: CorpusStats,
    *,
    seed: int = 0,
    n_bars: int = 16,
    key: str = "C",
    mode: str = "major",
    tempo_bpm: float | None = None,
    beats_per_bar: int = 4,
    lead_program: int = 73,
) -> Composition:
    """A seeded song: melody from ``model``, chords and drums from ``stats``."""
    if key not in KEYS:
        raise ParameterError(f"unknown key {key!r}: use one of {', '.join(sorted(KEYS))}")
    if mode not in ("major", "minor"):
        raise ParameterError("mode must be 'major' or 'minor'")
    if not 1 <= n_bars <= 256:
        raise ParameterError("n_bars must be 1..256")
    tempo = float(tempo_bpm or stats.tempo_bpm)
    if not 30 <= tempo <= 300:
        raise ParameterError(f"tempo must be 30..300 BPM, got {tempo}")
    rng = random.Random(seed)
    tonic = KEYS[key]
    pitches, durs, toks = model.generate(n_bars * beats_per_bar, tonic=tonic, mode=mode,
                                         beats_per_bar=beats_per_bar, rng=rng)
    spb = 60.0 / tempo
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    lead = pretty_midi.Instrument(program=lead_program, name="melody")
    beat = 0.0
    onsets = []
    for p, d in zip(pitches, durs, strict=True):
        vel = 96 if beat % beats_per_bar == 0 else (84 if beat % 1 == 0 else 74)
        lead.notes.append(pretty_midi.Note(vel, int(p), beat * spb, (beat + d * 0.92) * spb))
        onsets.append((beat, p))
        beat += d
    bass = pretty_midi.Instrument(program=33, name="bass")
    pad = pretty_midi.Instrument(program=48, name="chords")
    for bar in range(n_bars):
        b0 = bar * beats_per_bar
        pcs = [p % 12 for b, p in onsets if b0 <= b < b0 + beats_per_bar]
        tri = _triad_for(pcs, tonic, mode) if bar < n_bars - 1 else [(tonic + d) % 12 for d in
                                                                      ((0, 4, 7) if mode == "major" else (0, 3, 7))]
        s, e = b0 * spb, (b0 + beats_per_bar) * spb
        for pc in tri:
            pad.notes.append(pretty_midi.Note(58, 48 + pc + (12 if pc < 5 else 0), s, e - 0.02))
        root = 36 + tri[0]
        for k in range(beats_per_bar):
            bs = s + k * spb
            bass.notes.append(pretty_midi.Note(82, root + (7 if k % 2 else 0), bs, bs + spb * 0.9))
    pm.instruments.extend([lead, pad, bass, drum_part(stats.drum_style, n_bars * beats_per_bar, spb,
                                                      float(beats_per_bar))])
    copied = longest_copied_ngram(toks, model.sequences_)
    return Composition(pm, toks, copied, len(pitches), tempo, f"{key} {mode}", stats.drum_style)
