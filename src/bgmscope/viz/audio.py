"""Figures of one clip's audio: waveform, spectrogram, pitch, centroid, MFCC, self-similarity.

Every function draws on a given matplotlib ``ax`` (or makes a figure) and returns the figure.
Like librosa's descriptors, the spectral ones accept an already computed magnitude STFT ``S``,
so a caller drawing several panels computes it once.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..features.pitch import F0Contour, f0_contour
from .common import INK, PALETTE, empty_note, new_figure, title

N_FFT = 1024
HOP = 256


def _check_audio(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim not in (1, 2) or y.shape[-1] == 0:
        raise ParameterError(f"audio must be a non-empty 1-D (mono) or 2-D (channels, samples) array, got shape {y.shape}")
    if sr <= 0:
        raise ParameterError(f"sample rate must be positive, got {sr}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio holds NaN or inf samples")
    if y.ndim == 2 and y.shape[0] > y.shape[1]:  # (samples, channels) as soundfile returns it
        y = y.T
    return y


def _mono(y: np.ndarray) -> np.ndarray:
    return y if y.ndim == 1 else y.mean(axis=0)


def magnitude(y: np.ndarray, sr: int, n_fft: int = N_FFT, hop_length: int = HOP) -> np.ndarray:
    """The magnitude STFT shared by the spectral panels."""
    import librosa

    return np.abs(librosa.stft(_mono(_check_audio(y, sr)), n_fft=n_fft, hop_length=hop_length))


def _envelope(y: np.ndarray, sr: int, points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max per bucket: draws a long signal as fast as a short one and loses no peaks."""
    n = len(y)
    step = max(1, n // points)
    m = (n // step) * step
    if m == 0:
        t = np.arange(n) / sr
        return t, y, y
    blocks = y[:m].reshape(-1, step)
    t = (np.arange(blocks.shape[0]) * step + step / 2) / sr
    return t, blocks.min(axis=1), blocks.max(axis=1)


def waveform(y: np.ndarray, sr: int, *, ax=None, title_text: object = None, color: str = PALETTE[0]):
    """Amplitude over time; both channels (stacked) when ``y`` is stereo.

    Examples
    --------
    >>> import numpy as np
    >>> fig = waveform(np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)), 16000)
    """
    y = _check_audio(y, sr)
    chans = [y] if y.ndim == 1 else list(y)
    if ax is None:
        fig, axes = new_figure(8, 1.6 * len(chans) + 0.4, nrows=len(chans), sharex=True)
        axes = np.atleast_1d(axes)
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
        if len(axes) < len(chans):
            chans = [_mono(y)]
    names = ["L", "R"] + [f"ch{i}" for i in range(2, 16)]
    for i, (a, ch) in enumerate(zip(axes, chans, strict=False)):
        t, lo, hi = _envelope(ch, sr)
        a.fill_between(t, lo, hi, color=color, linewidth=0.4, alpha=0.9)
        a.axhline(0, color="#b0bac1", linewidth=0.5)
        a.set_xlim(0, len(ch) / sr)
        peak = max(1e-3, float(np.max(np.abs(ch))))
        a.set_ylim(-peak * 1.05, peak * 1.05)
        a.set_ylabel(names[i] if len(chans) > 1 else "amplitude")
    axes[-1].set_xlabel("time (s)")
    if title_text is not None:
        axes[0].set_title(title(title_text), loc="left")
    return fig


def spectrogram(y: np.ndarray | None = None, sr: int = 16000, *, S: np.ndarray | None = None, ax=None,
                title_text: object = None, hop_length: int = HOP, fmin: float = 40.0, colorbar: bool = True):
    """Log-frequency spectrogram in dB (relative to the clip's peak)."""
    import librosa
    import librosa.display

    if S is None:
        if y is None:
            raise ParameterError("spectrogram needs y or S")
        S = magnitude(y, sr, hop_length=hop_length)
    if ax is None:
        fig, ax = new_figure(8, 2.6)
    fig = ax.figure
    db = librosa.amplitude_to_db(S, ref=np.max, top_db=80.0)
    img = librosa.display.specshow(db, sr=sr, hop_length=hop_length, x_axis="time", y_axis="log",
                                   ax=ax, cmap="magma")
    ax.set_ylim(fmin, sr / 2)
    ax.set_ylabel("Hz (log)")
    ax.set_xlabel("time (s)")
    if colorbar:
        fig.colorbar(img, ax=ax, format="%+.0f dB", pad=0.01, fraction=0.04)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def pitch_contour(y: np.ndarray, sr: int, *, fmin: float = 65.0, fmax: float = 1100.0) -> F0Contour:
    """The f0 contour of a clip (mono mix of a stereo one): the features stage's ``f0_contour``."""
    return f0_contour(_mono(_check_audio(y, sr)), sr, fmin=fmin, fmax=fmax)


def relative_pitch(contour: F0Contour) -> np.ndarray:
    """Semitones relative to the clip's median voiced f0 (the seed's relative pitch curve)."""
    f0 = contour.f0_hz
    ok = np.isfinite(f0) & (f0 > 0)
    if not ok.any():
        return np.full_like(f0, np.nan, dtype=float)
    ref = float(np.median(f0[ok]))
    out = np.full_like(f0, np.nan, dtype=float)
    out[ok] = 12.0 * np.log2(f0[ok] / ref)
    return out


def pitch(y: np.ndarray | None = None, sr: int = 16000, *, contour: F0Contour | None = None, axes=None,
          title_text: object = None):
    """Two panels: the f0 contour (Hz, log axis) and the relative pitch curve (semitones)."""
    if contour is None:
        if y is None:
            raise ParameterError("pitch needs y or a contour")
        contour = pitch_contour(y, sr)
    if axes is None:
        fig, axes = new_figure(8, 3.4, nrows=2, sharex=True)
    axes = np.atleast_1d(axes)
    fig = axes[0].figure
    t, f0 = contour.times, contour.f0_hz
    if not np.isfinite(f0).any():
        for a in axes:
            empty_note(a, "no voiced frames")
        return fig
    axes[0].plot(t, f0, color=PALETTE[1], linewidth=1.2)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("f0 (Hz)")
    if len(axes) > 1:
        rel = relative_pitch(contour)
        axes[1].plot(t, rel, color=PALETTE[2], linewidth=1.2)
        axes[1].axhline(0, color="#b0bac1", linewidth=0.6)
        axes[1].set_ylabel("semitones")
    axes[-1].set_xlabel("time (s)")
    if title_text is not None:
        axes[0].set_title(title(title_text), loc="left")
    return fig


def centroid_over_waveform(y: np.ndarray, sr: int, *, S: np.ndarray | None = None, ax=None,
                           title_text: object = None, hop_length: int = HOP):
    """The waveform in grey with the spectral centroid (Hz) over it on a second axis."""
    import librosa

    y = _mono(_check_audio(y, sr))
    if S is None:
        S = magnitude(y, sr, hop_length=hop_length)
    if ax is None:
        fig, ax = new_figure(8, 2.2)
    fig = ax.figure
    t, lo, hi = _envelope(y, sr)
    ax.fill_between(t, lo, hi, color="#c5ced4", linewidth=0)
    ax.set_xlim(0, len(y) / sr)
    ax.set_ylabel("amplitude")
    ax.set_xlabel("time (s)")
    cent = librosa.feature.spectral_centroid(S=S, sr=sr)[0]
    ct = librosa.frames_to_time(np.arange(len(cent)), sr=sr, hop_length=hop_length)
    ax2 = ax.twinx()
    ax2.plot(ct, cent, color=PALETTE[3], linewidth=1.1)
    ax2.set_ylabel("centroid (Hz)", color=PALETTE[3])
    ax2.spines["right"].set_visible(True)
    ax2.set_ylim(0, max(1.0, float(np.nanmax(cent))) * 1.1)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def mfcc_heatmap(y: np.ndarray | None = None, sr: int = 16000, *, S: np.ndarray | None = None, n_mfcc: int = 20,
                 ax=None, title_text: object = None, hop_length: int = HOP):
    """MFCCs 1-19 over time, each standardised over the clip (coefficient 0, loudness, omitted)."""
    import librosa
    import librosa.display

    if S is None:
        if y is None:
            raise ParameterError("mfcc_heatmap needs y or S")
        S = magnitude(y, sr, hop_length=hop_length)
    mel = librosa.feature.melspectrogram(S=S**2, sr=sr)
    m = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)[1:]
    # each coefficient standardised over time: MFCC 1 would otherwise swamp the colour scale
    sd = m.std(axis=1, keepdims=True)
    m = (m - m.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if ax is None:
        fig, ax = new_figure(8, 2.4)
    fig = ax.figure
    img = librosa.display.specshow(m, sr=sr, hop_length=hop_length, x_axis="time", ax=ax, cmap="coolwarm",
                                   vmin=-3, vmax=3)
    ax.set_yticks(np.arange(0, n_mfcc - 1, 4) + 0.5, [str(i + 1) for i in range(0, n_mfcc - 1, 4)])
    ax.set_ylabel("MFCC")
    fig.colorbar(img, ax=ax, pad=0.01, fraction=0.04, label="z per coefficient")
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def self_similarity(y: np.ndarray | None = None, sr: int = 16000, *, matrix: np.ndarray | None = None,
                    frame_s: float | None = None, ax=None, title_text: object = None):
    """A self-similarity matrix: given (e.g. a stored ``.npy``) or from beat-free chroma of ``y``.

    ``frame_s`` is the duration of one row (seconds), used for the axes when known.
    """
    import librosa

    if matrix is None:
        if y is None:
            raise ParameterError("self_similarity needs y or matrix")
        y = _mono(_check_audio(y, sr))
        hop = 2048
        chroma = librosa.feature.chroma_stft(y=y, sr=sr, hop_length=hop, n_fft=4096)
        chroma = librosa.util.normalize(chroma, norm=2, axis=0)
        matrix = chroma.T @ chroma
        frame_s = hop / sr
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ParameterError(f"a self-similarity matrix is square and non-empty, got shape {matrix.shape}")
    if ax is None:
        fig, ax = new_figure(4.2, 3.8)
    fig = ax.figure
    ext = None
    if frame_s:
        n = matrix.shape[0] * frame_s
        ext = (0, n, n, 0)
    img = ax.imshow(matrix, cmap="viridis", origin="upper", extent=ext, interpolation="nearest", aspect="equal")
    unit = "time (s)" if frame_s else "frame"
    ax.set_xlabel(unit)
    ax.set_ylabel(unit)
    fig.colorbar(img, ax=ax, pad=0.01, fraction=0.046)
    if title_text is not None:
        ax.set_title(title(title_text), loc="left")
    return fig


def zero_crossing_count(y: np.ndarray) -> int:
    """Sign changes in the clip (the seed's zero-crossing count)."""
    y = np.asarray(y, dtype=np.float32).ravel()
    s = np.signbit(y)
    return int(np.count_nonzero(s[1:] != s[:-1]))


def song_card(y: np.ndarray, sr: int, *, title_text: object = None, contour: F0Contour | None = None):
    """The report's per-song panel: waveform with centroid, log spectrogram, relative pitch."""
    y = _mono(_check_audio(y, sr))
    S = magnitude(y, sr)
    fig, axes = new_figure(8.4, 5.6, nrows=3, height_ratios=[1, 1.4, 1])
    centroid_over_waveform(y, sr, S=S, ax=axes[0], title_text=title_text)
    axes[0].set_xlabel("")
    spectrogram(S=S, sr=sr, ax=axes[1], colorbar=False)
    axes[1].set_xlabel("")
    c = contour or pitch_contour(y, sr)
    rel = relative_pitch(c)
    a = axes[2]
    if np.isfinite(rel).any():  # dots too: short voiced runs between gaps still show
        a.plot(c.times, rel, color=PALETTE[2], linewidth=1.2, marker=".", markersize=2.2)
        a.axhline(0, color="#b0bac1", linewidth=0.6)
        a.set_xlim(0, len(y) / sr)
        a.set_ylabel("pitch (st)")
    else:
        empty_note(a, "no voiced frames")
    a.set_xlabel("time (s)")
    for ax in axes:
        ax.tick_params(labelsize=8)
    axes[0].title.set_color(INK)
    return fig
