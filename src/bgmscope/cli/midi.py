"""MIDI commands: transcribe, ssm, render, compose."""

# No ``from __future__ import annotations``: option annotations use helpers imported inside register()
# (a module-level import of bgmscope.cli.common would be circular), so they are evaluated where written.

from pathlib import Path
from typing import Annotated, Literal

import typer

from ..config import default_jobs


def register(app: typer.Typer) -> None:
    from .common import (
        SR_MAX,
        SR_MIN,
        console,
        either,
        finish,
        finite,
        hidden_alias,
        jobs_option,
        open_catalog,
        out_file_option,
        print_failures,
        settings_of,
        summary_table,
    )

    @app.command()
    def transcribe(
        ctx: typer.Context,
        songs: Annotated[list[str] | None, typer.Argument(help="Track ids (default: every ingested song).")] = None,
        file: Annotated[Path | None, typer.Option("--file", help="Transcribe one audio file (not in the catalog).")] = None,
        out: Annotated[Path | None, out_file_option("With --file: the .mid to write.")] = None,
        solo: Annotated[bool, typer.Option("--solo", help="The audio is one melodic line (f0 tracker), not a mix.")] = False,
        poly: Annotated[bool, typer.Option("--poly", help="Every pitched part, not the melody (Basic Pitch with "
                                                          "the models extra, else CQT harmonic templates).")] = False,
        poly_backend: Annotated[Literal["auto", "basic-pitch", "dsp"], typer.Option(
            "--poly-backend", case_sensitive=False,
            help="With --poly: auto (Basic Pitch if installed, else dsp), basic-pitch, or dsp.")] = "auto",
        f0: Annotated[Literal["yin", "crepe"], typer.Option(
            "--f0", case_sensitive=False,
            help="f0 tracker of a --solo melody: yin (DSP) or crepe (CREPE-tiny, the models extra).")] = "yin",
        max_seconds: Annotated[float, typer.Option("--max-seconds", callback=finite(0.0, above=True),
                                                   help="Transcribe at most this much of each song.")] = 60.0,
        audio: Annotated[Literal["auto", "first"], typer.Option(
            "--audio", case_sensitive=False,
            help="auto: each song's hook clip when prepare cut one, else its first --max-seconds; "
                 "first: always the first --max-seconds.")] = "auto",
        jobs: Annotated[int, jobs_option()] = default_jobs(),
    ) -> None:
        """Audio to MIDI: melody notes, tempo, beat SSMs and repetition scores (tables midi_songs, midi_notes)."""
        from ..midi.backends import check_f0, resolve_poly

        source = "solo" if solo else "mix"
        settings = settings_of(ctx)
        poly_backend, f0 = poly_backend.lower(), f0.lower()
        try:  # a model asked for without the extra is a usage error, before any audio is read
            backend = resolve_poly(poly_backend) if poly else None
            check_f0(f0)
        except ImportError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if file is not None:
            from ..audio.decode import load
            from ..midi.backends import f0_contour_of, poly_notes
            from ..midi.contour import beat_track
            from ..midi.melody import notes_to_midi, transcribe_audio
            from ..midi.songs import melody_backend

            y, sr = load(file, sr=settings.sample_rate, duration=max_seconds)
            if backend is not None:
                tempo = beat_track(y, sr).tempo_bpm
                notes, backend = poly_notes(y, sr, backend)
                pm = notes_to_midi(notes, tempo_bpm=tempo if tempo > 0 else 120.0, name="polyphonic")
            else:
                contour = f0_contour_of(y, sr, f0) if solo else None
                pm, notes, tempo = transcribe_audio(y, sr, source=source, contour=contour)
                backend = melody_backend(source, f0)
            target = out or Path(file).with_suffix(".mid")
            if target.suffix.lower() not in (".mid", ".midi"):
                raise typer.BadParameter("--out must end in .mid")
            pm.write(str(target))
            console.print(summary_table(f"transcribe {Path(file).name}",
                                        {"notes": len(notes), "tempo (BPM)": f"{tempo:.1f}",
                                         "mode": "polyphonic" if poly else source, "backend": backend}))
            console.print(f"wrote {target}")
            return
        from ..midi.songs import transcribe_catalog

        with open_catalog(ctx) as cat:
            s = transcribe_catalog(cat, settings, track_ids=songs or None, max_seconds=max_seconds,
                                   jobs=jobs, source=source, f0=f0, poly=backend, audio=audio.lower())
        console.print(summary_table("transcribe", {"songs ok": s.ok, "failed": s.failed, "unchanged": s.skipped,
                                                    "notes": s.notes, "backend": s.backend,
                                                    "audio": ", ".join(f"{n} {k}" for k, n in
                                                                       sorted(s.audio_kinds.items())) or "-"}))
        print_failures(s.failures)
        console.print(f"MIDI and SSMs: {s.out_dir}  (tables midi_songs, midi_notes)")
        finish(failed=s.failed, produced=s.ok + s.skipped)

    @app.command()
    def ssm(
        ctx: typer.Context,
        midi: Annotated[Path, typer.Argument(help="A .mid file.")],
        out: Annotated[Path | None, out_file_option("Save the matrix as .npy.")] = None,
    ) -> None:
        """Beat-synchronous pitch-class self-similarity of a MIDI file and its repetition score."""
        import numpy as np

        from ..errors import ParameterError
        from ..midi.render import load_midi
        from ..midi.ssm import midi_beat_features, repetition_score, self_similarity

        pm = load_midi(midi)
        F, beats = midi_beat_features(pm)
        S = self_similarity(F)
        rows: dict[str, object] = {"beats": S.shape[0]}
        try:
            r = repetition_score(S)
            rows.update({"repetition": f"{r.score:.3f}", "mean best later match": f"{r.mean_best:.3f}"})
        except ParameterError as exc:
            rows["repetition"] = str(exc)
        if out is not None:
            np.save(out, S.astype(np.float32))
        console.print(summary_table(f"ssm {midi.name}", rows))
        if out is not None:
            # np.save adds .npy to a name without it
            console.print(f"wrote {out if out.suffix == '.npy' else out.with_name(out.name + '.npy')}", highlight=False)

    @app.command()
    def render(
        midi: Annotated[Path, typer.Argument(help="A .mid file.")],
        out: Annotated[Path, out_file_option("FILE.wav | .mp3 | .flac | .ogg")],
        sr: Annotated[int | None, typer.Option("--sr", min=SR_MIN, max=SR_MAX,
                                               help="Output sample rate (Hz), default 44100.")] = None,
        rate: Annotated[int | None, hidden_alias("--rate", min=SR_MIN, max=SR_MAX)] = None,
        soundfont: Annotated[Path | None, typer.Option("--soundfont", help="A General MIDI .sf2 (default: pretty_midi's).")] = None,
        mono: Annotated[bool, typer.Option("--mono", help="One channel instead of two.")] = False,
    ) -> None:
        """Render a MIDI file through a General MIDI SoundFont (FluidSynth)."""
        from ..midi.render import render_file

        path = render_file(midi, out, sr=int(either(sr, rate, 44100)), sf2_path=soundfont, stereo=not mono)
        console.print(f"wrote {path}")

    @app.command()
    def compose(
        ctx: typer.Context,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        out: Annotated[Path | None, out_file_option("FILE.mid (audio is written beside it).")] = None,
        cluster: Annotated[str | None, typer.Option("--cluster", help="Learn from one cluster: a k-means label or 'top'.")] = None,
        bars: Annotated[int, typer.Option("--bars", min=1)] = 16,
        key: Annotated[str, typer.Option("--key", help="Tonic: C, C#, Db, ... B.")] = "C",
        minor: Annotated[bool, typer.Option("--minor", help="Minor mode.")] = False,
        tempo: Annotated[float | None, typer.Option("--tempo", callback=finite(0.0, above=True), help="BPM (default: the corpus median).")] = None,
        order: Annotated[int, typer.Option("--order", min=1, help="Longest Markov context (tokens).")] = 3,
        audio: Annotated[Literal["mp3", "wav", "none"], typer.Option("--audio", case_sensitive=False,
                                                                     help="Rendered audio format.")] = "mp3",
    ) -> None:
        """Compose a melody learnt from the transcribed chart (or a cluster), with chords and drums."""
        from ..midi.training import compose_from_catalog

        fmt = None if audio.lower() == "none" else "." + audio.lower().lstrip(".")
        with open_catalog(ctx) as cat:
            r = compose_from_catalog(cat, settings_of(ctx), seed=seed, cluster=cluster, out=out, n_bars=bars,
                                     key=key, mode="minor" if minor else "major", tempo_bpm=tempo,
                                     max_order=order, audio_format=fmt)
        c = r.composition
        console.print(summary_table("compose", {
            "learnt from": f"{r.source} ({r.n_songs} songs, {r.n_tokens} notes)", "key": c.key,
            "tempo (BPM)": f"{c.tempo_bpm:.1f}", "drums": c.drum_style, "notes": c.n_notes,
            "longest copied n-gram": f"{c.longest_copied} of {len(c.tokens)} tokens"}))
        console.print(f"wrote {r.midi_path}" + (f" and {r.audio_path}" if r.audio_path else ""))
