"""Benchmark: CPU ms per 15 s of audio for each pretrained model (bgmscope.models) beside the DSP path.

The audio is rendered here, through FluidSynth and the default SoundFont (pretty_midi's TimGM6mb.sf2,
or BGMSCOPE_SOUNDFONT): a 15 s piece at 100 bpm in C major, a piano playing one triad per bar
(I-vi-IV-V) under a flute melody of eighth and quarter notes drawn from a seeded RNG
(numpy default_rng(14)), mixed to mono 22050 Hz; and the flute melody alone, for f0.

For each path it prints CPU ms (process time, all threads, after one warm-up call) per 15 s, and a
one-piece sanity figure beside it -- note F1 (mir_eval, onset +-50 ms) against the rendered MIDI for
the transcribers, raw pitch accuracy (within 50 cents, on the melody's voiced frames) for f0, the
top-5 tags for the taggers. One piece is a sanity check, not the issue's evaluation (>= 40 pieces,
two SoundFonts).

When the ten real GTZAN clips are there (``../shared/data/gtzan-sample`` beside the repo, or
``BGMSCOPE_GTZAN_SAMPLE``), it also counts the clips whose genre is among the top-5 tags of MSD, of
MTT and of either (exact tag names, hip-hop spelt ``Hip-Hop``; MSD has no classical, disco or reggae
tag, MTT no blues, disco, hip-hop, jazz or reggae tag).

    .venv/bin/python bench/models.py            # 3 timed runs each (median)
    .venv/bin/python bench/models.py --quick    # 1 timed run each

Without the [models] extra (onnxruntime) it says so and times the DSP path only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pretty_midi  # noqa: E402

SR = 22050
SECONDS = 15.0


def piece() -> tuple[pretty_midi.PrettyMIDI, pretty_midi.PrettyMIDI]:
    """(the whole piece, the melody alone)."""
    rng = np.random.default_rng(14)
    beat = 60 / 100
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    piano = pretty_midi.Instrument(program=0, name="piano")
    flute = pretty_midi.Instrument(program=73, name="flute")
    chords = [(48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50)]
    scale = [72, 74, 76, 77, 79, 81, 83, 84]
    t, bar = 0.0, 0
    while t < SECONDS - 0.01:
        for p in chords[bar % 4]:
            piano.notes.append(pretty_midi.Note(velocity=70, pitch=p, start=t, end=min(t + 4 * beat, SECONDS)))
        bar += 1
        t += 4 * beat
    t = 0.0
    while t < SECONDS - beat:
        d = beat * float(rng.choice([0.5, 1.0]))
        flute.notes.append(pretty_midi.Note(velocity=95, pitch=int(rng.choice(scale)), start=t, end=t + d * 0.95))
        t += d
    pm.instruments += [piano, flute]
    solo = pretty_midi.PrettyMIDI(initial_tempo=100)
    solo.instruments.append(flute)
    return pm, solo


def cpu_ms(fn, reps: int) -> tuple[float, object]:
    out = fn()  # warm-up (numba compile, session load)
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        out = fn()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times), out


def rpa(times, f0, ref: pretty_midi.PrettyMIDI) -> float:
    """Share of the melody's sounding frames whose f0 is within 50 cents of the MIDI note."""
    notes = ref.instruments[0].notes
    hits = total = 0
    for t, f in zip(times, f0, strict=True):
        on = [n.pitch for n in notes if n.start + 0.03 <= t < n.end - 0.03]
        if not on:
            continue
        total += 1
        if np.isfinite(f) and f > 0 and abs(1200 * np.log2(f / (440 * 2 ** ((on[0] - 69) / 12)))) < 50:
            hits += 1
    return hits / max(total, 1)


GTZAN = Path(os.environ.get("BGMSCOPE_GTZAN_SAMPLE", Path(__file__).resolve().parents[2] / "shared" / "data"
                                                  / "gtzan-sample"))


def gtzan_tags() -> None:
    from bgmscope.audio.decode import load
    from bgmscope.models import tagger

    files = sorted(GTZAN.glob("*/*.au"))
    if not files:
        print(f"\nno GTZAN sample at {GTZAN}: tagger sanity skipped")
        return
    hits = {"MSD": 0, "MTT": 0, "either": 0}
    print(f"\nGTZAN sample ({len(files)} real 30 s clips, {GTZAN}): top-5 tags")
    for f in files:
        genre = f.parent.name
        want = {"hiphop": "hip-hop"}.get(genre, genre)
        y, sr = load(f, sr=16000)
        found = {}
        for m in tagger.MODELS:
            top = tagger.top_tags(y, sr, model=m, k=5)
            found[m] = want in {t.lower() for t in top}
            hits[m] += found[m]
            print(f"  {genre:10s} {m}: {', '.join(top)}{'  <- hit' if found[m] else ''}")
        hits["either"] += any(found.values())
    print("  genre in the top 5: " + ", ".join(f"{k} {v}/{len(files)}" for k, v in hits.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    reps = 1 if ap.parse_args().quick else 3
    from bgmscope.features.pitch import f0_contour
    from bgmscope.midi.evaluate import note_scores, reference_notes
    from bgmscope.midi.melody import Note
    from bgmscope.midi.poly import transcribe_poly
    from bgmscope.synth import default_soundfont, render_midi

    pm, solo = piece()
    mix = render_midi(pm, sr=SR, stereo=False)[: int(SR * SECONDS)]
    mel = render_midi(solo, sr=SR, stereo=False)[: int(SR * SECONDS)]
    scale = SECONDS / (len(mix) / SR)
    ref = reference_notes(pm)
    print(f"audio: {len(mix) / SR:.1f} s rendered with {default_soundfont().name} at {SR} Hz mono: piano triads "
          f"I-vi-IV-V + a seeded flute melody ({len(ref)} notes); f0 on the flute alone")
    rows = []

    ms, c = cpu_ms(lambda: f0_contour(mel, SR), reps)
    rows.append(("f0: features.pitch YIN (DSP)", ms, f"RPA {rpa(c.times, c.f0_hz, solo):.3f}"))
    ms, notes = cpu_ms(lambda: transcribe_poly(mix, SR), reps)
    rows.append(("notes: midi/poly.py CQT (DSP)", ms, f"F1 on {note_scores(ref, notes)['f1_on']:.3f}"))
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("onnxruntime is not installed (pip install 'bgmscope[models]'): the DSP path only")
    else:
        from bgmscope.models import pitch, tagger

        ms, c = cpu_ms(lambda: pitch.crepe_f0(mel, SR), reps)
        rows.append(("f0: CREPE-tiny (onnxruntime, 1 thread)", ms, f"RPA {rpa(c.times, c.f0_hz, solo):.3f}"))
        try:
            from bgmscope.models import transcribe

            ms, bp = cpu_ms(lambda: transcribe.basic_pitch_notes(mix, SR), reps)
            est = [Note(n.onset, n.offset, n.pitch, n.velocity) for n in bp]
            rows.append(("notes: Basic Pitch (onnxruntime, 1 thread)", ms, f"F1 on {note_scores(ref, est)['f1_on']:.3f}"))
        except ImportError as e:
            print(f"Basic Pitch skipped: {e}")
        for m in tagger.MODELS:
            ms, s = cpu_ms(lambda m=m: tagger.tag_scores(mix, SR, model=m), reps)
            top = ", ".join(sorted(s, key=s.get, reverse=True)[:5])
            rows.append((f"tags: musicnn {m} (onnxruntime, 1 thread)", ms, f"top-5: {top}"))
    print(f"\n{'path':46s} {'CPU ms / 15 s':>14s}  one-piece check")
    for name, ms, note in rows:
        print(f"{name:46s} {ms * scale:14.0f}  {note}")
    if any(name.startswith("tags:") for name, _, _ in rows):
        gtzan_tags()


if __name__ == "__main__":
    main()
