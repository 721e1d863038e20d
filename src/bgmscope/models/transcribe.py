"""Basic Pitch (Spotify, ICASSP 2022; Apache-2.0) polyphonic transcription on onnxruntime.

The model is the ``nmp.onnx`` the ``basic-pitch`` wheel ships (installed ``--no-deps``, so without
TensorFlow). The audio is windowed exactly as ``basic_pitch.inference`` does: 22050 Hz mono, half an
overlap (15 frames of 256 samples) of zeros in front, windows of 43844 samples every 36164, the
15 overlapping frames cut from both ends of every window's output, trimmed to the clip's length
(86 frames per second). Notes are decoded by the package's own ``model_output_to_notes`` (onsets
peak-picked, notes tracked through the frame posteriorgram, the "melodia trick" for notes without
an onset), with its defaults: onset 0.5, frame 0.3, shortest note 127.7 ms.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ParameterError
from .runtime import mono, resample, session

SR = 22050
FFT_HOP = 256
WINDOW = SR * 2 - FFT_HOP  # 43844 samples
OVERLAP_FRAMES = 30
OVERLAP = OVERLAP_FRAMES * FFT_HOP
HOP = WINDOW - OVERLAP
FPS = SR // FFT_HOP  # 86
OUTPUTS = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2",
           "contour": "StatefulPartitionedCall:0"}
INPUT = "serving_default_input_2:0"


class ModelNote(NamedTuple):
    onset: float  # s
    offset: float  # s
    pitch: int  # MIDI
    velocity: int  # 1..127 (the model's amplitude x 127)


@contextlib.contextmanager
def _quiet_root_logger():
    # basic_pitch/__init__ logs a warning per missing backend (TF, CoreML, TFLite); logging.warning
    # on a handler-less root would install a stderr handler for the whole process
    root = logging.getLogger()
    null = logging.NullHandler()
    root.addHandler(null)
    level = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(level)
        root.removeHandler(null)


def _basic_pitch():
    try:
        with _quiet_root_logger():
            import basic_pitch
            from basic_pitch import note_creation
    except ImportError as e:
        raise ImportError("Basic Pitch needs the basic-pitch package, installed without its dependencies "
                          "(they drag TensorFlow): pip install --no-deps basic-pitch==0.4.0, or make setup-models"
                          ) from e
    return basic_pitch, note_creation


def model_path() -> Path:
    bp, _ = _basic_pitch()
    p = Path(bp.__file__).parent / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not p.is_file():
        raise ParameterError(f"Basic Pitch's nmp.onnx is not in the basic-pitch package ({p}): "
                             "pip install --no-deps basic-pitch==0.4.0, or make setup-models")
    return p


def basic_pitch_output(y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """The model's posteriorgrams: ``note`` (frames, 88), ``onset`` (frames, 88), ``contour``
    (frames, 264; 3 bins per semitone from A0), at 86 frames per second."""
    y = resample(mono(y, sr), sr, SR)
    n = len(y)
    sess = session(model_path())
    padded = np.concatenate([np.zeros(OVERLAP // 2, np.float32), y])
    out: dict[str, list[np.ndarray]] = {k: [] for k in OUTPUTS}
    for s in range(0, max(len(padded), 1), HOP):  # one window at a time: memory stays flat on long songs
        w = np.zeros((1, WINDOW, 1), np.float32)
        chunk = padded[s:s + WINDOW]
        w[0, :len(chunk), 0] = chunk
        for k, v in zip(OUTPUTS, sess.run(list(OUTPUTS.values()), {INPUT: w}), strict=True):
            out[k].append(v)
    n_frames = int(np.floor(n * (FPS / SR)))
    half = OVERLAP_FRAMES // 2
    result = {}
    for k, parts in out.items():
        a = np.concatenate(parts)[:, half:-half, :]
        result[k] = a.reshape(-1, a.shape[-1])[:n_frames]
    return result


def basic_pitch_notes(y: np.ndarray, sr: int, *, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
                      min_note_s: float = 0.1277, fmin: float | None = None, fmax: float | None = None,
                      melodia_trick: bool = True) -> list[ModelNote]:
    """Notes of every pitched part of ``y`` (any rate, mono or stereo), sorted by onset."""
    if not (0 < onset_threshold < 1 and 0 < frame_threshold < 1):
        raise ParameterError("onset_threshold and frame_threshold must be in (0, 1)")
    out = basic_pitch_output(y, sr)
    if len(out["note"]) < 2:
        return []
    _, nc = _basic_pitch()
    with np.errstate(invalid="ignore", divide="ignore"):  # silence: its onset rescale divides 0 by 0
        _, events = nc.model_output_to_notes(
            out, onset_thresh=onset_threshold, frame_thresh=frame_threshold,
            min_note_len=int(np.round(min_note_s * FPS)), min_freq=fmin, max_freq=fmax,
            include_pitch_bends=False, melodia_trick=melodia_trick)
    notes = [ModelNote(float(s), float(e), int(p), int(np.clip(round(a * 127), 1, 127)))
             for s, e, p, a, *_ in events]
    return sorted(notes)


def basic_pitch_midi(y: np.ndarray, sr: int, *, program: int = 0, **kwargs):
    """``basic_pitch_notes`` as a one-instrument ``pretty_midi.PrettyMIDI``."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    inst.notes = [pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.onset, end=n.offset)
                  for n in basic_pitch_notes(y, sr, **kwargs)]
    pm.instruments.append(inst)
    return pm



def melody_line(notes: list[ModelNote], *, lowest: int = 55, salience: float = 0.5,
                onset_s: float = 0.05) -> list[ModelNote]:
    """The highest salient line of a polyphonic transcription (a "skyline" over its notes).

    Notes under ``lowest`` (MIDI; G3 keeps the bass out) or quieter than ``salience`` x the 90th
    percentile velocity are dropped; notes starting within ``onset_s`` of each other form one onset,
    whose highest note is kept unless a higher kept note still sounds ``onset_s`` after it (then it
    accompanies the line); a kept note ends where the next kept one starts. Sorted by onset.
    """
    cand = [n for n in notes if n.pitch >= lowest]
    if not cand:
        return []
    floor = salience * float(np.percentile([n.velocity for n in cand], 90))
    cand = sorted((n for n in cand if n.velocity >= floor), key=lambda n: (n.onset, -n.pitch))
    out: list[ModelNote] = []
    i = 0
    while i < len(cand):
        group = [n for n in cand[i:] if n.onset - cand[i].onset <= onset_s]
        i += len(group)
        top = max(group, key=lambda n: n.pitch)
        if out:
            prev = out[-1]
            if prev.pitch > top.pitch and prev.offset > top.onset + onset_s:
                continue
            if prev.offset > top.onset:
                out[-1] = prev._replace(offset=top.onset)
        out.append(top)
    return [n for n in out if n.offset > n.onset]
