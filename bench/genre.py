"""Genre benchmark: within-corpus grouped CV beside cross-renderer accuracy, for every model.

The training corpus is the styles corpus (music21 pieces, random instruments, tempo, key, drums and
gain) rendered through several SoundFonts (default TimGM6mb, FluidR3_GM, MuseScore_General; each
clip through one drawn at random) and augmented (synthetic-room reverb, EQ tilt, compression, gain,
MP3 re-encode; random clip position). The test corpus holds **other pieces**, rendered by a
renderer **never used in training** (default: TiMidity++ with freepats), without augmentation. So
the cross-renderer figure is cross-piece and cross-renderer by construction (the pieces are split
once by a hash of their name, ``styles.piece_split``: a quarter are test pieces).

Printed side by side, each with a 95 % group-bootstrap CI: the within-corpus stratified k-fold
grouped by piece, and train-on-all / score-on-the-held-out-renderer; per-class recall of both; the
issue's targets (cross-renderer >= 0.75 and within 5 points of within-corpus CV). Models: the SVM
(bgmscope's main model), the seed's HMM, and, when the ``[models]`` extra is installed, ``tags``: a
classifier on musicnn's tag scores (the pretrained tagger's view of the clip).

    nice -n 10 python bench/genre.py            # 6 styles x 30 pieces x 2 cuts; test 6 x 10 pieces
    nice -n 10 python bench/genre.py --quick    # 6 x 8 pieces x 2 cuts; test 6 x 6 pieces, 3 folds

Needs FluidR3/MuseScore SoundFonts and TiMidity++ (Debian: apt-get install fluid-soundfont-gm
musescore-general-soundfont-small timidity freepats); it says which is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bgmscope.config import default_jobs
from bgmscope.genre.dataset import load_dataset
from bgmscope.genre.evaluate import (
    compute_inputs,
    cross_validate,
    cv_bootstrap,
    inputs_for,
    transfer_evaluate,
)
from bgmscope.genre.models import tags_available
from bgmscope.genre.render import renderers
from bgmscope.genre.styles import build_styles_corpus

CROSS_TARGET = 0.75
GAP_TARGET = 0.05


def _corpus(root: Path, label: str, **kw):
    t0 = time.perf_counter()
    c = build_styles_corpus(root, show_progress=False, **kw)
    dt = time.perf_counter() - t0
    for item, reason in c.failures[:5]:
        print(f"  {label}: skipped {item}: {reason}")
    return c, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run: 8 pieces per style, 3 folds")
    ap.add_argument("--pieces", type=int, default=None, help="training pieces per style (default 30)")
    ap.add_argument("--clips-per-piece", type=int, default=2, help="training cuts per piece")
    ap.add_argument("--test-pieces", type=int, default=None, help="held-out test pieces per style (default 10)")
    ap.add_argument("--folds", type=int, default=None)
    ap.add_argument("--length", type=float, default=10.0, help="clip length (s)")
    ap.add_argument("--train-renderers", default="timgm6mb,fluidr3,musescore")
    ap.add_argument("--renders-per-clip", type=int, default=1, help="renderers drawn per training clip")
    ap.add_argument("--test-renderer", default="timidity", help="a renderer never used in training")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--models", default="svm,hmm,tags")
    ap.add_argument("--root", type=Path, default=Path("/tmp/bgmscope-bench-genre-xr"))
    ap.add_argument("--jobs", type=int, default=default_jobs())
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    pieces = a.pieces or (8 if a.quick else 30)
    test_pieces = a.test_pieces or (6 if a.quick else 10)
    n_folds = a.folds or (3 if a.quick else 5)
    train_r = tuple(r.strip() for r in a.train_renderers.split(",") if r.strip())
    if a.test_renderer in train_r:
        sys.exit(f"--test-renderer {a.test_renderer} is also a training renderer: the figure would not be cross-renderer")
    known = renderers()
    missing = [n for n in (*train_r, a.test_renderer) if n not in known or not known[n].available]
    if missing:
        for n in missing:
            print(f"renderer {n} missing: {known[n].install if n in known else 'unknown name'}")
        sys.exit(2)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    if "tags" in models and not tags_available():
        print("tags skipped: the musicnn tagger needs the models extra (pip install 'bgmscope[models]')")
        models.remove("tags")
    augment = not a.no_augment
    # corpora grow in place (a larger --pieces keeps what was rendered), so sizes are not in the names
    train_root = (a.root / f"train-{'+'.join(train_r)}-r{a.renders_per_clip}{'-aug' if augment else ''}"
                           f"-x{a.clips_per_piece}-{a.length:g}s-seed{a.seed}")

    t_all = time.perf_counter()
    train, t_train = _corpus(train_root, "train", per_class=pieces * a.clips_per_piece,
                             clips_per_piece=a.clips_per_piece, seed=a.seed, length_s=a.length, jobs=a.jobs,
                             renderers=train_r, renders_per_clip=a.renders_per_clip, augment=augment,
                             split="train")
    test_root = a.root / f"test-{a.test_renderer}-{a.length:g}s-seed{a.seed + 1}"
    test, t_test = _corpus(test_root, "test", per_class=test_pieces, seed=a.seed + 1, length_s=a.length,
                           jobs=a.jobs, renderers=(a.test_renderer,), split="test")
    shared = set(train.manifest["group"]) & set(test.manifest["group"])
    assert not shared, f"pieces in both corpora: {sorted(shared)[:3]}"

    t0 = time.perf_counter()
    kinds = inputs_for(models)
    dtr = compute_inputs(load_dataset(train.root), kinds=kinds, jobs=a.jobs, show_progress=False,
                         cache_dir=a.root / ".cache")
    dte = compute_inputs(load_dataset(test.root), kinds=kinds, jobs=a.jobs, show_progress=False,
                         cache_dir=a.root / ".cache")
    t_inputs = time.perf_counter() - t0
    for p, e in (dtr.failures + dte.failures)[:5]:
        print(f"  inputs: skipped {p}: {e}")

    rend = train.manifest["renderer"].value_counts().to_dict()
    print(f"train: {train.root}\n  {len(dtr.items)} clips of {a.length:g} s from {dtr.items['group'].nunique()} "
          f"pieces, 6 styles; renderers {rend}; augmentation {'on' if augment else 'off'}")
    print(f"test:  {test.root}\n  {len(dte.items)} clips from {dte.items['group'].nunique()} other pieces, "
          f"renderer {a.test_renderer} (never in training), no augmentation")
    print(f"time: train corpus {t_train:.0f} s, test corpus {t_test:.0f} s, model inputs {t_inputs:.0f} s "
          f"(all cached on re-runs), jobs={a.jobs}")

    t0 = time.perf_counter()
    cv = cross_validate(dtr, models, n_splits=n_folds, seed=a.seed)
    cvb = cv_bootstrap(cv, dtr, seed=a.seed).set_index("model")
    t_cv = time.perf_counter() - t0
    t0 = time.perf_counter()
    xr = transfer_evaluate(dtr, dte, models, seed=a.seed)
    t_xr = time.perf_counter() - t0
    xs = xr.summary.set_index("model")
    cs = cv.summary.set_index("model")

    print()
    print(f"within-corpus: {int(cs['folds'].iloc[0])}-fold stratified, grouped by piece (all renderings of a piece "
          f"on one side); cross-renderer: fit on all {len(dtr.items)} training clips, scored on the "
          f"{len(dte.items)} test clips. 95 % CIs: bootstrap over pieces.")
    head = (f"{'model':<5} {'within-corpus CV':>22} {'cross-renderer':>22} {'gap pts':>8}  "
            f"target: cross >= {CROSS_TARGET:.2f} and gap <= {100 * GAP_TARGET:.0f} pts")
    print(head)
    print("-" * len(head))
    for m in models:
        w, x = cvb.loc[m], xs.loc[m]
        gap = float(w.accuracy - x.accuracy)
        ok_x, ok_g = x.accuracy >= CROSS_TARGET, gap <= GAP_TARGET
        verdict = ("met" if ok_x and ok_g else "MISSED (" + ", ".join(
            ([f"cross short by {100 * (CROSS_TARGET - x.accuracy):.1f} pts"] if not ok_x else [])
            + ([f"gap {100 * gap:.1f} pts"] if not ok_g else [])) + ")")
        print(f"{m:<5} {w.accuracy:>6.3f} [{w.accuracy_lo:.3f}, {w.accuracy_hi:.3f}] "
              f"{x.accuracy:>6.3f} [{x.accuracy_lo:.3f}, {x.accuracy_hi:.3f}] {100 * gap:>8.1f}  {verdict}")
    print()
    print("macro-F1: " + "; ".join(f"{m} within {cvb.loc[m, 'macro_f1']:.3f}, cross {xs.loc[m, 'macro_f1']:.3f}"
                                   for m in models))
    print(f"chance: {1 / 6:.3f}")
    print()
    rec_w = cv.per_class.pivot(index="label", columns="model", values="recall")[models]
    rec_x = xr.per_class.pivot(index="label", columns="model", values="recall")[models]
    rec = rec_w.add_suffix(" within").join(rec_x.add_suffix(" cross"))
    print("recall per class")
    print(rec[[f"{m} {s}" for m in models for s in ("within", "cross")]].round(2).to_string())
    for m in models:
        pred = xr.predictions[xr.predictions["model"] == m]["predicted"].value_counts(normalize=True)
        print(f"{m} cross-renderer prediction shares: " + ", ".join(f"{k} {v:.2f}" for k, v in pred.items()))
    print()
    print(f"time: CV {t_cv:.0f} s, cross-renderer fit+score {t_xr:.0f} s, total {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
