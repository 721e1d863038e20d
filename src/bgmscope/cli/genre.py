"""Genre commands: ``bgmscope genre download | styles-corpus | train | eval | predict``."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import default_jobs

GenreModel = Literal["hmm", "svm", "gbm", "cnn", "tags"]


def register(app: typer.Typer) -> None:
    from .common import (
        SR_MAX,
        SR_MIN,
        ClipKind,
        console,
        either,
        finish,
        finite,
        hidden_alias,
        jobs_option,
        open_catalog,
        out_dir_option,
        out_file_option,
        print_failures,
        settings_of,
        summary_table,
    )

    genre = typer.Typer(help="Genre/style classification: datasets, HMM/SVM/CNN models, evaluation, chart labels.",
                        no_args_is_help=True)
    app.add_typer(genre, name="genre")

    @genre.command("download")
    def download(
        ctx: typer.Context,
        dataset: Annotated[str, typer.Argument(help="Dataset name (gtzan).")] = "gtzan",
        url: Annotated[str | None, typer.Option("--url", help="Archive URL (default: the public GTZAN archive).")] = None,
        sha256: Annotated[str | None, typer.Option("--sha256", help="Expected SHA-256 of the archive.")] = None,
        out_dir: Annotated[Path | None, out_dir_option("Destination folder (default <data-dir>/<dataset>).")] = None,
        to: Annotated[Path | None, hidden_alias("--to", file_okay=False)] = None,
    ) -> None:
        """Fetch a labelled archive, verify its checksum and unpack it as <label>/<clip> folders."""
        from ..errors import ParameterError
        from ..genre.download import GTZAN_URL, download_dataset

        if dataset != "gtzan" and url is None:
            raise ParameterError(f"unknown dataset {dataset!r}: give --url for anything but gtzan")
        dest = either(out_dir, to) or settings_of(ctx).ensure().data_dir / dataset
        res = download_dataset(dest, url=url or GTZAN_URL, sha256=sha256)
        console.print(summary_table(f"download {dataset}", {"labels": len(res.labels),
                                                             "clips": sum(res.labels.values()),
                                                             "bytes": res.bytes, "sha256": res.archive_sha256}))
        if sha256 is None:
            console.print("no --sha256 given: the archive was not verified; its hash is printed above")
        console.print(f"dataset: {res.dest}")

    @genre.command("styles-corpus")
    def styles_corpus(
        out: Annotated[Path, typer.Argument(file_okay=False, help="Output folder (<style>/<clip>.wav + manifest.csv).")],
        per_class: Annotated[int, typer.Option("--per-class", min=1, help="Clips per style.")] = 40,
        length: Annotated[float, typer.Option("--length", callback=finite(0.0, above=True),
                                              help="Clip length (s).")] = 10.0,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (instruments, tempo, key, gain).")] = 0,
        sr: Annotated[int, typer.Option("--sr", min=SR_MIN, max=SR_MAX, help="Sample rate of the clips (Hz).")] = 16000,
        styles: Annotated[str | None, typer.Option("--styles", help="Comma-separated subset of the styles.")] = None,
        renderers: Annotated[str, typer.Option("--renderers", help="Comma list: timgm6mb, fluidr3, musescore, timidity.")] = "timgm6mb",
        renders_per_clip: Annotated[int | None, typer.Option("--renders-per-clip", min=1,
                                                             help="Renderers drawn per clip (default: all given).")] = None,
        augment: Annotated[bool, typer.Option("--augment", help="Room, EQ, compression, gain and MP3 augmentation.")] = False,
        split: Annotated[str | None, typer.Option("--split", help="Only the 'train' or the 'test' pieces of the fixed split.")] = None,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Render the offline styles corpus from music21 scores (random instruments, tempo, key, gain)."""
        from ..genre.styles import STYLES, build_styles_corpus

        chosen = tuple(s.strip() for s in styles.split(",")) if styles else STYLES
        c = build_styles_corpus(out, per_class=per_class, styles=chosen, seed=seed, length_s=length, sr=sr,
                                jobs=jobs, renderers=tuple(r.strip() for r in renderers.split(",") if r.strip()),
                                renders_per_clip=renders_per_clip, augment=augment, split=split)
        counts = c.manifest["label"].value_counts().sort_index().to_dict() if len(c.manifest) else {}
        console.print(summary_table("styles corpus", {**counts, "pieces": c.manifest["group"].nunique()
                                                      if len(c.manifest) else 0}))
        print_failures(c.failures)
        console.print(f"corpus: {c.root} (manifest: {c.root / 'manifest.csv'})")
        finish(failed=len(c.failures), produced=len(c.manifest))

    @genre.command("train")
    def train(
        ctx: typer.Context,
        dataset: Annotated[Path, typer.Argument(help="Folder-per-label dataset (GTZAN layout, styles corpus).")],
        model: Annotated[GenreModel, typer.Option("--model", "-m", help="hmm | svm | gbm | cnn | tags")] = "svm",
        out: Annotated[Path | None, out_file_option("Model file (default <data-dir>/models/genre/<model>.pkl).")] = None,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Train a genre model on every clip of DATASET and save it."""
        from ..genre.train import train as run_train

        res = run_train(dataset, model, settings_of(ctx), jobs=jobs, out=out)
        console.print(summary_table(f"genre train ({model})", {"clips": res.n_clips, **res.counts,
                                                               "fit seconds": f"{res.fit_s:.1f}"}))
        print_failures(res.failures)
        console.print(f"model: {res.path}")
        finish(failed=len(res.failures))

    @genre.command("eval")
    def evaluate(
        ctx: typer.Context,
        dataset: Annotated[Path | None, typer.Argument(help="Folder-per-label dataset (cross-validated within).")] = None,
        model: Annotated[str, typer.Option("--model", "-m", help="hmm | svm | gbm | cnn | tags | all (comma list ok)")] = "all",
        folds: Annotated[int, typer.Option("--folds", min=2, help="k of the stratified, grouped k-fold.")] = 5,
        train_dir: Annotated[Path | None, typer.Option("--train", help="Train on every clip of this labelled folder …")] = None,
        test_dir: Annotated[Path | None, typer.Option("--test", help="… and score on every clip of this one (same labels).")] = None,
        n_boot: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the 95 % CIs (0: none).")] = 1000,
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Grouped stratified k-fold of the models side by side (DATASET), or train on --train and score on --test;
        stores genre_eval (+ folds, per class, confusion) or genre_transfer (+ per class, confusion)."""
        from ..errors import ParameterError
        from ..genre.models import torch_available

        kinds = ["hmm", "svm", "cnn"] if model == "all" else [m.strip() for m in model.split(",")]
        if model == "all" and not torch_available():
            kinds.remove("cnn")
            console.print("cnn skipped: PyTorch is not installed (pip install 'bgmscope[torch]')")
        bad = [k for k in kinds if k not in ("hmm", "svm", "gbm", "cnn", "tags")]
        if bad:
            raise ParameterError(f"unknown model(s) {bad}; choose hmm, svm, gbm, cnn, tags or all")
        if (train_dir is None) != (test_dir is None):
            raise ParameterError("--train and --test go together: train on one labelled folder, score on the other")
        if train_dir is not None:
            if dataset is not None:
                raise ParameterError("give either DATASET (cross-validation) or --train/--test, not both")
            _eval_transfer(ctx, kinds, train_dir, test_dir, n_boot=n_boot, jobs=jobs)
            return
        if dataset is None:
            raise ParameterError("give DATASET to cross-validate in, or --train A --test B")
        _eval_cv(ctx, kinds, dataset, folds=folds, jobs=jobs)

    def _eval_cv(ctx, kinds: list[str], dataset: Path, *, folds: int, jobs: int) -> None:
        from rich.table import Table

        from ..genre.dataset import load_dataset
        from ..genre.evaluate import compute_inputs, cross_validate, inputs_for, store_eval
        from ..genre.features import FeatureParams
        from ..genre.train import input_cache

        settings = settings_of(ctx)
        ds = load_dataset(dataset)
        data = compute_inputs(ds, kinds=inputs_for(kinds), params=FeatureParams(sr=settings.sample_rate), jobs=jobs,
                              cache_dir=input_cache(settings))
        res = cross_validate(data, kinds, n_splits=folds, seed=settings.seed)
        t = Table(title=f"genre eval: {dataset} ({len(data.items)} clips, {res.summary['folds'].iloc[0]} folds by piece)")
        for col in ("model", "accuracy", "macro-F1", "fit s/fold", "predict ms/clip"):
            t.add_column(col, justify="left" if col == "model" else "right")
        for r in res.summary.itertuples():
            t.add_row(r.model, f"{r.accuracy:.3f} ± {r.accuracy_std:.3f}", f"{r.macro_f1:.3f} ± {r.macro_f1_std:.3f}",
                      f"{r.fit_s:.2f}", f"{r.predict_ms_per_clip:.1f}")
        console.print(t)
        rec = res.per_class.pivot(index="label", columns="model", values="recall")
        console.print(summary_table("recall per class", {lab: "  ".join(f"{m} {rec.loc[lab, m]:.2f}" for m in rec.columns)
                                                          for lab in rec.index}))
        print_failures(data.failures)
        with open_catalog(ctx) as cat:
            names = store_eval(cat, res, dataset=str(dataset))
        console.print(f"tables: {', '.join(names)} in {settings.catalog_path}")
        finish(failed=len(data.failures))

    def _eval_transfer(ctx, kinds: list[str], train_dir: Path, test_dir: Path, *, n_boot: int, jobs: int) -> None:
        from rich.table import Table

        from ..genre.dataset import load_dataset
        from ..genre.evaluate import (
            check_same_labels,
            compute_inputs,
            inputs_for,
            store_transfer,
            transfer_evaluate,
        )
        from ..genre.features import FeatureParams
        from ..genre.train import input_cache

        settings = settings_of(ctx)
        ds_tr, ds_te = load_dataset(train_dir), load_dataset(test_dir)
        check_same_labels(ds_tr.labels, ds_te.labels, train_name=str(train_dir), test_name=str(test_dir))
        params = FeatureParams(sr=settings.sample_rate)
        tr = compute_inputs(ds_tr, kinds=inputs_for(kinds), params=params, jobs=jobs, cache_dir=input_cache(settings))
        te = compute_inputs(ds_te, kinds=inputs_for(kinds), params=params, jobs=jobs, cache_dir=input_cache(settings))
        failures = [(f"train {p}", e) for p, e in tr.failures] + [(f"test {p}", e) for p, e in te.failures]
        # unreadable clips were skipped; what is left must still cover both label sets
        check_same_labels(tr.items["label"], te.items["label"], train_name=f"{train_dir} (readable clips)",
                          test_name=f"{test_dir} (readable clips)")
        res = transfer_evaluate(tr, te, kinds, seed=settings.seed, n_boot=n_boot)
        t = Table(title=f"genre eval: train {train_dir} ({len(tr.items)} clips) → test {test_dir} ({len(te.items)} clips)")
        for col in ("model", "accuracy [95 % CI]", "macro-F1 [95 % CI]", "fit s", "predict ms/clip"):
            t.add_column(col, justify="left" if col == "model" else "right")
        for r in res.summary.itertuples():
            t.add_row(r.model, f"{r.accuracy:.3f} [{r.accuracy_lo:.2f}, {r.accuracy_hi:.2f}]",
                      f"{r.macro_f1:.3f} [{r.macro_f1_lo:.2f}, {r.macro_f1_hi:.2f}]", f"{r.fit_s:.2f}",
                      f"{r.predict_ms_per_clip:.1f}")
        console.print(t)
        rec = res.per_class.pivot(index="label", columns="model", values="recall")
        console.print(summary_table("recall per class", {lab: "  ".join(f"{m} {rec.loc[lab, m]:.2f}" for m in rec.columns)
                                                          for lab in rec.index}))
        for kind, cm in res.confusion.groupby("model", sort=False):
            m = cm.pivot(index="true_label", columns="pred_label", values="count")
            ct = Table(title=f"confusion ({kind}): rows true, columns predicted")
            ct.add_column("true \\ predicted")
            for c in m.columns:
                ct.add_column(str(c), justify="right")
            for lab, row in m.iterrows():
                ct.add_row(str(lab), *(str(int(v)) for v in row))
            console.print(ct)
        if failures:
            console.print(f"skipped {len(failures)} unreadable clip(s):")
            print_failures(failures)
        with open_catalog(ctx) as cat:
            names = store_transfer(cat, res, train=str(train_dir), test=str(test_dir))
        console.print(f"tables: {', '.join(names)} in {settings.catalog_path}")
        finish(failed=len(failures))

    @genre.command("predict")
    def predict(
        ctx: typer.Context,
        model: Annotated[GenreModel | None, typer.Option("--model", "-m",
                                                         help="hmm | svm | gbm | cnn (default: latest trained).")] = None,
        model_file: Annotated[Path | None, typer.Option("--model-file", help="A model saved by 'genre train --out'.")] = None,
        clip_kind: Annotated[ClipKind, typer.Option("--clip", help="Which clips to label (first | offset | hook).")] = "first",
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Label the catalog's chart songs with a trained model (genre_predictions, genre_chart_summary)."""
        from ..genre.predict import predict_catalog

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            res = predict_catalog(cat, settings, kind=model, model_file=model_file, clip_kind=clip_kind, jobs=jobs)
        console.print(summary_table(f"genre predict ({res.kind})", {
            "songs labelled": res.n_ok, "failed": len(res.failures),
            **{r.label: f"{r.n_songs} ({r.share:.0%})" for r in res.summary.itertuples()}}))
        print_failures(res.failures)
        console.print(f"model: {res.model_path}")
        console.print(f"tables: genre_predictions, genre_probabilities, genre_chart_summary in {settings.catalog_path}")
        finish(failed=len(res.failures), produced=res.n_ok)
