"""Transcription scores with mir_eval: note precision, recall and F1 (onset tolerance 50 ms), with
and without offsets, against a reference MIDI."""

from __future__ import annotations

from collections.abc import Iterable

import mir_eval
import numpy as np
import pretty_midi

from .melody import Note


def _arrays(notes: Iterable) -> tuple[np.ndarray, np.ndarray]:
    rows = [(float(n.start), float(n.end), int(n.pitch)) for n in notes if n.end > n.start]
    if not rows:
        return np.zeros((0, 2)), np.zeros(0)
    a = np.array(rows)
    return a[:, :2], 440.0 * 2 ** ((a[:, 2] - 69) / 12)


def reference_notes(pm: pretty_midi.PrettyMIDI, *, instruments: list[int] | None = None) -> list[Note]:
    """The notes of a MIDI's pitched instruments (all, or the given instrument indices)."""
    out = []
    for i, inst in enumerate(pm.instruments):
        if inst.is_drum or (instruments is not None and i not in instruments):
            continue
        out.extend(Note(n.start, n.end, n.pitch, n.velocity) for n in inst.notes)
    return sorted(out, key=lambda n: (n.start, n.pitch))


def note_scores(reference: Iterable, estimate: Iterable, *, onset_tolerance: float = 0.05) -> dict[str, float]:
    """precision/recall/f1 with onsets only (``*_on``) and with offsets too (``*_onoff``)."""
    ri, rp = _arrays(reference)
    ei, ep = _arrays(estimate)
    out: dict[str, float] = {"n_ref": float(len(rp)), "n_est": float(len(ep))}
    if len(rp) == 0 or len(ep) == 0:
        for k in ("precision_on", "recall_on", "f1_on", "precision_onoff", "recall_onoff", "f1_onoff"):
            out[k] = 0.0
        return out
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
    out.update(precision_on=p, recall_on=r, f1_on=f)
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=0.2)
    out.update(precision_onoff=p, recall_onoff=r, f1_onoff=f)
    return {k: float(v) for k, v in out.items()}
