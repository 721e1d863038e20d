"""MIDI to audio files through a General MIDI SoundFont (``bgmscope.synth.render_midi``)."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import soundfile as sf

from ..errors import ParameterError
from ..fsutil import atomic_path
from ..synth import render_midi

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
           ".mp3": ("MP3", "MPEG_LAYER_III")}


def load_midi(path: str | Path) -> pretty_midi.PrettyMIDI:
    """Parse a standard MIDI file; a missing or corrupt file raises ParameterError."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"MIDI file not found: {path}")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido raises several types for malformed files
        raise ParameterError(f"not a readable MIDI file: {path} ({type(exc).__name__}: {exc})") from None


def render_file(midi: str | Path | pretty_midi.PrettyMIDI, out: str | Path, *, sr: int = 44100,
                sf2_path: str | Path | None = None, stereo: bool = True) -> Path:
    """Render ``midi`` to ``out`` (.wav, .flac, .ogg or .mp3 by its suffix); returns ``out``."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ParameterError(f"unsupported output {out.suffix!r}: use one of {', '.join(FORMATS)}")
    if not 8000 <= sr <= 96000:
        raise ParameterError(f"sample rate must be 8000..96000 Hz, got {sr}")
    pm = midi if isinstance(midi, pretty_midi.PrettyMIDI) else load_midi(midi)
    y = render_midi(pm, sr=sr, sf2_path=sf2_path, stereo=stereo)
    if y.shape[-1] == 0:
        raise ParameterError("the MIDI renders to silence (no notes)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        sf.write(str(tmp), y.T if y.ndim == 2 else y, sr, format=fmt[0], subtype=fmt[1])
    return out
