"""Duplicate edits: precision and recall per edit type among unrelated songs, and how the work grows.

Audio (all built by this script, cached under ``--cache``):

* **families**: ``--songs`` (default 30) pop-form songs (``bgmscope.prepare.hook.structured_song``:
  verse/chorus/bridge from Essen Chinese folk tunes and Ryan's Mammoth fiddle tunes, random tempo
  76-144 BPM, key, layout, 1.5-3 min), rendered by several General MIDI renderers in turn
  (FluidSynth with TimGM6mb, FluidR3_GM, MuseScore_General; TiMidity++ with freepats). Each song
  gets one edit of every type in :data:`EDITS`: a cut (15-40 s at a random offset, random gain),
  an MP3 re-encode at 64 kbps, a -9 dB gain, resampled speed changes of +-5 % and +-10 % (pitch
  moves with tempo, as a "加速版" does), a pitch-keeping +7 % time-stretch, 3 s of silence in
  front, pink noise at 20 dB SNR, and a DJ-style intro (8-12 s of drums and bass at another tempo,
  cross-faded into the song).
* **unrelated**: ``--unrelated`` (default 100) other pop-form songs from the same generator and
  renderers (similar timbre, key and tempo ranges: the hard case), a third of them replaced by long
  quiet ambient pieces (3-7 min of slow pads and swells at -20 dB), plus the 10 real GTZAN clips
  (30 s each; /work/shared/data/gtzan-sample) when present.

Originals, unrelated songs, cuts and the 64 kbps re-encode are MP3 files (the others WAV, to
spare CPU); every file is decoded by ``bgmscope.audio.decode.load`` at 16 kHz, as the pipeline
reads a song. Signatures are computed once per song; candidate pairs come
from the window index; only candidates (and the pairs a group check needs) are aligned.

Printed: precision / recall per edit type beside the target (>= 0.99 / >= 0.95), the score
distribution of unrelated pairs (every aligned pair across families, and a random sample of all
unrelated pairs), and the cost: candidate pairs vs n^2/2 and CPU seconds at two corpus sizes with
the growth exponent.

    nice -n 10 .venv/bin/python bench/versions.py --quick       # 8 songs x edits, 30 unrelated
    nice -n 10 .venv/bin/python bench/versions.py               # 30 songs x edits, 100 unrelated

FluidR3_GM / MuseScore_General come from Debian's fluid-soundfont-gm and
musescore-general-soundfont-small, TiMidity++ from timidity + freepats
(``apt-get install fluid-soundfont-gm musescore-general-soundfont-small timidity freepats``); a
missing renderer is left out and the run says so.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _render  # noqa: E402
from _render import renderers  # noqa: E402

SR = 16000          # the analysis rate
RENDER_SR = 16000   # songs are rendered and encoded at the analysis rate (CPU is scarce)
EDITS = ["cut", "mp3_64k", "gain_-9dB", "speed_+5%", "speed_-5%", "speed_+10%", "speed_-10%",
         "stretch_+7%", "pad_3s", "noise_20dB", "dj_intro"]
GTZAN = Path("/work/shared/data/gtzan-sample")
TARGET_P, TARGET_R = 0.99, 0.95




def render(pm, renderer: str, sr: int = RENDER_SR) -> np.ndarray:
    return _render.render(pm, renderer, sr)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    import scipy.fft

    m = scipy.fft.next_fast_len(n, real=True)
    spec = scipy.fft.rfft(rng.standard_normal(m))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    x = scipy.fft.irfft(spec / np.sqrt(f), m)[:n]
    return x / np.sqrt(np.mean(x ** 2))


def tune(rng: random.Random, irish: list[str]):
    if rng.random() < 0.6:
        return (rng.choice(["essenFolksong/han1", "essenFolksong/han2"]), rng.randrange(1, 200))
    return (rng.choice(irish), None)


def pop_song(rng: random.Random, irish: list[str]):
    from bgmscope.prepare.hook import structured_song

    return structured_song(rng, verse=tune(rng, irish), chorus=tune(rng, irish), bridge=tune(rng, irish),
                           layout=rng.choice(["IVCVCBCC", "VCVCBC", "IVVCVCC", "IVCVCC", "VVCVCBC"]),
                           tempo=rng.uniform(76, 144), section_s=rng.uniform(12, 22),
                           contrast=rng.choice([0.0, 1.0])).midi


def ambient_piece(rng: random.Random):
    """3-7 min of slow pad chords with long swells (no drums, no onsets to speak of)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=60)
    pads = [pretty_midi.Instrument(program=p) for p in rng.sample([88, 89, 90, 91, 92, 94, 95, 48, 49, 52], 2)]
    total = rng.uniform(180, 420)
    root = rng.randrange(36, 48)
    t = 0.0
    while t < total:
        dur = rng.uniform(6, 16)
        chord = [root + d for d in rng.choice([(0, 7, 12, 16), (0, 7, 15, 19), (0, 5, 12, 17), (0, 7, 14, 16)])]
        root = root + rng.choice([-5, -2, 0, 2, 5, 7]) if 34 <= root <= 50 else rng.randrange(38, 46)
        for inst in pads:
            for p in chord:
                inst.notes.append(pretty_midi.Note(rng.randint(25, 60), p + 12 * (inst is pads[1]),
                                                   t + rng.uniform(0, 1.5), t + dur + rng.uniform(0.5, 3)))
        t += dur
    pm.instruments.extend(pads)
    return pm


def dj_intro(rng: random.Random, seconds: float):
    """A drums-and-bass loop at its own tempo: the intro a DJ edit puts before the song."""
    import pretty_midi

    tempo = rng.uniform(110, 130)
    spb = 60 / tempo
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    bass = pretty_midi.Instrument(program=rng.choice([38, 39]))
    root = rng.randrange(36, 44)
    for k in range(int(seconds / spb) + 1):
        s = k * spb
        drums.notes.append(pretty_midi.Note(110, 36, s, s + 0.1))
        drums.notes.append(pretty_midi.Note(80, 42, s + spb / 2, s + spb / 2 + 0.05))
        if k % 2:
            drums.notes.append(pretty_midi.Note(100, 38, s, s + 0.1))
        bass.notes.append(pretty_midi.Note(90, root + (7 if k % 4 == 3 else 0), s, s + spb * 0.8))
    pm.instruments.extend([drums, bass])
    return pm


def resample_speed(y: np.ndarray, speed: float) -> np.ndarray:
    """Play ``y`` ``speed`` times faster by resampling (pitch moves with it)."""
    n = int(round(len(y) / speed))
    return np.interp(np.arange(n) * speed, np.arange(len(y)), y).astype(np.float32)


def make_edit(kind: str, y: np.ndarray, sr: int, rng: random.Random, renderer: str) -> np.ndarray:
    if kind == "cut":
        dur = len(y) / sr
        length = rng.uniform(15, min(40, dur - 2))
        off = rng.uniform(0, dur - length)
        out = y[int(off * sr): int((off + length) * sr)] * 10 ** (rng.uniform(-9, 3) / 20)
    elif kind == "gain_-9dB":
        out = y * 10 ** (-9 / 20)
    elif kind.startswith("speed_"):
        out = resample_speed(y, 1 + float(kind[6:-1]) / 100)
    elif kind == "stretch_+7%":
        import librosa

        out = librosa.effects.time_stretch(y, rate=1.07)
    elif kind == "pad_3s":
        out = np.concatenate([np.zeros(3 * sr, np.float32), y])
    elif kind == "noise_20dB":
        rms = np.sqrt(np.mean(y.astype(np.float64) ** 2))
        out = y + pink_noise(len(y), np.random.default_rng(rng.randrange(2**31))) * rms * 0.1
    elif kind == "dj_intro":
        secs = rng.uniform(8, 12)
        intro = render(dj_intro(rng, secs + 3), renderer, sr)[: int((secs + 3) * sr)] * 0.7
        fade = int(3 * sr)
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        body = y.copy()
        body[:fade] *= ramp
        intro[-fade:] *= 1 - ramp
        out = np.concatenate([intro[:-fade], intro[-fade:] + body[:fade], body[fade:]])
    elif kind == "mp3_64k":
        out = y  # the encode happens in write()
    else:
        raise ValueError(kind)
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / max(1.0, peak / 0.99)).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int, kbps: int | None = 128) -> None:
    import soundfile as sf

    if kbps is None:
        sf.write(str(path), y, sr, subtype="PCM_16")
    else:
        sf.write(str(path), y, sr, format="MP3", subtype="MPEG_LAYER_III",
                 compression_level=(320 - kbps) / (320 - 32), bitrate_mode="CONSTANT")


def edit_path(d: Path, name: str, e: str) -> Path:
    return d / f"{name}_{e}.{'mp3' if e in ('mp3_64k', 'cut') else 'wav'}"


def build_family(job: tuple) -> list[tuple[str, str, str, str]]:
    """Worker: one song and its edits as files; rows (name, path, family, edit type)."""
    index, seed, irish, renderer, out_dir = job
    rng = random.Random(seed * 1_000_003 + index)
    d = Path(out_dir)
    name = f"fam{index:03d}"
    rows = []
    orig = d / f"{name}_original.mp3"
    if not orig.exists() or not all(edit_path(d, name, e).exists() for e in EDITS):
        y = render(pop_song(rng, irish), renderer)
        write(orig, y, RENDER_SR)
        for e in EDITS:  # the re-encode and the cut as MP3, the others lossless (CPU is scarce)
            write(edit_path(d, name, e), make_edit(e, y, RENDER_SR, rng, renderer), RENDER_SR,
                  {"mp3_64k": 64, "cut": 128}.get(e))
    rows.append((f"{name}_original", str(orig), name, "original"))
    rows += [(f"{name}_{e}", str(edit_path(d, name, e)), name, e) for e in EDITS]
    return rows


def build_unrelated(job: tuple) -> list[tuple[str, str, str, str]]:
    index, seed, irish, renderer, out_dir = job
    rng = random.Random(seed * 7_000_003 + index)
    ambient = index % 3 == 2
    name = f"{'amb' if ambient else 'pop'}{index:03d}"
    path = Path(out_dir) / f"{name}.mp3"
    if not path.exists():
        if ambient:
            y = render(ambient_piece(rng), renderer) * 0.1  # -20 dB
        else:
            y = render(pop_song(rng, irish), renderer)
        write(path, y, RENDER_SR)
    return [(name, str(path), name, "ambient" if ambient else "unrelated")]


def signature_of(path: str):
    """Worker: decode once, one STFT, the version signature (what the scan worker does, minus the hook)."""
    import librosa

    from bgmscope.audio.decode import load
    from bgmscope.audio.stft import N_FFT, stft_hop
    from bgmscope.versions.signature import version_signature

    t0 = time.process_time()
    y, sr = load(path, sr=SR)
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=stft_hop(sr)))
    sig = version_signature(y, sr, S=S)
    return sig, time.process_time() - t0


def build_corpus(args) -> list[tuple[str, str, str, str]]:
    from bgmscope.engine import run_map
    from bgmscope.scores import corpus_paths

    have, missing = renderers()
    if missing:
        print("renderers left out:", "; ".join(missing))
    out = Path(args.cache)
    out.mkdir(parents=True, exist_ok=True)
    irish = corpus_paths("ryansMammoth")
    jobs = [(i, args.seed, irish, have[i % len(have)], str(out)) for i in range(args.songs)]
    ujobs = [(i, args.seed, irish, have[(i + 1) % len(have)], str(out)) for i in range(args.unrelated)]
    rows = []
    for fn, js in ((build_family, jobs), (build_unrelated, ujobs)):
        for o in run_map(fn, js, jobs=args.jobs, desc="render", show_progress=False):
            if not o.ok:
                raise SystemExit(f"building {o.item[0]} failed: {o.error}")
            rows += o.result
    if GTZAN.is_dir():
        for p in sorted(GTZAN.glob("*/*.au")):
            rows.append((f"gtzan_{p.stem}", str(p), f"gtzan_{p.stem}", "gtzan"))
    else:
        print(f"GTZAN clips not found at {GTZAN}: left out")
    print(f"audio: {args.songs} pop-form songs x {len(EDITS)} edits + {args.unrelated} unrelated "
          f"(every third a quiet ambient piece) + {sum(r[3] == 'gtzan' for r in rows)} GTZAN clips; "
          f"renderers {', '.join(have)}")
    return sorted(rows)


def per_edit(groups, rows) -> list[tuple[str, float, float, int]]:
    """(edit type, pair precision, pair recall, n) over the pairs that contain an edit of that type."""
    gid = dict(zip(groups["track_id"], groups["group_id"], strict=True))
    fam = {r[0]: r[2] for r in rows}
    kind = {r[0]: r[3] for r in rows}
    names = [r[0] for r in rows if r[0] in gid]
    by_group: dict[str, list[str]] = {}
    for n in names:
        by_group.setdefault(gid[n], []).append(n)
    by_fam: dict[str, list[str]] = {}
    for n in names:
        by_fam.setdefault(fam[n], []).append(n)
    out = []
    for e in ["original", *EDITS, "unrelated", "ambient", "gtzan"]:
        tp = fp = fn = 0
        xs = [n for n in names if kind[n] == e]
        for x in xs:
            pred = {m for m in by_group[gid[x]] if m != x}
            true = {m for m in by_fam[fam[x]] if m != x}
            tp += len(pred & true)
            fp += len(pred - true)
            fn += len(true - pred)
        if xs:
            out.append((e, tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, len(xs)))
    return out


def run_grouping(sigs: dict, jobs: int):
    from bgmscope.versions.grouping import find_versions

    w0 = time.perf_counter()
    pairs, groups, stats = find_versions(sigs, jobs=jobs, with_stats=True)
    return pairs, groups, stats, stats["align_cpu_s"] + stats["main_cpu_s"], time.perf_counter() - w0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 songs x edits among 30 unrelated")
    ap.add_argument("--songs", type=int, default=None)
    ap.add_argument("--unrelated", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "bgmscope-bench-versions"))
    args = ap.parse_args()
    args.songs = args.songs or (8 if args.quick else 30)
    args.unrelated = args.unrelated or (30 if args.quick else 100)
    import pandas as pd

    from bgmscope.engine import run_map
    from bgmscope.versions.align import align

    rows = build_corpus(args)
    sigs, sig_cpu = {}, 0.0
    paths = {r[1]: r[0] for r in rows}
    for o in run_map(signature_of, list(paths), jobs=args.jobs, desc="signatures", show_progress=False):
        if not o.ok:
            print(f"{paths[o.item]}: {o.error}")
            continue
        sigs[paths[o.item]] = o.result[0]
        sig_cpu += o.result[1]
    sigs = dict(sorted(sigs.items()))
    n = len(sigs)
    print(f"{n} songs, {sum(s.duration_s for s in sigs.values()) / 60:.0f} min of audio; signatures "
          f"{sig_cpu:.1f} s CPU ({1000 * sig_cpu / n:.0f} ms per song, decode + STFT included)")

    pairs, groups, stats, cpu, wall = run_grouping(sigs, args.jobs)
    print(f"\nper edit type (pairs that contain an edit of that type; target P >= {TARGET_P}, R >= {TARGET_R})")
    print(f"{'edit':<14}{'n':>4}{'precision':>11}{'recall':>9}  met")
    met_all = True
    for e, p, r, k in per_edit(groups, rows):
        ok = p >= TARGET_P and r >= TARGET_R
        met_all &= ok or e in ("unrelated", "ambient", "gtzan")
        print(f"{e:<14}{k:>4}{p:>11.3f}{r:>9.3f}  {'yes' if ok else 'NO'}")
    from bgmscope.versions.grouping import pair_scores

    fam = {r[0]: r[2] for r in rows}
    P, R = pair_scores(groups, fam)
    print(f"all pairs: precision {P:.3f}, recall {R:.3f}; every edit type met: {'yes' if met_all else 'NO'}")

    # score distributions
    same = pairs[[fam[a] == fam[b] for a, b in zip(pairs["track_a"], pairs["track_b"], strict=True)]]
    diff = pairs[[fam[a] != fam[b] for a, b in zip(pairs["track_a"], pairs["track_b"], strict=True)]]
    q = [0.5, 0.9, 0.99, 1.0]
    print(f"\naligned pairs: {len(pairs)} (threshold {stats['threshold']:.2f})")
    if len(same):
        print(f"  same recording ({len(same)}): score min {same['score'].min():.3f}, "
              f"quantiles 1/5/50 %: " + ", ".join(f"{v:.3f}" for v in same["score"].quantile([0.01, 0.05, 0.5])))
    if len(diff):
        print(f"  unrelated candidates ({len(diff)}): quantiles 50/90/99/100 %: "
              + ", ".join(f"{v:.3f}" for v in diff["score"].quantile(q)))
    rng = np.random.default_rng(args.seed)
    names = list(sigs)
    sample = []
    t_pair = time.process_time()
    while len(sample) < 300:
        a, b = rng.choice(len(names), 2, replace=False)
        if fam[names[a]] != fam[names[b]]:
            sample.append(align(sigs[names[a]].frames, sigs[names[b]].frames).score)
    t_pair = (time.process_time() - t_pair) / len(sample)
    s = pd.Series(sample).dropna()
    print(f"  random unrelated pairs ({len(s)}): quantiles 50/90/99/100 %: "
          + ", ".join(f"{v:.3f}" for v in s.quantile(q)) + f" ({1000 * t_pair:.1f} ms CPU per alignment)")

    print(f"\ncost at n = {n}: {stats['candidates']} candidate pairs + {stats['group_checks']} group checks "
          f"aligned of {n * (n - 1) // 2} (n^2/2); index {stats['index_s']:.2f} s; grouping "
          f"{cpu:.1f} s CPU (alignments in the workers {stats['align_cpu_s']:.1f} s + this process "
          f"{stats['main_cpu_s']:.1f} s; {wall:.1f} s wall, jobs {args.jobs})")
    keep = sorted(rng.choice(n, n // 2, replace=False))  # a random half: the same mix of songs
    half = {names[i]: sigs[names[i]] for i in keep}
    hp, hg, hstats, hcpu, _ = run_grouping(half, args.jobs)
    m = len(half)
    expo_pairs = np.log((stats["candidates"] + stats["group_checks"]) /
                        max(1, hstats["candidates"] + hstats["group_checks"])) / np.log(n / m)
    expo_cpu = np.log(cpu / max(hcpu, 1e-9)) / np.log(n / m)
    print(f"cost at n = {m}: {hstats['candidates']} + {hstats['group_checks']} pairs, {hcpu:.1f} s CPU")
    print(f"growth exponent n {m} -> {n}: aligned pairs {expo_pairs:.2f}, CPU {expo_cpu:.2f} "
          f"(all pairs: 2.00); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
