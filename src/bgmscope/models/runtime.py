"""Load ONNX models on onnxruntime's CPU provider, one thread each (workers run in parallel)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..errors import ParameterError

WEIGHTS = Path(__file__).resolve().parent / "weights"
INSTALL_HINT = "pip install 'bgmscope[models]' (or make setup-models)"


def require_onnxruntime():
    """The onnxruntime module, or an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError(f"the pretrained models need onnxruntime: {INSTALL_HINT}") from e
    return onnxruntime


@functools.lru_cache(maxsize=8)
def _session(path: str, threads: int):
    ort = require_onnxruntime()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def session(path: str | Path, *, threads: int = 1):
    """An onnxruntime ``InferenceSession`` for ``path`` (cached per process).

    Raises ``ParameterError`` naming the extra when the file is missing, ``ImportError`` when
    onnxruntime is.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"model file not found: {p} ({INSTALL_HINT})")
    return _session(str(p), int(threads))


def weight(name: str) -> Path:
    """A file shipped in ``models/weights``, or ``ParameterError``."""
    p = WEIGHTS / name
    if not p.is_file():
        raise ParameterError(f"model file not found: {p} ({INSTALL_HINT})")
    return p


def mono(y: np.ndarray, sr: int) -> np.ndarray:
    """``y`` as finite mono float32 (channels first or last are averaged)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0 if y.shape[0] <= 2 else 1)
    if y.ndim != 1:
        raise ParameterError(f"expected mono or stereo audio, got shape {y.shape}")
    if not sr or sr <= 0:
        raise ParameterError(f"sample rate must be positive, got {sr}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio has non-finite samples")
    return y


def resample(y: np.ndarray, sr: int, target: int) -> np.ndarray:
    if sr == target:
        return y
    import soxr

    return soxr.resample(y, sr, target, quality="HQ").astype(np.float32, copy=False)
