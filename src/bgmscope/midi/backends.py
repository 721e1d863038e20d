"""Which model or DSP path transcribes: Basic Pitch or the CQT templates for ``--poly``, CREPE or
YIN for the f0 contour of a solo melody.

``resolve_poly("auto")`` picks Basic Pitch when onnxruntime and basic-pitch are importable (the
``[models]`` extra), else the DSP transcriber of ``poly.py``; asking for ``"basic-pitch"`` or
``"crepe"`` without the extra is an ``ImportError`` naming the install command. Every caller records
the backend that actually ran (the ``backend`` column of ``midi_songs``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ParameterError
from ..features.pitch import F0Contour
from .melody import HOP, Note, check_audio

POLY_BACKENDS = ("auto", "basic-pitch", "dsp")
F0_BACKENDS = ("yin", "crepe")
INSTALL = "pip install 'bgmscope[models]' (and pip install --no-deps basic-pitch==0.4.0), or make setup-models"


@lru_cache(maxsize=2)
def models_available(*, basic_pitch: bool = False) -> bool:
    """True when onnxruntime (and, with ``basic_pitch``, the basic-pitch package and its model) import."""
    try:
        from ..models.runtime import require_onnxruntime

        require_onnxruntime()
        if basic_pitch:
            from ..models.transcribe import model_path

            model_path()
    except (ImportError, ParameterError):
        return False
    return True


def resolve_poly(backend: str) -> str:
    """``'basic-pitch'`` or ``'dsp'`` for ``backend`` in :data:`POLY_BACKENDS`."""
    if backend not in POLY_BACKENDS:
        raise ParameterError(f"poly backend must be one of {', '.join(POLY_BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "basic-pitch" if models_available(basic_pitch=True) else "dsp"
    if backend == "basic-pitch" and not models_available(basic_pitch=True):
        raise ImportError(f"--poly-backend basic-pitch needs the models extra: {INSTALL}")
    return backend


def check_f0(backend: str) -> str:
    """``backend`` if it is usable here; ``'crepe'`` without onnxruntime is an ``ImportError``."""
    if backend not in F0_BACKENDS:
        raise ParameterError(f"f0 backend must be one of {', '.join(F0_BACKENDS)}, got {backend!r}")
    if backend == "crepe" and not models_available():
        raise ImportError(f"--f0 crepe needs the models extra: {INSTALL}")
    return backend


def poly_notes(y: np.ndarray, sr: int, backend: str = "auto") -> tuple[list[Note], str]:
    """Notes of every pitched part of ``y`` and the backend that found them."""
    used = resolve_poly(backend)
    y = check_audio(y, sr)
    if used == "dsp":
        from .poly import transcribe_poly

        return transcribe_poly(y, sr), used
    from ..models.transcribe import basic_pitch_notes

    notes = [Note(n.onset, n.offset, n.pitch, n.velocity) for n in basic_pitch_notes(y, sr)]
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes, used


def f0_contour_of(y: np.ndarray, sr: int, backend: str = "yin") -> F0Contour | None:
    """The chosen backend's f0 contour for the melody transcriber: None for ``'yin'`` (it computes
    its own YIN contour), CREPE-tiny's (voiced where its confidence reaches 0.5) for ``'crepe'``, on
    the melody transcriber's hop (``HOP`` samples) so its frame-counted filters mean the same time."""
    if check_f0(backend) == "yin":
        return None
    from ..models.pitch import crepe_f0

    return crepe_f0(y, sr, hop_s=HOP / sr, fmin=65.0, fmax=1100.0)
