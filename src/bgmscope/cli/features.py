"""Feature commands: ``bgmscope features`` (the table) and ``bgmscope describe FILE`` (one file)."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

import json
import math
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    from .common import (
        ClipKind,
        console,
        either,
        emit_json,
        finish,
        finite,
        hidden_alias,
        jobs_option,
        json_flag,
        json_mode,
        open_catalog,
        out_file_option,
        print_failures,
        settings_of,
        summary_table,
        working,
    )

    @app.command()
    def features(
        ctx: typer.Context,
        jobs: Annotated[int, jobs_option("Worker processes (or Dask workers).")] = default_jobs(),
        engine: Annotated[Literal["local", "dask"] | None, typer.Option("--engine", help="local | dask "
                                                                "(default: local, or dask under bgmscope --scheduler)")] = None,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT "
                                                      "(default: a LocalCluster on loopback).")] = None,
        clip: Annotated[ClipKind | None, typer.Option("--clip",
                                                      help="Only clips of this kind: first | offset | two | hook.")] = None,
        kind: Annotated[ClipKind | None, hidden_alias("--kind")] = None,
        force: Annotated[bool, typer.Option("--force", help="Recompute cached rows too.")] = False,
        no_export: Annotated[bool, typer.Option("--no-export", help="Skip the Parquet export.")] = False,
    ) -> None:
        """Describe every prepared clip: the study's descriptors, the 42 statistics and the MIR set (cached)."""
        from ..features.extract import FEATURE_NAMES, FEATURE_VERSION
        from ..features.stage import run_features

        settings = settings_of(ctx)
        with open_catalog(ctx) as cat:
            s = run_features(cat, settings, jobs=jobs, engine=engine, scheduler=scheduler, kind=either(clip, kind),
                             force=force, export=not no_export)
        console.print(summary_table("features", {
            "computed": s.computed, "cached": s.cached, "failed": s.failed, "rows in table": s.rows,
            "descriptors per clip": len(FEATURE_NAMES), "extractor version": FEATURE_VERSION}))
        print_failures(s.failures)
        console.print(f"table: features in {settings.catalog_path}")
        if s.parquet:
            console.print(f"parquet: {s.parquet}")
        finish(failed=s.failed, produced=s.rows)

    @app.command()
    def describe(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="An audio file (any format the decoder reads).")],
        offset: Annotated[float, typer.Option("--offset", callback=finite(0.0), help="Start (s).")] = 0.0,
        length: Annotated[float | None, typer.Option("--length", callback=finite(0.0, above=True),
                                                     help="Seconds to analyse (default: clip length).")] = None,
        out: Annotated[Path | None, out_file_option("Write the full vector to this JSON file.")] = None,
        as_json: Annotated[bool, json_flag()] = False,
        f0: Annotated[Literal["yin", "crepe"], typer.Option(
            "--f0", case_sensitive=False,
            help="f0 tracker: yin (DSP, as the features table) or crepe (CREPE-tiny, the models extra).")] = "yin",
    ) -> None:
        """Describe one audio file outside the catalog (the same vector as the features table)."""
        from ..midi.backends import check_f0

        f0 = f0.lower()
        try:  # CREPE without the extra is a usage error (exit 2), before any audio is read
            check_f0(f0)
        except ImportError as exc:
            raise typer.BadParameter(str(exc)) from exc
        settings = settings_of(ctx)
        with json_mode(as_json):
            _describe(file, offset, length, out, as_json, settings, f0)

    def _describe(file: Path, offset: float, length: float | None, out: Path | None, as_json: bool, settings,
                  f0: str = "yin") -> None:
        from ..audio.decode import load
        from ..audio.paths import display
        from ..features.extract import VOICED_ONLY, extract_clip
        from ..features.tonal import key_label

        with working(f"describe {display(file.name)}"):
            y, sr = load(file, sr=settings.sample_rate, offset=offset,
                         duration=length if length is not None else settings.clip_length_s)
            v = extract_clip(y, sr, include_f0=f0 == "yin")
            if f0 == "crepe":  # the same f0 descriptors, from CREPE-tiny's contour
                from ..features.pitch import pitch_summary
                from ..models.pitch import crepe_f0

                c = crepe_f0(y, sr, fmin=65.0, fmax=1100.0)
                p = pitch_summary(c)
                if not c.voiced.any():
                    p.update(dict.fromkeys(VOICED_ONLY, float("nan")))
                v.update(p)
        from ..features.rhythm import MIN_CONFIDENCE as MIN_TEMPO_CONFIDENCE

        rows = {
            "duration": f"{y.size / sr:.2f} s",
            "tempo": (f"{v['tempo_bpm']:.1f} BPM (confidence {v['tempo_confidence']:.2f})"
                      if math.isfinite(v["tempo_bpm"]) else
                      f"none (confidence {v['tempo_confidence']:.2f} < {MIN_TEMPO_CONFIDENCE})"),
            "key": f"{key_label(int(v['key_pc']), 'major' if v['key_mode'] else 'minor')} "
                   f"(strength {v['key_strength']:.2f})",
            "loudness": f"{v['loudness_lufs']:.1f} LUFS, dynamics {v['rms_db_range']:.1f} dB",
            "spectral centroid": f"{v['centroid_mean']:.0f} Hz",
            "f0": f"median {v['f0_median_hz']:.1f} Hz, voiced {v['f0_voiced_ratio']:.0%}, "
                  f"range {v['f0_range_st']:.1f} st ({f0})",
            "onsets": f"{v['onset_rate']:.2f} /s, beat strength {v['beat_strength']:.2f}",
            "descriptors": len(v),
        }
        if as_json:
            # a name that is not UTF-8 is shown with U+FFFD (its raw form cannot be encoded)
            emit_json({"file": display(str(file)), "offset_s": offset, "duration_s": y.size / sr,
                       "sample_rate": sr, "f0_backend": f0, "descriptors": v})
        else:
            console.print(summary_table(f"describe {display(file.name)}", rows), highlight=False)
        if out is not None:
            out.write_text(json.dumps(v, ensure_ascii=False, indent=1), encoding="utf-8")
            console.print(f"wrote {display(out)}", highlight=False)
