"""The spectra one song's transcription shares: one CQT and one STFT, each computed once.

``SongSpectra(y, sr)`` computes, on first use and then keeps:

* ``cqt``: the magnitude CQT (12 bins/octave from C2, hop ``HOP``, float32). The melody's
  harmonic-salience map is built from it, and the beat chroma is the same CQT with its semitone
  bins folded into 12 pitch classes (no second, 36-bins/octave CQT);
* ``stft``: one magnitude STFT (n_fft 2048, hop ``HOP``, float32, the features stage's framing) and
  its log-mel spectrogram, from which come the melody's onset envelope (hop ``HOP``) and, taking
  every other frame (a centred hop-512 STFT's frame *t* is the hop-256 STFT's frame *2t*), the beat
  tracker's onset envelope and the MFCC, identical to computing a hop-512 STFT again.
"""

from __future__ import annotations

from functools import cached_property

import librosa
import numpy as np
import scipy.fft

from ..features.rhythm import onset_strength
from ..features.spectrum import N_FFT, Spectrogram, single_threaded, stft
from .contour import HOP

SALIENCE_MIDI0 = 36  # C2: lowest pitch the CQT (and the salience map) holds
SALIENCE_PITCHES = 60  # salience rows: up to B6
N_HARMONICS = 5
MFCC_N = 13


def cqt_bins(sr: int, n_harmonics: int = N_HARMONICS) -> int:
    """CQT bins from C2: the salience pitches plus their harmonics' reach, below Nyquist."""
    fmin = librosa.midi_to_hz(SALIENCE_MIDI0)
    top = SALIENCE_PITCHES + int(np.ceil(12 * np.log2(n_harmonics)))
    return min(top, int(np.floor(12 * np.log2(sr / 2 / fmin))) - 1)


def cqt_magnitude(y: np.ndarray, sr: int, *, n_bins: int | None = None) -> np.ndarray:
    """|CQT| (n_bins, n_frames), float32: 12 bins/octave from C2, hop ``HOP``."""
    n_bins = cqt_bins(sr) if n_bins is None else n_bins
    C = librosa.cqt(np.asarray(y, np.float32), sr=sr, hop_length=HOP,
                    fmin=librosa.midi_to_hz(SALIENCE_MIDI0), n_bins=n_bins, bins_per_octave=12)
    return np.abs(C).astype(np.float32, copy=False)


def harmonic_salience(y: np.ndarray | None, sr: int, *, n_frames: int | None = None,
                      n_harmonics: int = N_HARMONICS, decay: float = 0.8,
                      cqt: np.ndarray | None = None) -> np.ndarray:
    """Pitch salience per semitone and frame: a weighted harmonic sum over a log-magnitude CQT.

    Rows are MIDI pitches ``SALIENCE_MIDI0 ..``; columns frames of hop ``HOP`` (float32). Give
    ``cqt`` (from :func:`cqt_magnitude`) to reuse a CQT already computed.
    """
    top = cqt_bins(sr, n_harmonics)
    C = cqt_magnitude(y, sr, n_bins=top) if cqt is None else cqt[:top]
    top = C.shape[0]
    peak = float(C.max()) if C.size else 0.0
    L = librosa.amplitude_to_db(C, ref=peak if peak > 0 else 1.0) + np.float32(60)
    np.maximum(L, 0, out=L)
    sal = np.zeros((SALIENCE_PITCHES, L.shape[1]), np.float32)
    for h in range(1, n_harmonics + 1):
        off = int(round(12 * np.log2(h)))
        rows = min(SALIENCE_PITCHES, top - off)
        if rows > 0:
            sal[:rows] += np.float32(decay ** (h - 1)) * L[off:off + rows]
    # a harmonic sum also lights the sub-octaves of a note; weight by the fundamental's own level
    fund = L[:SALIENCE_PITCHES]
    sal *= fund / (fund.max(axis=0, keepdims=True) + np.float32(1e-9))
    if n_frames is not None:
        sal = sal[:, :n_frames] if sal.shape[1] >= n_frames else np.pad(sal, ((0, 0), (0, n_frames - sal.shape[1])))
    return sal


def fold_chroma(C: np.ndarray) -> np.ndarray:
    """A semitone CQT from C (``SALIENCE_MIDI0`` is a C) folded to 12 pitch classes, each frame
    scaled to a maximum of 1 (as ``librosa.feature.chroma_cqt``)."""
    n = C.shape[0]
    pad = (-n) % 12
    F = np.pad(C, ((0, pad), (0, 0))) if pad else C
    chroma = F.reshape(-1, 12, C.shape[1]).sum(axis=0)
    peak = chroma.max(axis=0, keepdims=True)
    return chroma / np.where(peak > 0, peak, 1)


class SongSpectra:
    """The CQT and STFT of one mono float32 signal, each computed once (see the module docstring)."""

    def __init__(self, y: np.ndarray, sr: int):
        self.y = np.ascontiguousarray(y, dtype=np.float32)
        self.sr = int(sr)

    @cached_property
    def cqt(self) -> np.ndarray:
        with single_threaded():
            return cqt_magnitude(self.y, self.sr)

    @cached_property
    def salience(self) -> np.ndarray:
        return harmonic_salience(None, self.sr, cqt=self.cqt)

    @cached_property
    def chroma(self) -> np.ndarray:
        """Pitch-class profile (12, n_frames) at hop ``HOP``, from the shared CQT."""
        return fold_chroma(self.cqt)

    @cached_property
    def stft(self) -> Spectrogram:
        with single_threaded():
            spec = stft(self.y, self.sr, n_fft=N_FFT, hop_length=HOP)
            spec.mel_db  # noqa: B018 (computed here, under the one-thread limit)
        return spec

    @cached_property
    def onset_envelope(self) -> np.ndarray:
        """librosa's onset envelope at hop ``HOP`` (mean positive log-mel difference)."""
        return onset_strength(self.stft)

    @cached_property
    def beat_spec(self) -> Spectrogram:
        """The hop-512 spectrogram (every other frame of ``stft``) with its mel bands."""
        s = self.stft
        return Spectrogram(s.S[:, ::2], self.sr, s.n_fft, 2 * s.hop_length,
                           _cache={"mel": s.mel_power[:, ::2]})

    @cached_property
    def mfcc(self) -> np.ndarray:
        """MFCC c1..c12 (12, n_frames) at hop 512 (``librosa.feature.mfcc``'s, c0 dropped)."""
        return scipy.fft.dct(self.beat_spec.mel_db, axis=0, type=2, norm="ortho")[1:MFCC_N]
