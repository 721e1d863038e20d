"""Melody transcription: notes from a pitch track, cut at onsets, pitch changes and voicing changes.

The recipe (in the spirit of pYIN's note tracker, without its HMM): frame pitches (the f0 contour
for a solo line, or the most salient pitch of a harmonic-sum CQT for a melody in a mix) are rounded
to semitones and mode-filtered so vibrato and glides do not split notes. Spectral-flux onsets are
moved back to where each attack begins (soft attacks peak late); a pitch change with an onset
nearby starts its note at the onset. An onset inside a run of one pitch splits it only when the
level dips and rises again (a repeated note, not vibrato). A segment's pitch is the most common
rounded pitch after its attack; where a period tracker slipped to a sub-harmonic (an octave or a
twelfth below, while the last note still rings) the spectrum overrules it. Notes shorter than
``min_note_s`` are dropped. Velocity follows the note's loudness.
"""
from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import pretty_midi
from scipy.ndimage import median_filter

from ..errors import ParameterError
from ..features.pitch import F0Contour, f0_contour
from ..features.rhythm import beat_track
from .contour import HOP
from .spectra import SALIENCE_MIDI0, SALIENCE_PITCHES, SongSpectra, harmonic_salience

__all__ = ["SALIENCE_MIDI0", "SALIENCE_PITCHES", "Note", "SongSpectra", "attack_starts", "check_audio",
           "harmonic_salience", "midi_tempo", "notes_to_midi", "salience_contour", "transcribe_audio",
           "transcribe_melody"]


@dataclass(frozen=True)
class Note:
    """One transcribed note: ``start``/``end`` in seconds, MIDI ``pitch``, ``velocity`` 1..127."""

    start: float
    end: float
    pitch: int
    velocity: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def check_audio(y: np.ndarray, sr: int, *, min_seconds: float = 0.25) -> np.ndarray:
    """Mono float audio of at least ``min_seconds``, finite; raises ParameterError otherwise."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0) if y.shape[0] <= 2 else y.mean(axis=1)
    if y.ndim != 1:
        raise ParameterError(f"audio must be mono or stereo, got shape {y.shape}")
    if sr <= 0:
        raise ParameterError(f"sample rate must be positive, got {sr}")
    if len(y) < min_seconds * sr:
        raise ParameterError(f"audio is too short to transcribe ({len(y) / sr:.2f} s < {min_seconds} s)")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio holds NaN or infinite samples")
    return y


def _mode_filter(q: np.ndarray, width: int) -> np.ndarray:
    """Most common value in a sliding window (ties keep the centre, else the smallest of the
    most common), for integer pitch tracks."""
    if width <= 1 or len(q) < width:
        return q
    half = width // 2
    padded = np.pad(q, half, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, width)  # (n, width)
    counts = (win[:, :, None] == win[:, None, :]).sum(axis=2)  # how often each entry occurs
    best = counts.max(axis=1)
    centre = counts[:, half]  # the centre entry is q itself
    big = np.iinfo(win.dtype).max if np.issubdtype(win.dtype, np.integer) else np.inf
    mode = np.where(counts == best[:, None], win, big).min(axis=1)
    return np.where(centre < best, mode, q).astype(q.dtype, copy=False)


def _runs(q: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, value) of runs of equal values."""
    if len(q) == 0:
        return []
    edges = np.flatnonzero(np.diff(q)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, len(q)]
    return [(int(a), int(b), int(q[a])) for a, b in zip(starts, stops, strict=True)]


SUBHARMONIC_SLIPS = {12, 19, 24, 28, 31}  # semitones from a period's multiple up to the true pitch


def salience_contour(y: np.ndarray, sr: int, *, melody_low: int = 55, voicing: float = 0.25,
                     salience: np.ndarray | None = None) -> F0Contour:
    """A predominant-melody contour from the harmonic salience map (for melodies in a mix)."""
    sal = harmonic_salience(y, sr) if salience is None else salience
    lo = max(0, melody_low - SALIENCE_MIDI0)
    band = sal[lo:]
    peak = band.max(axis=0)
    # the tune is usually the top voice: the highest pitch close to the frame's strongest
    cand = band >= SKYLINE * peak[None, :]
    k = band.shape[0] - 1 - np.argmax(cand[::-1], axis=0)
    ref = float(np.percentile(peak, 95)) if peak.size else 0.0
    voiced = peak > voicing * ref if ref > 0 else np.zeros(peak.shape, bool)
    f0 = np.where(voiced, librosa.midi_to_hz(k + lo + SALIENCE_MIDI0), np.nan)
    times = librosa.frames_to_time(np.arange(sal.shape[1]), sr=sr, hop_length=HOP)
    return F0Contour(times, f0, voiced, np.clip(peak / (ref + 1e-9), 0, 1))


SKYLINE = 0.85  # share of the frame's top salience a higher pitch needs to count as the tune
STRONG_ONSET = 0.6  # flux peak (vs the median onset) that re-starts a same-pitch note without a dip
HARD_RISE_DB = 1.5  # level rise a strong onset needs to re-start a same-pitch note
REATTACK_DB = 4.0  # level rise that marks a repeated note (vibrato stays under it)


def attack_starts(y: np.ndarray, sr: int, frames: np.ndarray, *, max_back_s: float = 0.12,
                  rise: float = 0.1, min_rise: float = 2.0) -> np.ndarray:
    """Move spectral-flux onset peaks back by the recording's typical attack time.

    A flux peak comes late on a soft attack (flute, strings). For each onset whose level at least
    doubles, the attack starts where the level has covered ``rise`` of its way up from the minimum
    in the ``max_back_s`` before the peak; the median lag between that and the flux peak is the
    instrument's attack time, and every onset moves back by it (one instrument, one attack shape,
    so onsets over a held level move too). Struck notes have a lag of about zero.
    """
    hop = HOP // 4
    env = librosa.feature.rms(y=y, frame_length=256, hop_length=hop, center=True)[0]
    back = int(round(max_back_s * sr / hop))
    flux_t = np.asarray(frames, int) * HOP / sr
    lags = []
    for f in np.asarray(frames, int):
        p = min(len(env) - 1, f * 4)
        top = int(min(len(env), p + 8))
        peak_i = p + int(np.argmax(env[p:top])) if top > p else p
        lo = max(0, peak_i - back)
        m = lo + int(np.argmin(env[lo:peak_i + 1]))
        if env[peak_i] < min_rise * env[m]:
            continue
        level = env[m] + rise * (env[peak_i] - env[m])
        above = np.flatnonzero(env[m:peak_i + 1] >= level)
        start = (m + (int(above[0]) if len(above) else 0)) * hop / sr
        lags.append(f * HOP / sr - start)
    lag = float(np.clip(np.median(lags), 0.0, max_back_s)) if lags else 0.0
    return np.maximum(flux_t - lag, 0.0)


def _rise_db(rms_db: np.ndarray, i: int, *, before: int = 3, after: int = 3) -> float:
    """Level rise (dB) across frame ``i``: peak just after minus the minimum just before."""
    if i <= 0 or i >= len(rms_db):
        return np.inf
    return float(np.max(rms_db[i: i + after + 1]) - np.min(rms_db[max(0, i - before): i + 1]))


def _reattack(rms_db: np.ndarray, i: int, prev_start: int, *, before: int = 4, after: int = 3) -> bool:
    """A note of the same pitch starts again at frame ``i`` when the level dips below what the
    note before reached and rises again (vibrato, tremolo and a slow attack's own swell trip
    spectral-flux onsets without such a dip)."""
    if i <= 0 or i >= len(rms_db):
        return True
    lo = max(prev_start, i - before)
    j = lo + int(np.argmin(rms_db[lo: i + 1]))  # the dip, after the note before began
    if j <= prev_start:
        return False  # the level only rose since that note began: one swelling attack
    dip = float(rms_db[j])
    earlier = float(np.max(rms_db[prev_start:j]))
    peak = float(np.max(rms_db[i: i + after + 1]))
    return peak - dip >= REATTACK_DB and earlier - dip >= REATTACK_DB / 2


def _segment(y: np.ndarray, sr: int, times: np.ndarray, midi: np.ndarray, q: np.ndarray,
             onsets: np.ndarray, *, hop_s: float, min_note_s: float, snap_s: float,
             salience: np.ndarray | None = None, strong: np.ndarray | None = None) -> list[Note]:
    """Cut the frame track into notes at onsets, pitch changes and voicing changes."""
    n = len(q)
    change = [i for i in range(1, n) if q[i] != q[i - 1]]
    onset_frames = np.clip(np.rint((onsets - times[0]) / hop_s).astype(int), 0, n)
    snap = max(1, int(round(snap_s / hop_s)))
    strong = np.zeros(len(onset_frames), bool) if strong is None else np.asarray(strong, bool)
    bounds: dict[int, bool] = {int(f): True for f in onset_frames}  # frame -> is an onset
    hard = {int(f) for f, st in zip(onset_frames, strong, strict=True) if st}
    for i in change:
        near = onset_frames[np.abs(onset_frames - i) <= snap]
        after = onset_frames[(i - onset_frames > 0) & (i - onset_frames <= snap)]
        if len(near) == 0:
            bounds.setdefault(i, False)
        elif (q[i] < 0 or q[i - 1] < 0) and len(after) == 0:
            # voicing edges stay where the tracker saw them, except inside an attack, where a
            # tracker often drops out or slips an octave before the new note settles
            bounds.setdefault(i, False)
    cuts = sorted({0, n, *bounds})
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=HOP, center=True)[0]
    rms_db = librosa.amplitude_to_db(rms, ref=np.max(rms) if rms.max() > 0 else 1.0)
    if salience is None:
        salience = harmonic_salience(y, sr, n_frames=n)
    elif salience.shape[1] != n:
        salience = salience[:, :n] if salience.shape[1] > n else np.pad(salience, ((0, 0), (0, n - salience.shape[1])))
    raw: list[list] = []  # [a, b, pitch, starts_at_onset]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b <= a:
            continue
        seg = q[a:b]
        ok = seg >= 0
        onset = bounds.get(a, False)
        if ok.mean() < 0.5:
            # the tracker gave up on a struck note (a leap, an overlapping release): ask the spectrum
            if not onset or b - a < 3 or salience is None:
                continue
            pitch = int(np.argmax(salience[:, a:b].sum(axis=1))) + SALIENCE_MIDI0
            if salience[:, a:b].max() <= 0:
                continue
        else:
            core = seg[ok][len(seg[ok]) // 4:] if ok.sum() >= 4 else seg[ok]  # skip the attack's glide
            vals, counts = np.unique(core, return_counts=True)
            pitch = int(vals[np.argmax(counts)])
            if salience is not None and b - a >= 3:
                # period trackers slip to a sub-harmonic while the last note still rings (the
                # common period of both); the spectrum then has no energy at the tracked pitch
                prof = salience[:, a:b].sum(axis=1)
                best = int(np.argmax(prof))
                k = pitch - SALIENCE_MIDI0
                here = prof[k] if 0 <= k < len(prof) else 0.0
                if here < 0.5 * prof[best] and (best + SALIENCE_MIDI0 - pitch) in SUBHARMONIC_SLIPS:
                    pitch = best + SALIENCE_MIDI0
        raw.append([a, b, pitch, onset])
    # an onset moved back by the attack time can land before the tracker's pitch change: that
    # short stretch still shows the old pitch but belongs to the next note
    lead = max(1, int(round(2 * snap_s / hop_s)))
    for k in range(len(raw) - 1):
        a, b, pitch, onset = raw[k]
        nxt = raw[k + 1]
        if onset and not nxt[3] and nxt[0] == b and nxt[2] != pitch and b - a <= lead \
                and k > 0 and raw[k - 1][1] == a and raw[k - 1][2] == pitch:
            raw[k][3], nxt[3] = False, True
            nxt[0] = a
            raw[k][1] = a  # emptied: its frames now start the next note
    segs: list[list] = []
    for a, b, pitch, onset in raw:
        if b <= a:
            continue
        if segs and segs[-1][1] == a and segs[-1][2] == pitch and not (
                onset and ((a in hard and _rise_db(rms_db, a) >= HARD_RISE_DB)
                           or _reattack(rms_db, a, segs[-1][0]))):
            segs[-1][1] = b
        else:
            segs.append([a, b, pitch, onset])
    min_frames = max(1, int(round(min_note_s / hop_s)))
    notes: list[Note] = []
    for a, b, pitch, _onset in segs:
        if b - a < min_frames:
            continue
        # voiced frames at the tail of a segment may be silence before the next cut
        tail = b
        while tail > a + min_frames and not np.isfinite(midi[tail - 1]):
            tail -= 1
        s, e = float(times[a]), float(times[min(tail, n - 1)])
        i0 = min(int(s * sr / HOP), len(rms_db) - 1)
        i1 = max(i0 + 1, min(int(e * sr / HOP), len(rms_db)))
        loud = float(np.max(rms_db[i0:i1]))
        vel = int(np.clip(round(127 + loud * 1.6), 20, 127))  # 0 dB -> 127, -60 dB -> ~31
        notes.append(Note(s, e, pitch, vel))
    return notes


def transcribe_melody(
    y: np.ndarray,
    sr: int,
    *,
    contour: F0Contour | None = None,
    onset_times: np.ndarray | None = None,
    fmin: float = 65.0,
    fmax: float = 1100.0,
    min_note_s: float = 0.08,
    snap_s: float = 0.1,
    smooth_frames: int = 5,
    source: str = "solo",
    melody_low: int = 55,
    spectra: SongSpectra | None = None,
) -> list[Note]:
    """Notes of the predominant melody in ``y``.

    Parameters
    ----------
    y, sr : audio (mono or stereo) and its sample rate.
    contour : a precomputed f0 contour (e.g. from the features stage); computed when None.
    onset_times : precomputed onsets (s); detected from spectral flux when None.
    min_note_s : notes shorter than this are dropped (glitches, attacks).
    snap_s : a note start moves to an onset at most this far away.
    smooth_frames : width of the mode filter over semitone-rounded frame pitches.
    source : ``'solo'`` (one melodic line: the f0 contour) or ``'mix'`` (a melody over an
        accompaniment: per frame, the most salient pitch at or above ``melody_low`` on a harmonic-
        sum CQT salience map; frames whose salience is under a quarter of the clip's 95th
        percentile are unvoiced).
    melody_low : lowest MIDI pitch a melody may take in ``'mix'`` mode (G3 by default: above bass).
    spectra : the song's shared CQT and STFT (:class:`SongSpectra` of this ``y``), so a caller that
        also tracks beats or builds chroma/MFCC computes each once; made here when None.

    Returns
    -------
    list of :class:`Note`, sorted by start.

    Examples
    --------
    >>> sr = 16000; t = np.arange(sr) / sr
    >>> y = np.concatenate([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 523.25 * t)])
    >>> [n.pitch for n in transcribe_melody(y, sr)]
    [69, 72]
    """
    y = check_audio(y, sr)
    if min_note_s <= 0:
        raise ParameterError("min_note_s must be positive")
    if source not in ("solo", "mix"):
        raise ParameterError(f"source must be 'solo' or 'mix', got {source!r}")
    spectra = SongSpectra(y, sr) if spectra is None else spectra
    if spectra.sr != sr or len(spectra.y) != len(y):
        raise ParameterError("spectra were computed from another signal")
    sal = spectra.salience
    if source == "mix":
        c = salience_contour(y, sr, melody_low=melody_low, salience=sal)
    else:
        c = contour if contour is not None else f0_contour(y, sr, fmin=fmin, fmax=fmax, hop_length=HOP)
    if len(c.times) < 2:
        return []
    hop_s = float(np.median(np.diff(c.times)))
    strong = None
    if onset_times is None:
        env = spectra.onset_envelope
        frames = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP, backtrack=False)
        onset_times = attack_starts(y, sr, frames)
        if len(frames):  # a clearly struck onset re-starts a note even without a level dip
            peaks = env[frames]
            strong = peaks >= STRONG_ONSET * float(np.median(peaks))
    order = np.argsort(np.asarray(onset_times, float))
    onsets = np.asarray(onset_times, float)[order]
    strong = strong[order] if strong is not None else None

    voiced = c.voiced & np.isfinite(c.f0_hz)
    midi = np.full(len(c.f0_hz), np.nan)
    midi[voiced] = librosa.hz_to_midi(c.f0_hz[voiced])
    if voiced.any():  # median over voiced frames only, so gaps don't drag pitches down
        sm = median_filter(np.where(voiced, midi, 0.0), size=3, mode="nearest")
        midi = np.where(voiced, np.where(sm > 0, sm, midi), np.nan)
    q = np.where(voiced, np.rint(np.nan_to_num(midi)), -1).astype(int)
    q = _mode_filter(q, smooth_frames)

    notes = _segment(y, sr, c.times, midi, q, onsets, hop_s=hop_s, min_note_s=min_note_s,
                     snap_s=snap_s, salience=sal, strong=strong)
    # two notes may overlap after snapping: trim the earlier one
    notes.sort(key=lambda n: n.start)
    out: list[Note] = []
    for n in notes:
        if out and out[-1].end > n.start:
            prev = out[-1]
            if n.start - prev.start < min_note_s:
                continue
            out[-1] = Note(prev.start, n.start, prev.pitch, prev.velocity)
        out.append(n)
    return out


def notes_to_midi(
    notes: list[Note],
    *,
    tempo_bpm: float = 120.0,
    program: int = 0,
    name: str = "melody",
    pm: pretty_midi.PrettyMIDI | None = None,
) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI holding ``notes`` on one instrument, with ``tempo_bpm`` as its tempo."""
    if not np.isfinite(tempo_bpm) or tempo_bpm <= 0:
        raise ParameterError(f"tempo must be positive, got {tempo_bpm}")
    pm = pm if pm is not None else pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm))
    inst = pretty_midi.Instrument(program=program, name=name)
    for n in notes:
        inst.notes.append(pretty_midi.Note(int(n.velocity), int(n.pitch), float(n.start), float(n.end)))
    pm.instruments.append(inst)
    return pm


def midi_tempo(pm: pretty_midi.PrettyMIDI) -> float:
    """The first tempo of a MIDI file (BPM)."""
    _, tempi = pm.get_tempo_changes()
    return float(tempi[0]) if len(tempi) else 120.0


def transcribe_audio(y: np.ndarray, sr: int, *, contour: F0Contour | None = None,
                     program: int = 0, source: str = "solo") -> tuple[pretty_midi.PrettyMIDI, list[Note], float]:
    """Melody notes plus the beat tracker's tempo, as a MIDI file: (midi, notes, tempo_bpm)."""
    y = check_audio(y, sr)
    spectra = SongSpectra(y, sr)
    beats = beat_track(None, sr, spec=spectra.beat_spec)
    notes = transcribe_melody(y, sr, contour=contour, source=source, spectra=spectra)
    tempo = beats.tempo_bpm if np.isfinite(beats.tempo_bpm) and beats.tempo_bpm > 0 else 120.0
    return notes_to_midi(notes, tempo_bpm=tempo, program=program), notes, tempo
