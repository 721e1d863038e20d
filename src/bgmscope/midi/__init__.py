"""Audio to MIDI, self-similarity, rendering and melody composition (issue 7).

Modules: ``contour`` (the f0 hop; f0 and beats are the features stage's), ``melody`` (monophonic notes),
``poly`` (polyphonic notes from a CQT with harmonic templates), ``evaluate`` (mir_eval scores),
``ssm`` (beat-synchronous self-similarity and repetition), ``render`` (MIDI to WAV/MP3),
``compose`` (variable-order Markov melody model, chords and drums), ``stage`` (the pipeline stage).
"""

from .melody import Note, notes_to_midi, transcribe_melody

__all__ = ["Note", "notes_to_midi", "transcribe_melody"]
