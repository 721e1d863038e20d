"""The whole-song STFT that the version signature and the hook finder share, so a song is
transformed once: its size, its hop, and a check that a caller's spectrogram is that one."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

N_FFT = 2048


def stft_hop(sr: int) -> int:
    """The hop of the STFT shared by the version signature and the hook finder."""
    return 512 if sr >= 16000 else 256


def check_stft(S: np.ndarray, y: np.ndarray, sr: int) -> np.ndarray:
    """Validate a caller's shared magnitude STFT against the signal it claims to describe."""
    S = np.asarray(S)
    want = 1 + len(y) // stft_hop(sr)
    if S.ndim != 2 or S.shape[0] != N_FFT // 2 + 1 or abs(S.shape[1] - want) > 1:
        raise ParameterError(f"S must be |stft(y, n_fft={N_FFT}, hop_length={stft_hop(sr)})| of shape "
                             f"({N_FFT // 2 + 1}, {want}), got {S.shape}")
    return S
