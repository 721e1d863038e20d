"""Find the hook: the start of the most chorus-like segment of a song.

The seed clips the first 15 s on the belief that a hit "grabs attention at the start"; the hook
clip (``prepare --clip hook``) lets the analysis test that belief against the chorus. A chorus is
the part that (1) repeats — rows of the self-similarity matrix that lie on long diagonal stripes,
(2) is loud and dense — high RMS energy relative to the rest of the song, and (3) starts at a
section boundary — a peak of Foote's checkerboard novelty. The window of ``length_s`` seconds
with the best mean of repetition and energy, started at a boundary, wins.

The choice must not move when the same song is re-encoded, made quieter or louder, noisier, or
padded with silence (``bench/hook.py`` measures it), so: leading and trailing silence (frames
:data:`SILENCE_DB` below the song's loud level) are cut before the analysis and the offset added
back; loudness counts in dB relative to the song's own loud level over a fixed
:data:`ENERGY_RANGE_DB` window (stretching a flat song's 1 dB differences to 0..1 let noise pick
the hook); and of candidate windows whose scores lie within :data:`TIE_MARGIN` of the best, the
earliest wins, so a near-tie cannot flip between copies.

:func:`structured_song` builds songs with a known layout (verse / chorus / bridge) from real
scores, for the tests and ``bench/hook.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .recurrence import knn_affinity

FRAME_S = 0.5          # analysis frame after pooling (s): a 4-min song is ~480 frames
EMBED_S = 2.0          # time-delay embedding: a frame "is" the 2 s starting at it
ENHANCE_S = 6.0        # diagonal smoothing: only repetitions longer than a few seconds count
MIN_LAG_S = 4.0        # repetitions closer than this are sustained notes, not a repeat
KERNEL_S = 8.0         # checkerboard kernel width for novelty
SILENCE_DB = 45.0      # a frame this far below the song's 95th-percentile level is silence
ENERGY_RANGE_DB = 12.0  # energy 0..1 spans this many dB below the song's loud (98th pct) level
TIE_MARGIN = 0.03      # window scores this close to the best are a tie: the earliest wins


@dataclass(frozen=True)
class HookCurves:
    """Per-frame curves behind :func:`find_hook` (for plots and the report)."""

    times: np.ndarray        # frame start times (s)
    repetition: np.ndarray   # 0..1: how strongly this moment recurs elsewhere
    energy: np.ndarray       # 0..1: RMS in dB, ENERGY_RANGE_DB below the song's loud level -> 1
    novelty: np.ndarray      # 0..1: Foote novelty (section boundaries peak)
    boundaries: np.ndarray   # candidate section starts (s)


def _validate(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:  # accept (channels, n) and downmix
        y = y.mean(axis=0)
    if y.ndim != 1:
        raise ParameterError(f"expected a mono signal, got shape {y.shape}")
    if sr <= 0:
        raise ParameterError(f"sample rate must be > 0, got {sr}")
    if y.size == 0:
        raise ParameterError("empty signal: no hook to find")
    if not np.all(np.isfinite(y)):
        raise ParameterError("the signal holds NaN or infinite samples")
    return y


def _scale01(x: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(x, [2, 98])
    if hi - lo < 1e-9:
        return np.zeros_like(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _relative_level(db: np.ndarray) -> np.ndarray:
    """0..1 loudness: the song's loud level (98th percentile) is 1, ENERGY_RANGE_DB below it 0."""
    if db.size == 0:
        return db
    return np.clip((db - np.percentile(db, 98)) / ENERGY_RANGE_DB + 1.0, 0.0, 1.0)


def _sounding(S: np.ndarray) -> tuple[int, int]:
    """(first, last + 1) STFT frame not :data:`SILENCE_DB` below the song's 95th-percentile level."""
    power = np.concatenate([np.sum(S[:, i: i + 2048].astype(np.float64) ** 2, axis=0)  # no float64 copy
                            for i in range(0, S.shape[1], 2048)]) if S.shape[1] else np.zeros(0)
    if power.size == 0 or power.max() <= 0:
        return 0, power.size
    loud = np.percentile(power, 95)
    on = np.flatnonzero(power > loud * 10 ** (-SILENCE_DB / 10))
    return (int(on[0]), int(on[-1]) + 1) if on.size else (0, power.size)


def estimate_tuning(P: np.ndarray, sr: int, block: int = 256, stride: int = 4) -> float:
    """``librosa.estimate_tuning(S=P[:, ::stride], sr=sr, bins_per_octave=12)`` (what ``chroma_stft``
    does when not given a tuning), with the pitch tracking a block of frames at a time: ``piptrack``
    works frame by frame, so the result is the same, without its full-size float arrays (~350 MB for
    a 6-min song at 16 kHz; a few MB for a block of 256 sampled frames). A song's tuning is one
    number for all its frames, so every ``stride``-th frame (one per 128 ms at 16 kHz) is enough: on
    12 songs the estimate moved by 0.01 semitone on one, at a quarter of the cost (0.25 -> 0.06 s
    CPU for a 3-min song)."""
    import librosa

    pitch, mag = [], []
    for i in range(0, P.shape[1], block * stride):
        p, m = librosa.piptrack(S=P[:, i: i + block * stride: stride], sr=sr)
        on = p > 0
        pitch.append(p[on])
        mag.append(m[on])
    pitch = np.concatenate(pitch) if pitch else np.zeros(0)
    mag = np.concatenate(mag) if mag else np.zeros(0)
    if pitch.size == 0 and stride > 1:  # a short or sparse song: no peak in the sampled frames
        return estimate_tuning(P, sr, block, stride=1)
    threshold = np.median(mag) if mag.size else 0.0
    return float(librosa.pitch_tuning(pitch[mag >= threshold], resolution=0.01, bins_per_octave=12))


def _mel_power(P: np.ndarray, sr: int) -> np.ndarray:
    """``librosa.feature.melspectrogram(S=P, sr=sr)`` with its filterbank as a sparse matrix: the
    triangles touch ~1.5 % of the bank's cells, and librosa's dense einsum cost ~0.05 s per 3-min song."""
    import librosa
    import scipy.sparse

    return np.asarray(scipy.sparse.csr_matrix(librosa.filters.mel(sr=sr, n_fft=2 * (P.shape[0] - 1))) @ P)


def _rms_from_power(P: np.ndarray) -> np.ndarray:
    """``librosa.feature.rms(S=sqrt(P), frame_length=2 * (P.shape[0] - 1))[0]`` from the power
    spectrogram already at hand: librosa squares its own copy of the magnitudes (a 6-min song's
    is 43 MB at 16 kHz, on top of ``P``); here the bins are summed a row at a time. The DC and
    Nyquist bins count half, as librosa counts them; values agree to float32 rounding."""
    frame_length = 2 * (P.shape[0] - 1)
    total = P.sum(axis=0, dtype=np.float64) - 0.5 * (P[0].astype(np.float64) + P[-1])
    return np.sqrt(2.0 * np.maximum(total, 0.0) / frame_length**2).astype(np.float32)


def _pool_mean(X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``librosa.util.sync(X, idx, aggregate=np.mean)`` for increasing ``idx`` starting at 0: the
    mean of each column span ``[idx[i], idx[i+1])``, the last to the end. One ``reduceat`` instead of
    a Python loop over ~500 spans per song."""
    counts = np.diff(np.r_[idx, X.shape[1]])
    return (np.add.reduceat(X, idx, axis=1) / counts).astype(X.dtype, copy=False)


def hook_curves(y: np.ndarray, sr: int, *, S: np.ndarray | None = None) -> HookCurves:
    """Repetition, energy and novelty curves at :data:`FRAME_S` resolution.

    ``S``: an already computed magnitude STFT (``n_fft=2048``, hop 512 at >= 16 kHz, else 256)."""
    import librosa
    import scipy.ndimage
    import scipy.signal

    from ..audio.stft import N_FFT, check_stft, stft_hop

    y = _validate(y, sr)
    hop = stft_hop(sr)
    S = check_stft(S, y, sr) if S is not None else np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop))
    P = S**2  # one power spectrogram for both
    chroma = librosa.feature.chroma_stft(S=P, sr=sr, tuning=estimate_tuning(P, sr))
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(_mel_power(P, sr)), n_mfcc=20)[1:]
    rms = _rms_from_power(P)
    del P
    per = max(1, int(round(FRAME_S * sr / hop)))
    idx = np.arange(0, S.shape[1], per)
    chroma = _pool_mean(chroma, idx)
    mfcc = _pool_mean(mfcc, idx)
    rms = _pool_mean(rms[None, :], idx)[0]
    n = chroma.shape[1]
    times = idx[:n] * hop / sr

    mfcc = (mfcc - mfcc.mean(axis=1, keepdims=True)) / (mfcc.std(axis=1, keepdims=True) + 1e-9)
    chroma = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    feats = np.vstack([chroma * np.sqrt(12), mfcc / np.sqrt(mfcc.shape[0]) * np.sqrt(12)])
    steps = max(1, int(round(EMBED_S / FRAME_S)))
    emb = librosa.feature.stack_memory(feats, n_steps=steps, delay=-1, mode="edge")  # look ahead

    energy = _relative_level(librosa.amplitude_to_db(rms + 1e-10, ref=np.max(rms) + 1e-10))
    if n < 8:
        return HookCurves(times, np.zeros(n), energy, np.zeros(n), np.array([0.0]))
    width = max(1, int(round(MIN_LAG_S / FRAME_S)))
    # librosa's recurrence_matrix (knn_affinity's reference) needs width < (n - 1) // 2 (strictly),
    # so short songs cap it one lower
    R = knn_affinity(emb, width=min(width, (n - 1) // 2 - 1), k=max(2, int(2 * np.sqrt(n))))
    R = librosa.segment.path_enhance(R, max(3, int(round(ENHANCE_S / FRAME_S))), window="hann",
                                     n_filters=3, max_ratio=1.1, min_ratio=1 / 1.1)
    repetition = _scale01(scipy.ndimage.uniform_filter1d(R.max(axis=1) + R.mean(axis=1),
                                                         size=max(1, steps)))

    # Foote novelty on the (dense) cosine self-similarity of the embedded features
    Z = emb / (np.linalg.norm(emb, axis=0, keepdims=True) + 1e-9)
    ssm = Z.T @ Z
    half = max(2, int(round(KERNEL_S / FRAME_S / 2)))
    g = scipy.signal.windows.gaussian(2 * half, std=half / 2)
    kernel = np.outer(g, g) * np.kron([[1, -1], [-1, 1]], np.ones((half, half)))
    padded = np.pad(ssm, half, mode="edge")
    nov = np.array([np.sum(padded[i: i + 2 * half, i: i + 2 * half] * kernel) for i in range(n)])
    # an energy step is a boundary too (a chorus entering on the same chords as the verse)
    nov = _scale01(np.maximum(nov, 0)) + 0.5 * _scale01(np.abs(np.gradient(
        scipy.ndimage.uniform_filter1d(energy, size=3))))
    nov = _scale01(nov)
    peaks, _ = scipy.signal.find_peaks(nov, distance=max(1, int(round(3.0 / FRAME_S))), prominence=0.05)
    boundaries = np.unique(np.r_[0.0, times[peaks]])
    return HookCurves(times, repetition, energy, nov, boundaries)


def find_hook(y: np.ndarray, sr: int, *, length_s: float = 15.0, repetition_weight: float = 1.0,
              energy_weight: float = 1.5, novelty_weight: float = 0.3, S: np.ndarray | None = None) -> float:
    """Start time (s) of the most chorus-like ``length_s`` window of a song.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal (a ``(channels, n)`` array is downmixed).
    sr : int
        Its sample rate.
    length_s : float
        Window length; a song not longer than this returns 0.0.
    repetition_weight, energy_weight : float
        How much repetition and loudness count in a window's score.
    novelty_weight : float
        Bonus for starting on a sharp section boundary (weights were set on 12 development songs of
        :func:`structured_song`; ``bench/hook.py`` measures on other songs).
    S : np.ndarray, optional
        The song's magnitude STFT, when the caller already has it (see :func:`hook_curves`).

    Returns
    -------
    float
        The start in seconds, on a section boundary, with ``start + length_s <= duration``.

    Examples
    --------
    >>> start = find_hook(y, 16000, length_s=15)  # doctest: +SKIP
    """
    y = _validate(y, sr)
    if length_s <= 0:
        raise ParameterError(f"length_s must be > 0, got {length_s}")
    duration = y.size / sr
    if duration <= length_s + FRAME_S:
        return 0.0
    if float(np.max(np.abs(y))) < 1e-6:  # silence: nothing to prefer
        return 0.0
    import librosa

    from ..audio.stft import N_FFT, check_stft, stft_hop

    hop = stft_hop(sr)
    S = check_stft(S, y, sr) if S is not None else np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=hop))
    # analyse the sounding part only: silence around a song must shift its hook, not change it
    first, end = _sounding(S)
    lead = first * hop / sr
    if first > 0 or end < S.shape[1] - 1:
        y = y[first * hop: max(first + 1, end - 1) * hop]
        S = S[:, first: first + 1 + len(y) // hop]
    if y.size / sr <= length_s + FRAME_S:  # the sounding part is the clip
        return float(round(min(lead, duration - length_s), 3))
    c = hook_curves(y, sr, S=S)
    score = repetition_weight * c.repetition + energy_weight * c.energy
    win = max(1, int(round(length_s / FRAME_S)))
    last = y.size / sr - length_s
    cum = np.r_[0.0, np.cumsum(score)]

    def window_score(t: float) -> float:
        i = int(round(t / FRAME_S))
        j = min(len(score), i + win)
        return float((cum[j] - cum[i]) / max(1, j - i)) if j > i else -np.inf

    # a boundary start, weighted by how sharp the boundary is; else the song's start
    cands = [t for t in c.boundaries if t <= last + 1e-9] or [0.0]
    total = {t: window_score(t) + novelty_weight * float(c.novelty[min(len(c.novelty) - 1,
                                                                       int(round(t / FRAME_S)))])
             for t in cands}
    top = max(total.values())
    best = min(t for t in cands if total[t] >= top - TIE_MARGIN)  # the earliest of near-ties
    return float(round(min(max(0.0, best), last) + lead, 3))


# -- songs with a known structure (tests and bench) ----------------------------------------------

SECTION_NAMES = {"I": "intro", "V": "verse", "C": "chorus", "B": "bridge"}

@dataclass
class StructuredSong:
    midi: object                  # pretty_midi.PrettyMIDI
    sections: list[tuple[str, float, float]]  # (label, start_s, end_s)

    @property
    def chorus_starts(self) -> list[float]:
        return [s for lab, s, _ in self.sections if lab == "chorus"]


def structured_song(
    rng: random.Random,
    *,
    verse: str | tuple[str, int | None],
    chorus: str | tuple[str, int | None],
    bridge: str | tuple[str, int | None] | None = None,
    layout: str = "IVCVCBCC",
    tempo: float = 110.0,
    section_s: float = 18.0,
    lift_last_chorus: bool = True,
    contrast: float = 1.0,
) -> StructuredSong:
    """A pop-form song from real scores: I(ntro) V(erse) C(horus) B(ridge) sections of whole bars,
    about ``section_s`` seconds each (the intro half that).

    The verse is sparse (lead + pad, quieter, no drums); every chorus is the chorus tune with the
    full band and drums; the bridge is a third tune over half-time drums; the last chorus is lifted
    a semitone when ``lift_last_chorus`` (choruses "repeat with variation", as the seed puts it).
    Scores are music21 corpus names or ``(name, number)`` pairs. ``contrast`` 1 gives the verse
    and intro less level and no drums; 0 plays every section at one level with the same band and
    drums, so only the tune (and its repetition) tells the chorus.
    """
    if not 0.0 <= contrast <= 1.0:
        raise ParameterError(f"contrast must be in [0, 1], got {contrast}")
    import pretty_midi

    from ..scores import arrange, load_piece

    def piece(spec):
        return load_piece(*spec) if isinstance(spec, tuple) else load_piece(spec)

    tunes = {"V": piece(verse), "C": piece(chorus)}
    tunes["B"] = piece(bridge) if bridge else tunes["V"]
    tunes["I"] = tunes["C"]
    transpose = rng.randint(-3, 3)
    leads = {"V": rng.choice([0, 4, 11, 73, 24]), "C": rng.choice([56, 65, 80, 81, 71]),
             "B": rng.choice([40, 104, 110]), "I": 48}
    out = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    merged: dict[tuple[int, bool], pretty_midi.Instrument] = {}
    sections = []
    t = 0.0
    n_chorus = layout.count("C")
    seen_c = 0
    for lab in layout:
        if lab not in "IVCB":
            raise ParameterError(f"layout letters are I, V, C, B; got {lab!r}")
        p = tunes[lab]
        bar_s = p.beats_per_bar * 60.0 / tempo
        sec = max(2, round((section_s / 2 if lab == "I" else section_s) / bar_s)) * bar_s
        seen_c += lab == "C"
        lift = 1 if (lab == "C" and lift_last_chorus and seen_c == n_chorus and n_chorus > 1) else 0
        sparse = contrast >= 0.5
        drums = {"V": None if sparse else "backbeat", "C": "backbeat", "B": "half-time",
                 "I": None if sparse else "backbeat"}[lab]
        pm = arrange(p, random.Random(rng.randrange(2**31)), tempo=tempo, transpose=transpose + lift,
                     min_seconds=sec + 1, lead_program=leads[lab], accompaniment=True, drums=drums)
        gain = {"V": 1 - 0.4 * contrast, "C": 1.0, "B": 1 - 0.2 * contrast, "I": 1 - 0.5 * contrast}[lab]
        for inst in pm.instruments:
            if lab == "I" and inst.name.startswith("part"):
                continue  # the intro is chords and bass only
            if lab == "V" and inst.name == "bass" and sparse:
                continue  # a sparse verse
            key = (inst.program, inst.is_drum)
            dst = merged.setdefault(key, pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum))
            for nt in inst.notes:
                if nt.start < sec:
                    dst.notes.append(pretty_midi.Note(int(np.clip(nt.velocity * gain, 1, 127)), nt.pitch,
                                                      t + nt.start, t + min(nt.end, sec)))
        sections.append((SECTION_NAMES[lab], t, t + sec))
        t += sec
    out.instruments.extend(merged.values())
    return StructuredSong(out, sections)
