"""Rendered test material with known notes for bench/models.py.

- ``poly_piece(seed)``: a seeded polyphonic piece (~10 s) in one of five textures -- block chords
  over a bass, arpeggiated chords, two hands (bass + off-beat chords + melody), a four-voice chorale,
  a sustained pad under a melody -- on instruments drawn from a GM list, at 70..150 bpm, in a random
  major or minor key, through a diatonic progression.
- ``melody_piece(seed)``: a real tune (music21's Essen Chinese folk songs), arranged by
  ``bgmscope.scores.arrange`` with a lead instrument, and with or without bass + chords + drums.
- ``render(pm, font)``: mono audio through FluidSynth and a SoundFont, or through timidity.
- ``f0_reference(pm, inst, times)``: the lead's f0 (Hz, 0 = silent) on a time grid.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi

from bgmscope.genre.render import FREEPATS_CFG  # TiMidity++ with its own patches

FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_HINT = ("apt-get install fluid-soundfont-gm (FluidR3_GM.sf2) and timidity freepats "
                  "(the timidity renderer)")

TEXTURES = ("block", "arpeggio", "two-hand", "chorale", "pad-melody")
KEYBOARDS = [0, 1, 2, 4, 5, 6, 7, 11, 12, 16, 19, 24, 25, 46]  # pianos, EPs, harpsichord, mallets, organ, guitars, harp
SUSTAINED = [19, 48, 49, 52, 89, 42, 61]  # organ, strings, choir, pad, cello, brass section
LEADS = [73, 71, 68, 40, 56, 65, 81, 11, 0, 24]  # flute, clarinet, oboe, violin, trumpet, sax, saw lead...
BASSES = [32, 33, 34, 42, 0]
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = [(0, 5, 3, 4), (0, 3, 4, 0), (0, 4, 5, 3), (5, 3, 0, 4), (0, 1, 4, 0), (0, 3, 1, 4)]


def _triad(tonic: int, scale: list[int], degree: int, seventh: bool) -> list[int]:
    """Pitch classes (relative to C) of the diatonic triad / seventh on ``degree``."""
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    return [tonic + scale[(degree + s) % 7] + 12 * ((degree + s) // 7) for s in steps]


def _voice(pcs: list[int], low: int) -> list[int]:
    """The chord's pitches in close position, from the first at or above ``low``."""
    out, p = [], low
    for pc in pcs:
        while p % 12 != pc % 12:
            p += 1
        out.append(p)
    return out


def poly_piece(seed: int, seconds: float = 10.0) -> tuple[pretty_midi.PrettyMIDI, str]:
    """(a seeded polyphonic piece, its texture name)."""
    rng = random.Random(seed)
    texture = TEXTURES[seed % len(TEXTURES)]
    tempo = round(rng.uniform(70, 150), 1)
    beat = 60 / tempo
    bar = 4 * beat if rng.random() < 0.8 else 3 * beat
    beats = round(bar / beat)
    tonic = rng.randrange(12)
    scale = MAJOR if rng.random() < 0.6 else MINOR
    prog = rng.choice(PROGRESSIONS)
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)

    def inst(pool: list[int], name: str) -> pretty_midi.Instrument:
        i = pretty_midi.Instrument(program=rng.choice(pool), name=name)
        pm.instruments.append(i)
        return i

    def add(i: pretty_midi.Instrument, p: int, s: float, d: float, v: int) -> None:
        e = min(s + d, seconds)
        if e - s >= 0.08:
            i.notes.append(pretty_midi.Note(int(np.clip(v + rng.randint(-8, 8), 30, 120)), int(p), s, e))

    chords = inst(SUSTAINED if texture in ("pad-melody", "chorale") and rng.random() < 0.7 else KEYBOARDS, "chords")
    bass = inst(BASSES, "bass") if texture in ("block", "two-hand", "pad-melody") else None
    lead = inst(LEADS if texture == "pad-melody" else KEYBOARDS, "melody") if texture in ("two-hand", "pad-melody") else None
    t, k = 0.0, 0
    while t < seconds - 0.2:
        pcs = _triad(tonic, scale, prog[k % 4], seventh=rng.random() < 0.3)
        low = rng.randint(52, 60)
        notes = _voice(pcs, low)
        if texture == "block":
            hits = rng.choice([1, 2, beats])
            for h in range(hits):
                for p in notes:
                    add(chords, p, t + h * bar / hits, bar / hits * 0.95, 72)
        elif texture == "arpeggio":
            step = beat / rng.choice([2, 3, 4]) if tempo < 110 else beat / 2
            pattern = notes + [notes[0] + 12] + notes[1:][::-1]
            n = int(round(bar / step))
            for j in range(n):
                # each note rings for two steps: overlapping notes make the texture polyphonic
                add(chords, pattern[j % len(pattern)], t + j * step, 2 * step, 70)
            add(chords, notes[0] - 12, t, bar * 0.95, 70)
        elif texture == "two-hand":
            for b in range(beats):
                if b % 2:
                    for p in notes:
                        add(chords, p, t + b * beat, beat * 0.9, 62)
        elif texture == "chorale":
            top = _voice(pcs, rng.randint(67, 72))[0]
            sop = top + rng.choice([0, 2, 4, -1])
            for b in range(beats):
                voices = [notes[0] - 12, notes[1 % len(notes)], notes[2 % len(notes)], sop + (b % 2) * rng.choice([0, 2, -2])]
                for p in voices:
                    add(chords, p, t + b * beat, beat * 0.95, 70)
        else:  # pad-melody
            for p in notes:
                add(chords, p, t, bar * 0.98, 58)
        if bass is not None:
            root = 36 + (pcs[0] % 12)
            for b in range(beats):
                if b % 2 == 0 or texture == "two-hand":
                    add(bass, root + (7 if b % 4 == 2 else 0), t + b * beat, beat * 0.9, 82)
        if lead is not None:
            s = t
            while s < t + bar - 0.05:
                d = beat * rng.choice([0.5, 1.0, 1.0, 1.5, 2.0])
                d = min(d, t + bar - s)
                deg = rng.randrange(9)
                p = tonic + 72 + scale[deg % 7] + 12 * (deg // 7) - 12 * (tonic > 5)
                add(lead, p, s, d * 0.9, 92)
                s += d
        t += bar
        k += 1
    pm.instruments = [i for i in pm.instruments if i.notes]
    return pm, texture


def essen_tunes(n: int, seed: int) -> list:
    """``n`` tunes of music21's Essen Chinese folk-song collection (a seeded draw)."""
    from bgmscope.scores import load_piece

    rng = random.Random(seed)
    out = []
    for num in rng.sample(range(1, 400), 3 * n):
        try:
            p = load_piece("essenFolksong/han1" if num % 2 else "essenFolksong/han2", num)
        except Exception:  # some ABC numbers are missing or do not parse
            continue
        if len({round(s, 3) for s, *_ in p.notes}) >= 8:
            out.append(p)
        if len(out) == n:
            break
    return out


def melody_piece(piece, seed: int, *, accompaniment: bool, seconds: float = 12.0) -> pretty_midi.PrettyMIDI:
    """A tune arranged with a lead instrument (instrument 0), alone or over bass, chords and drums."""
    from bgmscope.scores import LEAD_PROGRAMS, arrange

    rng = random.Random(seed)
    tempo = round(rng.uniform(80, 130), 1)
    prog = LEAD_PROGRAMS[seed % len(LEAD_PROGRAMS)]
    pm = arrange(piece, random.Random(seed), tempo=tempo, transpose=rng.randint(-4, 4), lead_program=prog,
                 accompaniment=accompaniment, drums="backbeat" if accompaniment else None)
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds - 0.1]
        for n in inst.notes:
            n.end = min(n.end, seconds)
    pm.instruments = [i for i in pm.instruments if i.notes]
    return pm


def fonts() -> list[tuple[str, str | None]]:
    """(name, SoundFont path or 'timidity') of every renderer present: TimGM6mb always."""
    from bgmscope.synth import default_soundfont

    out = [("TimGM6mb", str(default_soundfont()))]
    if FLUID_R3.is_file():
        out.append(("FluidR3_GM", str(FLUID_R3)))
    if shutil.which("timidity") and Path(FREEPATS_CFG).is_file():
        out.append(("timidity", "timidity"))
    return out


def render(pm: pretty_midi.PrettyMIDI, font: str, sr: int) -> np.ndarray:
    """Mono float32 audio of ``pm`` at ``sr``, peak 0.9."""
    if font == "timidity":
        import soundfile as sf
        import soxr

        with tempfile.TemporaryDirectory() as d:
            mid, wav = Path(d) / "x.mid", Path(d) / "x.wav"
            pm.write(str(mid))
            subprocess.run(["timidity", "-c", FREEPATS_CFG, "-idq", "-Ow", "-s", "44100", "-o", str(wav), str(mid)],
                           check=True, capture_output=True, timeout=120)
            y, fs = sf.read(str(wav), dtype="float32", always_2d=True)
        y = y.mean(axis=1)
        y = soxr.resample(y, fs, sr).astype(np.float32) if fs != sr else y
    else:
        from bgmscope.synth import render_midi

        y = render_midi(pm, sr=sr, sf2_path=font, stereo=False)
    peak = float(np.max(np.abs(y), initial=0.0)) or 1.0
    return (y * (0.9 / peak)).astype(np.float32)


def f0_reference(pm: pretty_midi.PrettyMIDI, inst: int, times: np.ndarray) -> np.ndarray:
    """The f0 (Hz) of instrument ``inst``'s sounding note at each time, 0 where none sounds (the
    latest-started note wins where two overlap)."""
    f = np.zeros(len(times))
    for n in sorted(pm.instruments[inst].notes, key=lambda n: n.start):
        f[(times >= n.start) & (times < n.end)] = 440.0 * 2 ** ((n.pitch - 69) / 12)
    return f
