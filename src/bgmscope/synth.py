"""Render MIDI to audio through a General MIDI SoundFont with FluidSynth.

The default SoundFont is the one pretty_midi ships (TimGM6mb.sf2); ``BGMSCOPE_SOUNDFONT`` or the
``sf2_path`` argument names another. Each instrument is rendered on its own and panned, so the
result is real stereo.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pretty_midi

from .errors import ParameterError


def default_soundfont() -> Path:
    env = os.environ.get("BGMSCOPE_SOUNDFONT")
    path = Path(env) if env else Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise ParameterError(f"SoundFont not found: {path}")
    return path


def render_midi(
    midi: pretty_midi.PrettyMIDI | str | Path,
    *,
    sr: int = 44100,
    sf2_path: str | Path | None = None,
    stereo: bool = True,
    pans: list[float] | None = None,
) -> np.ndarray:
    """Synthesize ``midi``; returns float32 ``(n,)`` (mono) or ``(2, n)`` (stereo), peak <= 0.99.

    ``pans`` gives each instrument's position in [-1, 1] (default: spread evenly, drums centred).
    """
    pm = midi if isinstance(midi, pretty_midi.PrettyMIDI) else pretty_midi.PrettyMIDI(str(midi))
    sf2 = str(sf2_path or default_soundfont())
    if not pm.instruments:
        raise ParameterError("the MIDI has no instruments to render")
    import fluidsynth

    synth = fluidsynth.Synth(samplerate=float(sr))  # one synth, the SoundFont loaded once
    try:
        sfid = synth.sfload(sf2)
        tracks = [inst.fluidsynth(fs=sr, synthesizer=synth, sfid=sfid) for inst in pm.instruments]
    finally:
        synth.delete()
    n = max((len(t) for t in tracks), default=0)
    if n == 0:
        return np.zeros((2, 0) if stereo else (0,), np.float32)
    if pans is None:
        melodic = [i for i, inst in enumerate(pm.instruments) if not inst.is_drum]
        spread = np.linspace(-0.5, 0.5, len(melodic)) if len(melodic) > 1 else [0.0]
        pans = [0.0] * len(tracks)
        for i, p in zip(melodic, spread, strict=False):
            pans[i] = float(p)
    out = np.zeros((2, n), np.float64)
    for t, pan in zip(tracks, pans, strict=False):
        angle = (pan + 1) * np.pi / 4  # constant-power pan
        out[0, : len(t)] += np.cos(angle) * t
        out[1, : len(t)] += np.sin(angle) * t
    y = out if stereo else out.mean(axis=0)
    peak = float(np.max(np.abs(y))) or 1.0
    return (y * (0.99 / peak)).astype(np.float32)
