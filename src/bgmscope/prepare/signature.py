"""A song's version signature: what the versions stage keeps of a song, computed once per song
(by the prepare stage's song pass, :mod:`.scan`, from the STFT it takes for the hook anyway).

From the song's shared magnitude STFT (:mod:`bgmscope.audio.stft`, also used by the hook finder):

* ``frames``: log energy (dB) in 36 sixth-octave bands, 110 Hz - 7 kHz, 10 frames per second
  (float16). The aligner (:mod:`.align`) correlates these along the whole overlap of two songs.
  Log-spaced bands make a resampled speed change (pitch moves with tempo) a shift along the band
  axis, which the aligner undoes; dB makes a gain change an offset, which the correlation removes.
* ``windows``: one compact embedding per 10 s window (hop 2.5 s) of the non-silent audio: the
  window's spectral shape in 12 half-octave bands and how much each band moves over time (gain-free).
  :mod:`.index` finds candidate pairs by nearest neighbours among all songs' windows, so a cut of a
  song meets the windows of the part it was cut from.
* the leading and trailing silence, so the group representative can be the untrimmed edit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.stft import N_FFT, check_stft, stft_hop
from ..errors import ParameterError

HOP_S = 0.1               # one signature frame per 0.1 s
SMOOTH_S = 0.3            # each frame averages this much audio: a sub-hop misalignment barely matters
F_MIN = 110.0             # lowest band centre (Hz)
BANDS_PER_OCTAVE = 6
N_BANDS = 36              # 6 octaves: 110 Hz .. 7 kHz
FLOOR_DB = -70.0          # band energies are clipped this far below the song's loudest band frame
SILENCE_DB = -45.0        # frames this far below the song's loudest frame count as silence
WINDOW_S = 10.0           # index windows
WINDOW_HOP_S = 2.5
COARSE = 3                # fine bands per index band (12 half-octave bands)
SIGNATURE_VERSION = 1     # bump when any of the above changes (cached scans are recomputed)


@dataclass(frozen=True)
class Signature:
    frames: np.ndarray          # (n, N_BANDS) float16 dB, HOP_S apart
    windows: np.ndarray         # (m, 3 * N_BANDS / COARSE) float32 index embeddings
    window_starts: np.ndarray   # (m,) seconds
    duration_s: float
    lead_silence_s: float
    trail_silence_s: float

    @property
    def active_s(self) -> float:
        """Seconds between the first and the last non-silent frame."""
        return max(0.0, self.duration_s - self.lead_silence_s - self.trail_silence_s)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"frames": self.frames, "windows": self.windows, "window_starts": self.window_starts,
                "meta": np.array([self.duration_s, self.lead_silence_s, self.trail_silence_s])}

    @classmethod
    def from_arrays(cls, z) -> Signature:
        d, lead, trail = (float(x) for x in z["meta"])
        return cls(np.asarray(z["frames"]), np.asarray(z["windows"]), np.asarray(z["window_starts"]),
                   d, lead, trail)


def band_matrix(sr: int, n_fft: int = N_FFT) -> np.ndarray:
    """(N_BANDS, n_fft//2+1) triangular weights on a log-frequency axis, each band's weights sum to 1.

    Bands above 0.9 * Nyquist stay empty (all zero weights)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    centres = F_MIN * 2.0 ** (np.arange(-1, N_BANDS + 1) / BANDS_PER_OCTAVE)
    W = np.zeros((N_BANDS, freqs.size))
    with np.errstate(divide="ignore"):
        logf = np.log2(np.maximum(freqs, 1e-9))
    logc = np.log2(centres)
    step = 1.0 / BANDS_PER_OCTAVE
    for k in range(N_BANDS):
        if centres[k + 2] > 0.9 * sr / 2:
            break
        W[k] = np.clip(1.0 - np.abs(logf - logc[k + 1]) / step, 0.0, None)
        if W[k].sum() == 0:  # a band narrower than one FFT bin: take the nearest bin
            W[k, int(np.argmin(np.abs(freqs - centres[k + 1])))] = 1.0
        W[k] /= W[k].sum()
    return W


def band_energies(W: np.ndarray, S: np.ndarray, block: int = 2048) -> np.ndarray:
    """``W @ S**2`` in float64, a block of frames at a time: no float64 copy of the whole STFT
    (a 6-min song's is ~90 MB at 16 kHz). ``W``'s triangular bands touch ~5 % of its cells, so it
    is applied as a sparse matrix to the bins it touches: 0.15 -> 0.01 s CPU per 3-min song
    against the dense product, the same sums to float64 rounding."""
    import scipy.sparse

    used = np.flatnonzero(W.any(axis=0))
    out = np.zeros((W.shape[0], S.shape[1]))
    if used.size == 0:
        return out
    lo, hi = int(used[0]), int(used[-1]) + 1
    Ws = scipy.sparse.csr_matrix(W[:, lo:hi])
    for i in range(0, S.shape[1], block):
        P = S[lo:hi, i: i + block].astype(np.float64)
        np.multiply(P, P, out=P)
        out[:, i: i + block] = Ws @ P
    return out


def version_signature(y: np.ndarray, sr: int, *, S: np.ndarray | None = None) -> Signature:
    """The :class:`Signature` of a mono song.

    ``S``: the song's magnitude STFT (``n_fft=2048``, ``hop_length=stft_hop(sr)``), shared with
    :func:`bgmscope.prepare.hook.find_hook` so a song is transformed once."""
    import librosa
    import scipy.ndimage

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"expected a non-empty mono signal, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("the signal holds NaN or infinite samples")
    hop = stft_hop(sr)
    S = check_stft(S, y, sr) if S is not None else np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop))
    W = band_matrix(sr)
    E = band_energies(W, S)                                        # (bands, stft frames)
    size = max(1, int(round(SMOOTH_S * sr / hop)))
    E = scipy.ndimage.uniform_filter1d(E, size=size, axis=1, mode="nearest")
    duration = y.size / sr
    n = max(1, int(duration / HOP_S))
    idx = np.minimum(np.round(np.arange(n) * HOP_S * sr / hop).astype(int), E.shape[1] - 1)
    E = E[:, idx]
    peak = float(E.max())
    if peak <= 0:
        raise ParameterError("the audio is silent: nothing to compare")
    frames = 10.0 * np.log10(np.maximum(E, peak * 10 ** (FLOOR_DB / 10))).T     # (n, bands)
    empty = ~W.any(axis=1)
    frames[:, empty] = 10.0 * np.log10(peak) + FLOOR_DB                         # constant: no variance
    total = E.sum(axis=0)
    loud = np.flatnonzero(total >= total.max() * 10 ** (SILENCE_DB / 10))
    lead = float(loud[0] * HOP_S) if loud.size else duration
    trail = float(max(0.0, duration - (loud[-1] + 1) * HOP_S)) if loud.size else 0.0
    windows, starts = _windows(frames, total, loud)
    return Signature(frames.astype(np.float16), windows, starts, float(duration), lead, trail)


def _windows(frames: np.ndarray, total: np.ndarray, loud: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index embeddings of the 10 s windows that lie in the non-silent part of the song."""
    n, nb = frames.shape
    coarse = frames[:, : nb - nb % COARSE].reshape(n, -1, COARSE).mean(axis=2)   # (n, 12) dB
    w, h = int(round(WINDOW_S / HOP_S)), int(round(WINDOW_HOP_S / HOP_S))
    if loud.size == 0:
        return np.zeros((0, 3 * coarse.shape[1]), np.float32), np.zeros(0)
    first, last = int(loud[0]), int(loud[-1]) + 1
    span = last - first
    w = min(w, span)
    if w < 2:
        return np.zeros((0, 3 * coarse.shape[1]), np.float32), np.zeros(0)
    starts = np.arange(first, last - w + 1, h)
    out = []
    for s in starts:
        X = coarse[s: s + w]
        m = X.mean(axis=0)
        shape = m - m.mean()                      # spectral shape, gain removed
        spread = X.std(axis=0)                    # how much each band moves (dB, gain-free)
        motion = np.abs(np.diff(X, axis=0)).mean(axis=0) if w > 1 else np.zeros_like(m)
        out.append(np.concatenate([shape / 10.0, spread / 5.0, motion / 2.0]))
    return np.asarray(out, np.float32), starts * HOP_S
