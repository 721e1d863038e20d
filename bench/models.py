"""Benchmark (issue 14, item 5): the pretrained models (bgmscope.models) beside the DSP path, in one run.

Sections (all audio mono at 16 kHz, the pipeline's analysis rate; every score against known MIDI):

1. Polyphonic notes: ``bench/_pieces.poly_piece`` -- N seeded 8 s pieces (block chords, arpeggios,
   two hands, chorales, pad + melody; GM instruments drawn per piece; 70..150 bpm), each rendered
   through pretty_midi's TimGM6mb.sf2 and FluidR3_GM.sf2 (and timidity + freepats with --timidity). Note P/R/F1 with mir_eval.transcription (onset +-50 ms; with offsets: 20 % or 50 ms)
   of Basic Pitch vs the CQT transcriber (``midi/poly.py``). Target: Basic Pitch F1 >= DSP + 0.10.
2. f0: M Essen folk tunes arranged with a lead instrument, alone ("solo") and over bass, chords and
   drums ("mix"), through TimGM6mb and FluidR3. mir_eval.melody raw pitch / raw chroma accuracy
   (50 cents) and voicing recall of YIN (``features.pitch``), CREPE-tiny (10 and 20 ms hops;
   ``crepe_f0``'s default decoder, CREPE's weighted average, and torchcrepe's Viterbi, on the same
   activations),
   librosa.pyin (first renderer only: ~4 s CPU per 15 s) and, in the mix, the DSP melody path's salience contour. The reference is the
   lead's MIDI note, sampled at each tracker's own frame times (no resampling of the estimate).
   "as delivered": unvoiced frames count as misses; "any frame": the tracker's pitch guess on
   frames it calls unvoiced is scored too (CREPE and pyin give one; YIN does not).
   Targets: CREPE RPA >= 0.95 solo, and >= YIN's in the mix.
3. Melody in a mix: note onset F1 of the lead, Basic Pitch's highest salient line
   (``models.transcribe.melody_line``) vs ``midi.melody.transcribe_melody(source="mix")``.
4. Tagger sanity: the ten real GTZAN clips (``../shared/data/gtzan-sample`` or
   ``BGMSCOPE_GTZAN_SAMPLE``): is the genre among the top-5 MSD tags, strictly (its own tag name)
   and by the documented near-synonyms of ``GENRE_TAGS`` below (MSD has no classical or reggae
   tag). Target >= 7/10. And the styles corpus (``genre.styles``, S clips per style): how often
   MTT's top 5 holds "classical" for the early-music / Bach styles vs the folk styles, and the
   genre label the genre stage would give from MSD (its ``GENRE_TAGS``).
5. CPU ms per 15 s of audio (process CPU time, all threads; onnxruntime and BLAS on one thread),
   summed over the calls of sections 1-4 after one warm-up call of each path.
6. ``bgmscope demo --songs K --jobs 1`` end to end, twice, each in a fresh temp data dir: as
   installed, and with the extra hidden (a directory on PYTHONPATH whose ``onnxruntime`` and
   ``basic_pitch`` packages raise ImportError, so every process -- pool workers too -- sees the
   default install: the tags stage is skipped). CPU = the children's rusage (user + sys).
   Target: the models add <= 1 s CPU per song.

    nice -n 10 .venv/bin/python bench/models.py            # the full run (~5 min of CPU)
    nice -n 10 .venv/bin/python bench/models.py --quick    # a small smoke run
    options: --pieces N --tunes M --styles S --demo-songs K --no-demo --timidity

FluidR3 and timidity: ``apt-get install fluid-soundfont-gm timidity freepats``; without them the
bench says so and uses the renderers present. Without the [models] extra it times the DSP path only.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _pieces  # noqa: E402
import numpy as np  # noqa: E402

SR = 16000
ROOT = Path(__file__).resolve().parents[1]
GTZAN = Path(os.environ.get("BGMSCOPE_GTZAN_SAMPLE", ROOT.parent / "shared" / "data" / "gtzan-sample"))
# GTZAN genre -> MSD tags that name it (hip-hop's usual neighbour rnb; disco is dance music of the
# funk family; metal and rock take their sub-genre tags). MSD has no classical or reggae tag.
GENRE_TAGS = {
    "blues": {"blues"}, "classical": set(), "country": {"country"}, "disco": {"dance", "funk"},
    "hiphop": {"Hip-Hop", "rnb"}, "jazz": {"jazz"}, "metal": {"metal", "heavy metal"},
    "pop": {"pop", "indie pop"}, "reggae": set(),
    "rock": {"rock", "classic rock", "alternative rock", "hard rock", "indie rock", "Progressive rock"},
}
STRICT_TAG = {"hiphop": "Hip-Hop"}
CLASSICAL_STYLES = ("bach-chorale", "renaissance-mass", "madrigal", "trecento")


class Clock:
    """CPU seconds and audio seconds per path (the first call of each path is a warm-up, not timed)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.audio: dict[str, float] = defaultdict(float)
        self.seen: set[str] = set()

    def run(self, name: str, seconds: float, fn):
        if name not in self.seen:
            self.seen.add(name)
            fn()  # numba compile, session load, first-call caches
        t0 = time.process_time()
        out = fn()
        self.cpu[name] += time.process_time() - t0
        self.audio[name] += seconds
        return out

    def ms_per_15s(self, name: str) -> float:
        return 1000 * 15 * self.cpu[name] / self.audio[name] if self.audio.get(name) else float("nan")


def mean(xs) -> float:
    return float(np.mean(xs)) if len(xs) else float("nan")


def have_models() -> tuple[bool, bool]:
    from bgmscope.midi.backends import models_available

    return models_available(), models_available(basic_pitch=True)


# ---------------------------------------------------------------- 1. polyphonic notes
def poly_section(n: int, fonts, clock: Clock, bp: bool) -> dict:
    from bgmscope.midi.evaluate import note_scores, reference_notes
    from bgmscope.midi.melody import Note
    from bgmscope.midi.poly import transcribe_poly

    res: dict = defaultdict(list)  # (font, path) -> [scores]
    textures: dict = defaultdict(list)  # (texture, path) -> [f1_on]
    for seed in range(n):
        pm, texture = _pieces.poly_piece(seed, seconds=8.0)
        ref = reference_notes(pm)
        for fname, font in fonts:
            y = _pieces.render(pm, font, SR)
            sec = len(y) / SR
            est = clock.run("notes: CQT templates (DSP)", sec, lambda y=y: transcribe_poly(y, SR))
            s = note_scores(ref, est)
            res[(fname, "dsp")].append(s)
            textures[(texture, "dsp")].append(s["f1_on"])
            if bp:
                from bgmscope.models.transcribe import basic_pitch_notes

                notes = clock.run("notes: Basic Pitch", sec, lambda y=y: basic_pitch_notes(y, SR))
                s = note_scores(ref, [Note(m.onset, m.offset, m.pitch, m.velocity) for m in notes])
                res[(fname, "bp")].append(s)
                textures[(texture, "bp")].append(s["f1_on"])
    print(f"\n## 1. polyphonic notes: {n} pieces x {len(fonts)} renderers "
          f"({', '.join(f for f, _ in fonts)}), mir_eval onset +-50 ms")
    print(f"{'renderer':12s} {'path':12s} {'P_on':>6s} {'R_on':>6s} {'F1_on':>6s} {'F1_onoff':>8s}")
    for fname, _ in fonts + [("all", None)]:
        for path in ("dsp", "bp"):
            rows = [s for (f, p), v in res.items() for s in v if p == path and (fname == "all" or f == fname)]
            if rows:
                print(f"{fname:12s} {path:12s} {mean([r['precision_on'] for r in rows]):6.3f} "
                      f"{mean([r['recall_on'] for r in rows]):6.3f} {mean([r['f1_on'] for r in rows]):6.3f} "
                      f"{mean([r['f1_onoff'] for r in rows]):8.3f}")
    print("F1_on by texture: " + "; ".join(
        f"{t} DSP {mean(textures[(t, 'dsp')]):.3f}" + (f" BP {mean(textures[(t, 'bp')]):.3f}" if bp else "")
        for t in _pieces.TEXTURES if textures[(t, "dsp")]))
    out = {}
    for path in ("dsp", "bp"):
        rows = [s for (f, p), v in res.items() for s in v if p == path]
        if rows:
            out[path] = (mean([r["f1_on"] for r in rows]), mean([r["f1_onoff"] for r in rows]), len(rows))
    return out


# ---------------------------------------------------------------- 2-3. f0 and melody in a mix
def _f0_scores(pm, times, f0_delivered, f0_any=None) -> tuple[float, float, float, float]:
    """(RPA, RCA as delivered, voicing recall, RPA on any frame) against the lead's MIDI at ``times``."""
    import mir_eval

    times = np.asarray(times, float)
    ref = _pieces.f0_reference(pm, 0, times)
    ref_v = (ref > 0).astype(float)
    ref_c = np.where(ref > 0, 1200 * np.log2(np.maximum(ref, 1e-9) / 10.0), 0.0)

    def cents(f):
        f = np.nan_to_num(np.asarray(f, float), nan=0.0)
        return np.where(f > 0, 1200 * np.log2(np.maximum(f, 1e-9) / 10.0), 0.0), (f > 0).astype(float)

    est_c, est_v = cents(f0_delivered)
    m = mir_eval.melody
    rpa = m.raw_pitch_accuracy(ref_v, ref_c, est_v, est_c)
    rca = m.raw_chroma_accuracy(ref_v, ref_c, est_v, est_c)
    vr = m.voicing_recall(ref_v, est_v)
    any_rpa = float("nan")
    if f0_any is not None:
        a_c, a_v = cents(f0_any)
        any_rpa = m.raw_pitch_accuracy(ref_v, ref_c, a_v, a_c)
    return rpa, rca, vr, any_rpa


def f0_section(m: int, fonts, clock: Clock, crepe: bool, bp: bool) -> dict:
    import librosa

    from bgmscope.features.pitch import f0_contour
    from bgmscope.midi.evaluate import note_scores, reference_notes
    from bgmscope.midi.melody import Note, salience_contour, transcribe_melody

    res: dict = defaultdict(list)  # (setting, tracker) -> [(rpa, rca, vr, any)]
    mel: dict = defaultdict(list)  # path -> [f1_on]
    tunes = _pieces.essen_tunes(m, seed=14)
    for k, tune in enumerate(tunes):
        for acc in (False, True):
            setting = "mix" if acc else "solo"
            pm = _pieces.melody_piece(tune, k, accompaniment=acc)
            for _, font in fonts[:2]:
                y = _pieces.render(pm, font, SR)
                sec = len(y) / SR
                c = clock.run("f0: YIN (DSP)", sec, lambda y=y: f0_contour(y, SR))
                res[(setting, "YIN (DSP)")].append(_f0_scores(pm, c.times, c.f0_hz))
                if font == fonts[0][1]:  # pyin costs ~4 s per 15 s: on the first renderer only
                    f0, vflag, _ = clock.run("f0: librosa.pyin", sec, lambda y=y: librosa.pyin(
                        y, fmin=65.0, fmax=1100.0, sr=SR, frame_length=1024, hop_length=160, fill_na=None))
                    t = librosa.times_like(f0, sr=SR, hop_length=160)
                    res[(setting, "librosa.pyin")].append(_f0_scores(pm, t, np.where(vflag, f0, 0.0), f0))
                if acc:
                    c = clock.run("f0: salience contour (DSP mix path)", sec, lambda y=y: salience_contour(y, SR))
                    res[(setting, "salience (DSP mix)")].append(_f0_scores(pm, c.times, c.f0_hz))
                if crepe:
                    from bgmscope.models.pitch import SR as CSR
                    from bgmscope.models.pitch import crepe_activations, decode

                    for hop_s in (0.01, 0.02):
                        name = f"CREPE-tiny {int(hop_s * 1000)} ms"
                        # = pitch.crepe_f0 (default decoder "weighted"; "viterbi" is torchcrepe's), keeping
                        # the guess on frames it calls unvoiced
                        p = clock.run(f"f0: {name}", sec, lambda y=y, h=hop_s: crepe_activations(y, SR, hop_s=h))
                        t = np.arange(len(p)) * (round(hop_s * CSR) / CSR)
                        for dec in ("viterbi", "weighted"):  # decoding costs ~nothing beside the network
                            _, f, conf = decode(p, decoder=dec)
                            key = name if dec == "weighted" else f"{name} viterbi"
                            res[(setting, key)].append(_f0_scores(pm, t, np.where(conf >= 0.5, f, 0.0), f))
                if acc:
                    ref = reference_notes(pm, instruments=[0])
                    est = clock.run("melody in a mix: DSP (salience + segmentation)", sec,
                                    lambda y=y: transcribe_melody(y, SR, source="mix"))
                    mel["dsp"].append(note_scores(ref, est)["f1_on"])
                    if bp:
                        from bgmscope.models.transcribe import basic_pitch_notes, melody_line

                        line = clock.run("melody in a mix: Basic Pitch + melody_line", sec,
                                         lambda y=y: melody_line(basic_pitch_notes(y, SR)))
                        mel["bp"].append(note_scores(ref, [Note(n.onset, n.offset, n.pitch, n.velocity)
                                                           for n in line])["f1_on"])
    print(f"\n## 2. f0 on {len(tunes)} Essen tunes x {min(2, len(fonts))} renderers, solo and over "
          "bass + chords + drums (mir_eval.melody, 50 cents)")
    print(f"{'set':5s} {'tracker':22s} {'RPA':>6s} {'RCA':>6s} {'VR':>6s} {'RPA any frame':>14s}")
    for (setting, name), v in sorted(res.items(), key=lambda kv: (kv[0][0] != "solo", kv[0][1])):
        a = np.array(v, float)
        anyf = "" if np.all(np.isnan(a[:, 3])) else f"{np.nanmean(a[:, 3]):.3f}"
        print(f"{setting:5s} {name:22s} {a[:, 0].mean():6.3f} {a[:, 1].mean():6.3f} {a[:, 2].mean():6.3f} {anyf:>14s}")
    print(f"\n## 3. melody in a mix ({len(mel['dsp'])} renders): onset F1 of the lead: DSP {mean(mel['dsp']):.3f}"
          + (f", Basic Pitch highest salient line {mean(mel['bp']):.3f}" if mel["bp"] else ""))
    return {"f0": {k: np.array(v, float).mean(axis=0) for k, v in res.items()},
            "melody": {k: mean(v) for k, v in mel.items()}, "n_tunes": len(tunes)}


# ---------------------------------------------------------------- 4. tagger sanity
def gtzan_section(clock: Clock) -> dict | None:
    from bgmscope.audio.decode import load
    from bgmscope.models import tagger

    files = sorted(GTZAN.glob("*/*.au"))
    if not files:
        print(f"\nno GTZAN sample at {GTZAN}: tagger sanity skipped")
        return None
    hits = {"MSD strict": 0, "MSD mapped": 0, "MTT strict": 0, "either (mapped)": 0}
    print(f"\n## 4a. GTZAN sample ({len(files)} real 30 s clips, {GTZAN}): top-5 tags")
    for f in files:
        genre = f.parent.name
        y, sr = load(f, sr=16000)
        sec = len(y) / sr
        top = {}
        for m in tagger.MODELS:
            s = clock.run(f"tags: musicnn {m}", sec, lambda m=m, y=y, sr=sr: tagger.tag_scores(y, sr, model=m))
            top[m] = sorted(s, key=s.get, reverse=True)[:5]
        strict = STRICT_TAG.get(genre, genre)
        msd_s = strict in top["MSD"]
        msd_m = msd_s or bool(GENRE_TAGS[genre] & set(top["MSD"]))
        mtt = strict in top["MTT"]
        hits["MSD strict"] += msd_s
        hits["MSD mapped"] += msd_m
        hits["MTT strict"] += mtt
        hits["either (mapped)"] += msd_m or mtt
        mark = "hit" if msd_s else ("hit (mapped)" if msd_m else "miss")
        print(f"  {genre:10s} MSD: {', '.join(top['MSD']):60s} {mark}")
        print(f"  {'':10s} MTT: {', '.join(top['MTT'])}{'  <- hit' if mtt else ''}")
    print("  genre in the top 5: " + ", ".join(f"{k} {v}/{len(files)}" for k, v in hits.items()))
    return {"hits": hits, "n": len(files)}


def styles_section(per_style: int, clock: Clock) -> dict:
    from bgmscope.genre.stage import GENRE_TAGS as STAGE_GENRE_TAGS
    from bgmscope.genre.styles import STYLES, plan_styles, render_clip
    from bgmscope.models import tagger

    recipes = plan_styles(per_class=max(2, per_style), seed=14)
    got: dict = defaultdict(list)
    for r in recipes:
        if len(got[r.label]) >= per_style:
            continue
        try:
            y, sr = render_clip((r, SR))
        except ValueError:  # too few onsets, silent: the corpus builder skips these too
            continue
        mtt = clock.run("tags: musicnn MTT", len(y) / sr, lambda y=y, sr=sr: tagger.tag_scores(y, sr, model="MTT"))
        msd = clock.run("tags: musicnn MSD", len(y) / sr, lambda y=y, sr=sr: tagger.tag_scores(y, sr, model="MSD"))
        top5 = sorted(mtt, key=mtt.get, reverse=True)[:5]
        genre = max(STAGE_GENRE_TAGS, key=lambda t: msd.get(t, -1.0))
        got[r.label].append(("classical" in top5, mtt["classical"], genre))
    print(f"\n## 4b. styles corpus (genre.styles, {per_style} x 10 s clips per style): MTT 'classical' "
          "in the top 5 / mean score; the genre stage's label from MSD")
    out = {}
    for style in STYLES:
        v = got.get(style, [])
        if not v:
            continue
        labels = defaultdict(int)
        for *_, g in v:
            labels[g] += 1
        out[style] = (sum(x[0] for x in v), len(v), mean([x[1] for x in v]))
        print(f"  {style:17s} {'classical' if style in CLASSICAL_STYLES else 'folk':9s} "
              f"classical in MTT top 5: {out[style][0]}/{len(v)}  mean score {out[style][2]:.2f}  "
              f"MSD genre label: {', '.join(f'{g} {c}' for g, c in sorted(labels.items(), key=lambda kv: -kv[1]))}")
    return out


# ---------------------------------------------------------------- 6. the demo, with and without
def demo_run(songs: int, models: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bgmscope-bench-demo-") as d:
        env = dict(os.environ)
        if not models:
            hide = Path(d) / "hide-models"
            for pkg in ("onnxruntime", "basic_pitch"):
                (hide / pkg).mkdir(parents=True)
                (hide / pkg / "__init__.py").write_text(
                    f"raise ImportError('{pkg} hidden by bench/models.py (the default install)')\n")
            env["PYTHONPATH"] = os.pathsep.join([str(hide)] + [p for p in [env.get("PYTHONPATH")] if p])
        data = Path(d) / "data"
        cmd = [sys.executable, "-m", "bgmscope", "--data-dir", str(data), "demo", "--songs", str(songs), "--jobs", "1"]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.time()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        wall = time.time() - w0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        q = subprocess.run([sys.executable, "-m", "bgmscope", "--data-dir", str(data), "tables", "--json"],
                           env=env, capture_output=True, text=True, cwd=ROOT)
        tagged = None
        if q.returncode == 0:
            import json

            tagged = json.loads(q.stdout).get("tables", {}).get("tags", 0)
        log = p.stdout + p.stderr
        return {"rc": p.returncode, "cpu": cpu, "wall": wall, "tags_rows": tagged,
                "tags_skipped": "no tagger" in log, "tail": log.strip().splitlines()[-3:]}


def demo_section(songs: int) -> dict:
    print(f"\n## 6. bgmscope demo --songs {songs} --jobs 1, fresh data dir each (CPU = children's user+sys)")
    out = {}
    for models in (True, False):
        r = demo_run(songs, models)
        out[models] = r
        print(f"  {'with the extra' if models else 'extra hidden':15s} exit {r['rc']}  CPU {r['cpu']:7.1f} s  "
              f"wall {r['wall']:6.1f} s  tags table rows: {r['tags_rows']}  tags stage skipped: {r['tags_skipped']}")
        if r["rc"] != 0:
            print("   " + "\n   ".join(r["tail"]))
    return out


def fmt(x, nd=3) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{nd}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small smoke run")
    ap.add_argument("--pieces", type=int, help="polyphonic pieces (default 40; quick 4)")
    ap.add_argument("--tunes", type=int, help="melodies for f0 (default 6; quick 2)")
    ap.add_argument("--styles", type=int, help="styles-corpus clips per style (default 3; quick 1)")
    ap.add_argument("--demo-songs", type=int, help="songs of each demo run (default 10; quick 5)")
    ap.add_argument("--timidity", action="store_true", help="add timidity as a third renderer of the poly set")
    ap.add_argument("--no-demo", action="store_true")
    a = ap.parse_args()
    n_pieces = a.pieces or (4 if a.quick else 40)
    n_tunes = a.tunes or (2 if a.quick else 6)
    n_styles = a.styles or (1 if a.quick else 3)
    demo_songs = a.demo_songs or (5 if a.quick else 10)
    t_start = time.time()
    fonts = [f for f in _pieces.fonts() if a.timidity or f[0] != "timidity"]
    if len(fonts) < 2:
        print(f"only {fonts[0][0]} found: for the second SoundFont and timidity, {_pieces.SOUNDFONT_HINT}")
    crepe, bp = have_models()
    if not crepe:
        print("onnxruntime is not installed (pip install 'bgmscope[models]'): the DSP path only")
    elif not bp:
        print("basic-pitch is not installed (pip install --no-deps basic-pitch==0.4.0): no Basic Pitch rows")
    print(f"renderers: {', '.join(f'{n} ({p})' for n, p in fonts)}; audio mono {SR} Hz")
    clock = Clock()
    poly = poly_section(n_pieces, fonts, clock, bp)
    f0 = f0_section(n_tunes, fonts, clock, crepe, bp)
    gtz = gtzan_section(clock) if crepe else None
    sty = styles_section(n_styles, clock) if crepe else {}
    print("\n## 5. CPU ms per 15 s of audio (process time, one thread; summed over the calls above)")
    for name in sorted(clock.cpu):
        print(f"  {name:48s} {clock.ms_per_15s(name):8.0f}")
    demo = None if a.no_demo else demo_section(demo_songs)

    # ------------------------------------------------------------ the table
    rows = []
    if "dsp" in poly:
        d, b = poly["dsp"], poly.get("bp")
        rows.append((f"poly note F1 onset ({d[2]} renders)", fmt(d[0]), fmt(b[0]) if b else "-", "BP >= DSP + 0.10",
                     ("met" if b[0] >= d[0] + 0.10 else f"missed by {d[0] + 0.10 - b[0]:.3f}") if b else "-"))
        rows.append(("poly note F1 onset+offset", fmt(d[1]), fmt(b[1]) if b else "-", "", ""))
    r = f0["f0"]

    def g(setting, name, i=0):
        v = r.get((setting, name))
        return None if v is None else float(v[i])

    for setting in ("solo", "mix"):
        cr = g(setting, "CREPE-tiny 10 ms")  # crepe_f0's defaults: 10 ms, weighted decoder
        yin = g(setting, "YIN (DSP)")
        target = "CREPE >= 0.95" if setting == "solo" else "CREPE >= YIN"
        need = 0.95 if setting == "solo" else (yin or 0.0)
        verdict = "-" if cr is None else ("met" if cr >= need else f"missed by {need - cr:.3f}")
        rows.append((f"f0 RPA {setting} (YIN / CREPE 10 ms)", fmt(yin), fmt(cr), target, verdict))
        rows.append((f"f0 RCA {setting}", fmt(g(setting, "YIN (DSP)", 1)), fmt(g(setting, "CREPE-tiny 10 ms", 1)), "", ""))
        rows.append((f"f0 RPA {setting}: pyin / CREPE 20 ms", fmt(g(setting, "librosa.pyin")),
                     fmt(g(setting, "CREPE-tiny 20 ms")), "", ""))
        rows.append((f"f0 RPA {setting}: CREPE Viterbi decoder (torchcrepe's), 10 / 20 ms", "",
                     f"{fmt(g(setting, 'CREPE-tiny 10 ms viterbi'))} / {fmt(g(setting, 'CREPE-tiny 20 ms viterbi'))}",
                     "", ""))
        rows.append((f"f0 RPA {setting}, any frame: pyin / CREPE 10 ms", fmt(g(setting, "librosa.pyin", 3)),
                     fmt(g(setting, "CREPE-tiny 10 ms", 3)), "", ""))
    rows.append(("f0 RPA mix: DSP salience contour", fmt(g("mix", "salience (DSP mix)")), "", "", ""))
    mel = f0["melody"]
    rows.append(("melody-in-mix onset F1", fmt(mel.get("dsp")), fmt(mel.get("bp")), "BP line >= DSP",
                 "-" if "bp" not in mel else ("met" if mel["bp"] >= mel["dsp"] else "missed")))
    if gtz:
        h, n = gtz["hits"], gtz["n"]
        rows.append(("GTZAN genre in MSD top 5 (mapped / strict)", "", f"{h['MSD mapped']}/{n} / {h['MSD strict']}/{n}",
                     ">= 7/10", "met" if h["MSD mapped"] >= 7 else f"missed by {7 - h['MSD mapped']}"))
        rows.append(("GTZAN genre in MSD or MTT top 5", "", f"{h['either (mapped)']}/{n}", "", ""))
    if sty:
        cl = [sty[s] for s in CLASSICAL_STYLES if s in sty]
        fo = [v for s, v in sty.items() if s not in CLASSICAL_STYLES]
        rows.append(("styles: 'classical' in MTT top 5 (classical styles / folk)", "",
                     f"{sum(x[0] for x in cl)}/{sum(x[1] for x in cl)} / {sum(x[0] for x in fo)}/{sum(x[1] for x in fo)}",
                     "", ""))
    for dsp_name, model_name in [("notes: CQT templates (DSP)", "notes: Basic Pitch"),
                                 ("f0: YIN (DSP)", "f0: CREPE-tiny 10 ms"),
                                 ("f0: YIN (DSP)", "f0: CREPE-tiny 20 ms"),
                                 ("f0: YIN (DSP)", "f0: librosa.pyin"),
                                 ("melody in a mix: DSP (salience + segmentation)",
                                  "melody in a mix: Basic Pitch + melody_line"),
                                 ("-", "tags: musicnn MSD"), ("-", "tags: musicnn MTT")]:
        if model_name in clock.cpu:
            rows.append((f"CPU ms/15 s: {model_name.split(': ', 1)[1]}",
                         fmt(clock.ms_per_15s(dsp_name), 0) if dsp_name in clock.cpu else "-",
                         fmt(clock.ms_per_15s(model_name), 0), "", ""))
    if demo:
        w, wo = demo[True], demo[False]
        per_song = (w["cpu"] - wo["cpu"]) / demo_songs
        rows.append((f"demo --songs {demo_songs} CPU s (extra hidden / with)", fmt(wo["cpu"], 1), fmt(w["cpu"], 1), "", ""))
        ok = w["rc"] == 0 and wo["rc"] == 0
        rows.append(("models' CPU per song in the demo (s)", "", fmt(per_song, 2), "<= 1 s",
                     ("met" if per_song <= 1 else f"missed by {per_song - 1:.2f} s") if ok else "a run failed"))
    print(f"\n## summary ({time.time() - t_start:.0f} s wall)\n")
    print("| figure | DSP path | model | target | verdict |\n|---|---:|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
