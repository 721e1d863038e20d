"""Tempo accuracy and how well ``tempo_confidence`` predicts it, beside librosa.

Rendered music with a known tempo: songs arranged by ``bgmscope.scores.arrange`` from real scores
(Essen Chinese folk tunes and Ryan's Mammoth fiddle tunes in 2/4, 4/4 or 2/2 only: a jig's 6/8
beat is not its quarter note), tempo drawn from 60-180
BPM, drums none / backbeat / four-on-floor / half-time, rendered by several General MIDI
renderers (FluidSynth with TimGM6mb, FluidR3_GM or MuseScore_General; TiMidity++ with freepats),
song i by renderer i mod n; a 15 s clip at a random offset, as the pipeline's clips. The truth is
the score's beat (quarter-note) tempo.

Real music: the GTZAN sample (/work/shared/data/gtzan-sample, first 15 s) has no tempo
annotation here, so there "accuracy" is agreement with librosa's ``beat.beat_track`` (the
reference librosa users see).

Printed per method (bgmscope as stored in the features table, librosa ``feature.tempo``, librosa
``beat.beat_track``): accuracy within 4 %, octave-tolerant accuracy (x 1/3, 1/2, 2, 3 also count),
and for bgmscope the accuracy and coverage of the clips whose ``tempo_confidence`` reaches each
threshold (the stored ``tempo_bpm`` is NaN below ``rhythm.MIN_CONFIDENCE``). Targets: accuracy
grows with the threshold; stored tempi are more accurate than librosa's on the same clips.

    .venv/bin/python bench/tempo.py --quick     # 16 rendered clips + GTZAN
    .venv/bin/python bench/tempo.py             # 48 rendered clips + GTZAN

FluidR3_GM and MuseScore_General come from Debian's fluid-soundfont-gm and
musescore-general-soundfont-small, TiMidity++ from timidity + freepats
(``apt-get install fluid-soundfont-gm musescore-general-soundfont-small timidity freepats``);
a renderer that is missing is left out and the run says so.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _render  # noqa: E402
from _render import SOUNDFONTS, renderers  # noqa: E402

from bgmscope.engine import run_map

SR = 16000
CLIP_S = 15.0
GTZAN = Path("/work/shared/data/gtzan-sample")
DRUMS = [None, "backbeat", "four-on-floor", "half-time"]
THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
OCTAVES = (1 / 3, 0.5, 1.0, 2.0, 3.0)




def estimates(y: np.ndarray, sr: int) -> dict:
    """bgmscope's stored tempo and confidence, and librosa's two estimates, for one clip."""
    import librosa

    from bgmscope.features.extract import extract_clip
    from bgmscope.features.rhythm import beat_track

    v = extract_clip(y, sr, include_f0=False)
    raw = beat_track(y, sr)
    return {"bgmscope": v["tempo_bpm"], "bgmscope_raw": raw.tempo_bpm, "confidence": v["tempo_confidence"],
            "librosa_tempo": float(np.atleast_1d(librosa.feature.tempo(y=y, sr=sr))[0]),
            "librosa_beat_track": float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=sr)[0])[0])}


def rendered_clip(job: tuple) -> dict:
    """Worker: arrange, render and estimate one clip of known tempo."""
    from bgmscope.scores import arrange, load_piece

    index, seed, irish, renderer = job
    rng = random.Random(seed * 1_000_003 + index)
    while True:  # duple simple meters only: a jig's (6/8) beat is not the score's quarter note
        if rng.random() < 0.6:
            piece = load_piece(rng.choice(["essenFolksong/han1", "essenFolksong/han2"]), rng.randrange(1, 200))
        else:
            piece = load_piece(rng.choice(irish))
        if piece.beats_per_bar in (2.0, 4.0):
            break
    tempo = float(np.exp(rng.uniform(np.log(60), np.log(180))))
    drums = DRUMS[index % len(DRUMS)]
    pm = arrange(piece, rng, tempo=tempo, transpose=rng.randint(-4, 4), min_seconds=CLIP_S + 12, drums=drums)
    y = _render.render(pm, renderer, SR)
    off = int(rng.uniform(0, 10) * SR)
    y = y[off: off + int(CLIP_S * SR)]
    return {"truth": tempo, "renderer": renderer, "drums": drums or "none",
            "beats_per_bar": piece.beats_per_bar, **estimates(y, SR)}


def gtzan_clip(path: str) -> dict:
    from bgmscope.audio.decode import load

    y = load(path, sr=SR, duration=CLIP_S)[0]
    out = estimates(y, SR)
    return {"truth": out["librosa_beat_track"], "renderer": "gtzan", "drums": Path(path).parent.name, **out}


def agree(est: np.ndarray, truth: np.ndarray, octaves=(1.0,)) -> np.ndarray:
    est = np.asarray(est, float)
    ok = np.zeros(est.shape, bool)
    for m in octaves:
        ok |= np.abs(est / (truth * m) - 1) <= 0.04
    return ok & np.isfinite(est)


def report(rows: list[dict], title: str, methods: list[str]) -> None:
    from bgmscope.features.rhythm import MIN_CONFIDENCE

    truth = np.array([r["truth"] for r in rows])
    print(f"{title} (n={len(rows)})")
    for m in methods:
        est = np.array([r[m] for r in rows], float)
        print(f"  {m:20s} within 4 %: {agree(est, truth).mean():6.1%}   octave-tolerant: "
              f"{agree(est, truth, OCTAVES).mean():6.1%}   reported: {np.isfinite(est).mean():6.1%}")
    raw = np.array([r["bgmscope_raw"] for r in rows], float)
    conf = np.array([r["confidence"] for r in rows], float)
    fin = np.isfinite(np.array([r["bgmscope"] for r in rows], float))
    kept = agree(raw[fin], truth[fin]).mean() if fin.any() else float("nan")
    print(f"  stored tempi (confidence >= {MIN_CONFIDENCE:g}): within 4 % {kept:6.1%} of {fin.sum()} "
          f"(coverage {fin.mean():.1%}); dropped ones {agree(raw[~fin], truth[~fin]).mean() if (~fin).any() else float('nan'):6.1%}")
    print("  confidence >=  " + "".join(f"{t:>7.1f}" for t in THRESHOLDS))
    acc, cov = [], []
    for t in THRESHOLDS:
        k = conf >= t
        acc.append(agree(raw[k], truth[k]).mean() if k.any() else float("nan"))
        cov.append(k.mean())
    print("  accuracy       " + "".join(f"{a:>7.1%}" if np.isfinite(a) else "      -" for a in acc))
    print("  octave-tol.    " + "".join(
        f"{agree(raw[conf >= t], truth[conf >= t], OCTAVES).mean():>7.1%}" if (conf >= t).any() else "      -"
        for t in THRESHOLDS))
    print("  coverage       " + "".join(f"{c:>7.1%}" for c in cov))
    fa = [a for a in acc if np.isfinite(a)]
    mono = all(b >= a - 0.02 for a, b in zip(fa, fa[1:], strict=False))
    print(f"  target: accuracy grows with the threshold -> {'met' if mono and fa[-1] > fa[0] else 'MISSED'}")


def main() -> None:
    import faulthandler

    faulthandler.enable()  # a crash in a native renderer or codec says where
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="16 rendered clips instead of 48")
    ap.add_argument("--clips", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--renderers", default=None, help="comma-separated subset of "
                    + ", ".join([*SOUNDFONTS, "timidity"]))
    args = ap.parse_args()
    n = args.clips or (16 if args.quick else 48)
    have, missing = renderers()
    if args.renderers:
        have = [r for r in have if r in args.renderers.split(",")]
    if not have:
        raise SystemExit("no renderer available (see the module docstring for how to install them)")
    from bgmscope.scores import corpus_paths

    irish = corpus_paths("ryansMammoth")
    rows = []
    for out in run_map(rendered_clip, [(i, args.seed, irish, have[i % len(have)]) for i in range(n)],
                       jobs=args.jobs, desc="tempo bench", show_progress=False):
        if out.ok:
            rows.append(out.result)
        else:
            print(f"clip {out.item[0]} failed: {out.error}")
    methods = ["bgmscope", "librosa_tempo", "librosa_beat_track"]
    print(f"rendered clips ({CLIP_S:g} s at {SR} Hz, seed {args.seed}) by {', '.join(have)}"
          + (f"; left out: {'; '.join(missing)}" if missing else ""))
    if rows:
        report(rows, "rendered music, truth = the score's tempo", methods)
        for r_name in have:
            sub = [r for r in rows if r["renderer"] == r_name]
            if sub:
                t = np.array([r["truth"] for r in sub])
                print(f"    {r_name:18s} bgmscope within 4 %: {agree([r['bgmscope'] for r in sub], t).mean():6.1%}"
                      f"  librosa_tempo: {agree([r['librosa_tempo'] for r in sub], t).mean():6.1%}  (n={len(sub)})")
    clips = sorted(GTZAN.glob("*/*.au")) if GTZAN.is_dir() else []
    if not clips:
        print(f"no GTZAN sample at {GTZAN}: real-music part skipped")
        return
    real = [o.result for o in run_map(gtzan_clip, [str(p) for p in clips], jobs=args.jobs,
                                      desc="gtzan", show_progress=False) if o.ok]
    report(real, "GTZAN sample, truth = librosa beat.beat_track (no annotation here)",
           ["bgmscope", "librosa_tempo"])
    for r in real:
        print(f"    {r['drums']:10s} bgmscope {r['bgmscope']:6.1f} (raw {r['bgmscope_raw']:6.1f}, confidence "
              f"{r['confidence']:.2f})  librosa tempo {r['librosa_tempo']:6.1f}  beat_track {r['librosa_beat_track']:6.1f}")


if __name__ == "__main__":
    main()
