"""musicnn music taggers (Pons & Serra, 2019; ISC licence) on onnxruntime.

Two models, 50 tags each: ``MSD`` (Million Song Dataset last.fm tags: genres, decades, moods,
vocals) and ``MTT`` (MagnaTagATune: instruments, vocals, tempo, mood). Converted once from the
TensorFlow checkpoints in the ``musicnn`` wheel by ``tools/convert_musicnn.py``.

Input as musicnn computes it: 16 kHz mono, librosa's mel power spectrogram (n_fft 512, hop 256,
96 mels), ``log10(10000 * mel + 1)`` -- in float32 (musicnn casts to float16 first, which under
numpy 2 overflows to inf and gives NaN tags) -- cut into non-overlapping 3 s patches of 187 frames.
A clip shorter than 3 s is zero-padded to one patch. The scores are the sigmoid outputs, per patch;
``tag_scores`` averages them over the patches (as musicnn's ``top_tags`` does).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .runtime import mono, resample, session, weight

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
MODELS = ("MSD", "MTT")


def _check(model: str) -> str:
    if model not in MODELS:
        raise ParameterError(f"model must be one of {MODELS}, got {model!r}")
    return model


def tags(model: str = "MSD") -> list[str]:
    """The model's 50 tag names, in output order."""
    path = weight(f"musicnn_{_check(model)}_tags.txt")
    return [t for t in path.read_text(encoding="utf-8").splitlines() if t]


def logmel(y16: np.ndarray) -> np.ndarray:
    """musicnn's input representation of 16 kHz audio: (frames, 96) float32."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(y16, np.float32), sr=SR, hop_length=HOP, n_fft=N_FFT,
                                         n_mels=N_MELS).T
    return np.log10(10000.0 * mel.astype(np.float32) + 1.0).astype(np.float32)


def patches(rep: np.ndarray) -> np.ndarray:
    """Non-overlapping (n, 187, 96) patches of a log-mel (the tail shorter than a patch is dropped)."""
    starts = range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    return np.stack([rep[s:s + N_FRAMES] for s in starts]).astype(np.float32)


def taggram(y: np.ndarray, sr: int, *, model: str = "MSD") -> np.ndarray:
    """(patches, 50) tag scores in [0, 1], one row per 3 s of ``y`` (any rate, mono or stereo)."""
    _check(model)
    y16 = resample(mono(y, sr), sr, SR)
    min_len = (N_FRAMES - 1) * HOP
    if len(y16) < min_len:
        y16 = np.pad(y16, (0, min_len - len(y16)))
    x = patches(logmel(y16))
    sess = session(weight(f"musicnn_{model}.onnx"))
    return sess.run(["model/tags:0"], {"model/melspec:0": x})[0].astype(np.float32)


def tag_scores(y: np.ndarray, sr: int, *, model: str = "MSD") -> dict[str, float]:
    """Each tag's score in [0, 1], the mean over the clip's 3 s patches."""
    g = taggram(y, sr, model=model)
    return dict(zip(tags(model), (float(v) for v in g.mean(axis=0)), strict=True))


def top_tags(y: np.ndarray, sr: int, *, model: str = "MSD", k: int = 5) -> list[str]:
    s = tag_scores(y, sr, model=model)
    return sorted(s, key=s.get, reverse=True)[:k]
