"""Polyphonic transcription: a CQT explained by fixed harmonic templates (NMF with W fixed).

Each MIDI pitch has a template: its first ``n_harmonics`` partials (amplitude ``h ** -slope``)
placed on a 36-bins-per-octave CQT with a narrow Gaussian per partial. Activations ``H`` are found
by multiplicative updates minimising the KL divergence ``D(X || W H)`` (Lee & Seung), with a small
L1 penalty so that one note's harmonics are not explained by extra notes an octave up. A note is a
run of a pitch's activation above ``threshold`` (relative to the piece's strongest activation),
split where the activation jumps up again (a re-struck note); runs shorter than ``min_note_s``
are dropped.
"""

from __future__ import annotations

import librosa
import numpy as np

from ..errors import ParameterError
from .melody import Note, check_audio

BINS_PER_OCTAVE = 36
MIDI_LO, MIDI_HI = 36, 96  # C2 .. C7


def harmonic_templates(n_bins: int, *, midi_lo: int = MIDI_LO, midi_hi: int = MIDI_HI,
                       n_harmonics: int = 8, slope: float = 1.0, width_bins: float = 0.8) -> np.ndarray:
    """Template matrix ``W`` (n_bins, n_pitches); column ``k`` is pitch ``midi_lo + k``, unit sum."""
    pitches = np.arange(midi_lo, midi_hi + 1)
    bins = np.arange(n_bins)[:, None]
    W = np.zeros((n_bins, len(pitches)))
    per_semi = BINS_PER_OCTAVE // 12
    for h in range(1, n_harmonics + 1):
        centre = (pitches - midi_lo) * per_semi + BINS_PER_OCTAVE * np.log2(h)
        W += h ** -slope * np.exp(-0.5 * ((bins - centre[None, :]) / width_bins) ** 2)
    return W / (W.sum(axis=0, keepdims=True) + 1e-12)


def activations(y: np.ndarray, sr: int, *, hop_length: int = 256, n_iter: int = 40,
                sparsity: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Pitch activations ``H`` (n_pitches, n_frames) and frame times (s)."""
    fmin = librosa.midi_to_hz(MIDI_LO)
    n_bins = int(np.floor(BINS_PER_OCTAVE * np.log2(0.95 * sr / 2 / fmin)))
    X = np.abs(librosa.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                           bins_per_octave=BINS_PER_OCTAVE, filter_scale=1.0)) ** 0.6
    W = harmonic_templates(n_bins)
    H = np.full((W.shape[1], X.shape[1]), X.mean() + 1e-6)
    Wt1 = W.sum(axis=0)[:, None] + sparsity
    for _ in range(n_iter):
        V = W @ H + 1e-9
        H *= (W.T @ (X / V)) / Wt1
    times = librosa.frames_to_time(np.arange(X.shape[1]), sr=sr, hop_length=hop_length)
    return H, times


def transcribe_poly(y: np.ndarray, sr: int, *, threshold: float = 0.12, min_note_s: float = 0.08,
                    hop_length: int = 256, restrike: float = 1.6) -> list[Note]:
    """Notes (possibly overlapping) of every pitched part of ``y``.

    Parameters
    ----------
    threshold : activation level, relative to the strongest activation, a note must exceed.
    min_note_s : shortest note kept.
    restrike : a note is split where its activation rises by this factor within ~50 ms (re-struck).
    """
    y = check_audio(y, sr)
    if not 0 < threshold < 1:
        raise ParameterError("threshold must be in (0, 1)")
    H, times = activations(y, sr, hop_length=hop_length)
    if H.max() <= 0:
        return []
    H = H / H.max()
    Hs = librosa.decompose.nn_filter(H, aggregate=np.median, axis=-1, width=3) if H.shape[1] > 5 else H
    # quiet notes are judged against what sounds at the same moment, not only the global peak
    frame_peak = Hs.max(axis=0, keepdims=True)
    on = (Hs > threshold) & (Hs > 0.2 * frame_peak)
    hop_s = hop_length / sr
    min_frames = max(1, int(round(min_note_s / hop_s)))
    lag = max(1, int(round(0.05 / hop_s)))
    notes: list[Note] = []
    for k in range(H.shape[0]):
        row = on[k]
        if not row.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            cuts = [a]
            for i in range(a + lag, b - min_frames):
                if Hs[k, i] > restrike * Hs[k, i - lag] and i - cuts[-1] >= min_frames:
                    cuts.append(i)
            cuts.append(b)
            for s, e in zip(cuts[:-1], cuts[1:], strict=True):
                if e - s < min_frames:
                    continue
                vel = int(np.clip(40 + 87 * float(np.sqrt(Hs[k, s:e].max())), 1, 127))
                notes.append(Note(float(times[s]), float(times[min(e, len(times) - 1)]),
                                  MIDI_LO + k, vel))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes
