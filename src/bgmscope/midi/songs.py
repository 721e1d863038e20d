"""Transcribe the catalog's songs: melody MIDI, tempo, beat SSMs and repetition scores per song.

Workers read one song's hook clip (the 15 s the prepare stage cut where short videos use the song)
when the catalog has one, else decode the song's first ``max_seconds``; they transcribe its melody,
track its beats and build three beat-synchronous SSMs (pitch classes of the transcribed melody,
audio chroma, audio MFCC) from one CQT and one STFT,
save the MIDI and the SSMs under ``data_dir/midi`` and return one row plus the notes; the main
process writes the ``midi_songs`` and ``midi_notes`` tables. A song whose audio, parameters and
code version are unchanged is not redone (its cache key is kept in ``midi_songs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.decode import load
from ..catalog import Catalog, now
from ..config import Settings
from ..engine import run_map
from ..errors import CatalogError, ParameterError
from ..features.rhythm import beat_track
from ..fsutil import atomic_path, short_hash
from .backends import check_f0, f0_contour_of, poly_notes, resolve_poly
from .evaluate import note_scores, reference_notes
from .melody import notes_to_midi, transcribe_melody
from .spectra import SongSpectra
from .ssm import audio_beat_features, midi_beat_features, repetition_score, self_similarity

STAGE = "transcribe"
MIDI_VERSION = 4  # bump when transcription or SSM code changes results (3: the backend column; 4: chroma from the shared CQT)
SSM_KINDS = ("pitch", "chroma", "mfcc")


@dataclass(frozen=True)
class SongTask:
    track_id: str
    audio_path: str
    sha256: str
    out_dir: str
    max_seconds: float
    sample_rate: int
    cache_key: str
    reference_midi: str | None = None  # demo songs: the source MIDI (lead = first instrument)
    reference_tempo: float | None = None
    source: str = "mix"
    f0: str = "yin"  # solo melodies: the f0 tracker ('yin' or 'crepe')
    poly: str | None = None  # every pitched part with this backend ('basic-pitch' or 'dsp'), not the melody
    audio_kind: str = "first"  # what audio_path holds: 'hook' (the hook clip) or 'first-<N>s' (the song's start)
    audio_offset_s: float = 0.0  # where in the song audio_path starts (the hook clip's offset)


def melody_backend(source: str, f0: str) -> str:
    """What finds a melody: the CQT salience map in a mix, the f0 tracker on a solo line."""
    return "salience" if source == "mix" else f0


@dataclass
class TranscribeSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    notes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    run_id: str = ""
    out_dir: Path | None = None
    backend: str = ""
    audio_kinds: dict[str, int] = field(default_factory=dict)  # songs redone per audio kind (hook, first-45s)


def midi_dir(settings: Settings) -> Path:
    return settings.data_dir / "midi"


def _save_npy(path: Path, a: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, a.astype(np.float32))


def transcribe_song(task: SongTask) -> dict:
    """Worker: one song -> a ``midi_songs`` row and its notes (raises on a bad file)."""
    y, sr = load(task.audio_path, sr=task.sample_rate, duration=task.max_seconds)
    seconds = len(y) / sr
    out = Path(task.out_dir)
    spectra = SongSpectra(y, sr)  # one CQT and one STFT for the melody, the beats and the SSMs
    beats = beat_track(None, sr, spec=spectra.beat_spec)
    if task.poly is not None:
        notes, backend = poly_notes(y, sr, task.poly)
    else:
        contour = f0_contour_of(y, sr, task.f0) if task.source == "solo" else None
        notes = transcribe_melody(y, sr, source=task.source, contour=contour, spectra=spectra)
        backend = melody_backend(task.source, task.f0)
    tempo = beats.tempo_bpm if np.isfinite(beats.tempo_bpm) and beats.tempo_bpm > 0 else 120.0
    pm = notes_to_midi(notes, tempo_bpm=tempo, name=f"melody {task.track_id}")
    mid = out / "transcribed" / f"{task.track_id}.mid"
    with atomic_path(mid) as tmp:
        pm.write(str(tmp))
    row = {"track_id": task.track_id, "audio_path": task.audio_path, "audio_kind": task.audio_kind,
           "audio_offset_s": task.audio_offset_s, "seconds": seconds,
           "n_notes": len(notes), "tempo_bpm": tempo, "tempo_confidence": beats.confidence,
           "pitch_median": float(np.median([n.pitch for n in notes])) if notes else np.nan,
           "pitch_range": float(np.ptp([n.pitch for n in notes])) if notes else np.nan,
           "notes_per_s": len(notes) / (len(y) / sr), "midi_path": str(mid),
           "backend": backend, "cache_key": task.cache_key}
    bt = np.asarray(beats.beat_times, float)
    bt = bt[np.r_[True, np.diff(bt) > 0]] if len(bt) else bt
    row["n_beats"] = int(max(0, len(bt) - 1))
    mats: dict[str, np.ndarray] = {}
    if len(bt) >= 3:
        feats = audio_beat_features(None, sr, bt, spectra=spectra)
        mats["chroma"] = self_similarity(feats["chroma"])
        mats["mfcc"] = self_similarity(feats["mfcc"], standardize=True)
        if notes:
            F, _ = midi_beat_features(pm, bt)
            mats["pitch"] = self_similarity(F)
    for kind in SSM_KINDS:
        S = mats.get(kind)
        path = out / "ssm" / f"{task.track_id}_{kind}.npy"
        if S is not None:
            _save_npy(path, S)
        row[f"ssm_{kind}_path"] = str(path) if S is not None else None
        try:
            rep = repetition_score(S) if S is not None else None
        except ParameterError:  # too few beats for the score
            rep = None
        row[f"repetition_{kind}"] = rep.score if rep else np.nan
        row[f"best_match_{kind}"] = rep.mean_best if rep else np.nan
    row.update(ref_f1_on=np.nan, ref_f1_onoff=np.nan, ref_tempo_bpm=np.nan, ref_repetition_pitch=np.nan)
    if task.reference_midi and Path(task.reference_midi).is_file():
        import pretty_midi

        ref = pretty_midi.PrettyMIDI(task.reference_midi)
        # the lead's notes inside the transcribed stretch, on its clock (a hook clip starts later)
        t0 = task.audio_offset_s
        lead = [replace(n, start=max(0.0, n.start - t0), end=min(n.end, t0 + seconds) - t0)
                for n in reference_notes(ref, instruments=[0]) if t0 - 0.05 <= n.start < t0 + seconds - 0.05]
        s = note_scores(lead, notes)
        row.update(ref_f1_on=s["f1_on"], ref_f1_onoff=s["f1_onoff"],
                   ref_tempo_bpm=task.reference_tempo if task.reference_tempo else np.nan)
        try:
            Fr, _ = midi_beat_features(ref)
            row["ref_repetition_pitch"] = repetition_score(self_similarity(Fr)).score
        except ParameterError:
            pass
    note_rows = [(task.track_id, n.start, n.end, n.pitch, n.velocity) for n in notes]
    return {"row": row, "notes": note_rows}


AUDIO_CHOICES = ("auto", "first")


def hook_clips(catalog: Catalog, settings: Settings) -> dict[str, dict]:
    """track_id -> its newest hook clip on disk (``clip_id``, absolute ``path``, ``offset_s``,
    ``duration_s``, ``audio_sha256``); empty when ``prepare(kind='hook')`` has not run."""
    clips = catalog.clips("hook")
    if clips.empty:
        return {}
    clips = clips.dropna(subset=["track_id", "path"]).sort_values("created_at", ascending=False)
    out: dict[str, dict] = {}
    for r in clips.itertuples(index=False):
        path = _audio_path(settings, r.path)
        if r.track_id not in out and Path(path).is_file():
            out[r.track_id] = {"clip_id": r.clip_id, "path": path, "offset_s": r.offset_s,
                               "duration_s": r.duration_s, "audio_sha256": r.audio_sha256}
    return out


def _audio_path(settings: Settings, path: str) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else settings.data_dir / p)


def transcribe_catalog(
    catalog: Catalog,
    settings: Settings,
    *,
    track_ids: list[str] | None = None,
    max_seconds: float = 60.0,
    jobs: int = 1,
    reference_dir: Path | None = None,
    reference_tempi: dict[str, float] | None = None,
    source: str = "mix",
    f0: str = "yin",
    poly: str | None = None,
    audio: str = "auto",
    show_progress: bool = True,
) -> TranscribeSummary:
    """Transcribe every ingested song (or ``track_ids``); writes ``midi_songs`` and ``midi_notes``.

    ``f0`` ('yin' or 'crepe') is the f0 tracker of a solo melody; ``poly`` ('auto', 'basic-pitch'
    or 'dsp') transcribes every pitched part instead of the melody. The ``backend`` column says
    which ran ('salience', 'yin', 'crepe', 'basic-pitch' or 'dsp').

    ``audio='auto'`` transcribes a song's hook clip (``prepare(kind='hook')``: the part short videos
    use, decoded once already) when the catalog has one, else the song's first ``max_seconds``;
    ``'first'`` always reads the first ``max_seconds``. ``audio_kind`` and ``audio_offset_s`` say
    which audio each row transcribed, and the cache key includes it."""
    if source not in ("solo", "mix"):
        raise ParameterError(f"source must be 'solo' or 'mix', got {source!r}")
    check_f0(f0)
    poly = resolve_poly(poly) if poly is not None else None
    if max_seconds <= 0:
        raise ParameterError("max_seconds must be positive")
    if audio not in AUDIO_CHOICES:
        raise ParameterError(f"audio must be one of {', '.join(AUDIO_CHOICES)}, got {audio!r}")
    audio_rows = catalog.audio_files()
    if audio_rows.empty:
        raise CatalogError("no ingested audio: run 'bgmscope ingest' (or 'bgmscope demo') first")
    audio_rows = audio_rows.dropna(subset=["track_id"]).drop_duplicates("track_id")
    if track_ids:
        missing = sorted(set(track_ids) - set(audio_rows["track_id"]))
        if missing:
            raise ParameterError(f"no audio for song(s): {', '.join(missing[:5])}")
        audio_rows = audio_rows[audio_rows["track_id"].isin(track_ids)]
    out = midi_dir(settings)
    old = catalog.read_frame("midi_songs")
    old_notes = catalog.read_frame("midi_notes")
    keep = {}
    if not old.empty and "cache_key" in old:
        keep = {r.track_id: r for r in old.itertuples(index=False)}
    hooks = hook_clips(catalog, settings) if audio == "auto" else {}
    first_kind = f"first-{max_seconds:g}s"
    tasks, reused_rows = [], []
    for r in audio_rows.itertuples(index=False):
        hook = hooks.get(r.track_id)
        if hook is not None and hook["audio_sha256"] == r.sha256:
            path, kind, offset = hook["path"], "hook", float(hook["offset_s"])
            what = ("hook", hook["clip_id"], offset, float(hook["duration_s"]))
        else:
            path, kind, offset = _audio_path(settings, r.path), first_kind, 0.0
            what = ("first",)
        key = short_hash(r.sha256, max_seconds, settings.sample_rate, MIDI_VERSION,
                         bool(reference_dir), source, f0, poly, *what, n=16)
        prev = keep.get(r.track_id)
        if prev is not None and prev.cache_key == key and Path(prev.midi_path).is_file():
            reused_rows.append(prev._asdict())
            continue
        ref = None
        if reference_dir is not None and (Path(reference_dir) / f"{r.track_id}.mid").is_file():
            ref = str(Path(reference_dir) / f"{r.track_id}.mid")
        tasks.append(SongTask(r.track_id, path, r.sha256, str(out), max_seconds,
                              settings.sample_rate, key, ref, (reference_tempi or {}).get(r.track_id),
                              source, f0, poly, kind, offset))
    run_id = catalog.start_run(STAGE, {"max_seconds": max_seconds, "songs": len(audio_rows), "audio": audio,
                                       "hook_clips": sum(t.audio_kind == "hook" for t in tasks),
                                       "version": MIDI_VERSION,
                                       "backend": poly or melody_backend(source, f0)})
    summary = TranscribeSummary(run_id=run_id, out_dir=out, skipped=len(reused_rows),
                                backend=poly or melody_backend(source, f0))
    rows, note_rows = list(reused_rows), []
    for outcome in run_map(transcribe_song, tasks, jobs=jobs, desc="transcribe", show_progress=show_progress):
        if outcome.ok:
            kind = outcome.item.audio_kind
            summary.audio_kinds[kind] = summary.audio_kinds.get(kind, 0) + 1
            rows.append(outcome.result["row"])
            note_rows.extend(outcome.result["notes"])
            summary.ok += 1
        else:
            summary.failed += 1
            summary.failures.append((outcome.item.track_id, outcome.error))
            catalog.record_failure(run_id, STAGE, outcome.item.track_id, outcome.error)
    # songs not redone keep their notes; songs outside this run's selection keep their rows too
    done = {r["track_id"] for r in rows}
    if not old.empty:
        rows.extend(r._asdict() for r in old.itertuples(index=False) if r.track_id not in done)
    notes_df = pd.DataFrame(note_rows, columns=["track_id", "start_s", "end_s", "pitch", "velocity"])
    if not old_notes.empty:
        redone = {t.track_id for t in tasks}
        notes_df = pd.concat([old_notes[~old_notes["track_id"].isin(redone)], notes_df], ignore_index=True)
    # typed as a fresh run types them (an empty frame of new notes would make the columns objects)
    notes_df = notes_df.astype({"track_id": str, "start_s": "float64", "end_s": "float64", "pitch": "int64",
                                "velocity": "int64"})
    songs_df = pd.DataFrame(rows)
    if not songs_df.empty:
        songs_df["created_at"] = now()
        catalog.write_frame("midi_songs", songs_df.sort_values("track_id").reset_index(drop=True))
        catalog.write_frame("midi_notes", notes_df.sort_values(["track_id", "start_s"]).reset_index(drop=True))
    summary.notes = int(len(notes_df))
    catalog.finish_run(run_id, ok=summary.ok, failed=summary.failed, skipped=summary.skipped)
    return summary

