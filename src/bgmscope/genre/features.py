"""What the genre models read from a clip, computed from one shared STFT.

- ``frames``: MFCC frames ``(T, n_mfcc)``, the seed's HMM input.
- ``summary``: a fixed-length clip vector (:data:`SUMMARY_NAMES`) for the classical model. Chosen to
  survive the styles corpus's random instruments, keys and tempi: timbre statistics (MFCC, spectral
  shape), key-invariant pitch structure (the chroma profile rotated to its strongest pitch class,
  interval-class co-occurrence, chroma entropy, polyphony), and tempo-free rhythm statistics.
- ``patches``: log-CQT patches ``(P, n_cqt, frames)`` of ``patch_s`` seconds, the CNN's input.
- ``tags``: the pretrained musicnn MSD tagger's view of the clip (mean and std over 3 s patches of
  its 50 tag scores, :func:`tag_input_names`); needs the ``[models]`` extra.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np

from ..errors import ParameterError
from ..fsutil import atomic_path, short_hash
from .dataset import load_clip_audio

FEATURE_VERSION = 2
_EPS = 1e-10


@dataclass(frozen=True)
class FeatureParams:
    """Analysis parameters; stored with every trained model so prediction featurizes identically."""

    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 512
    n_mfcc: int = 13  # the seed's HMM frames
    n_mels: int = 64
    n_cqt: int = 72  # C2..B7, the CNN's patches and the pitch statistics
    patch_s: float = 3.0
    max_duration_s: float = 30.0  # GTZAN clips are 30 s; chart clips 15 s

    def as_dict(self) -> dict:
        return asdict(self)


MOD_PITCH, MOD_TIME = 36, 6  # kept 2-D modulation bins: pitch (per 72 semitones) x time (per 3 s)


def modulation_2d(patches: np.ndarray) -> np.ndarray:
    """Median over patches of log(1 + |FFT2|) of each log-CQT patch (level-normalised, 60 dB floor),
    cropped to the low ``MOD_PITCH x MOD_TIME`` modulation bins: a circular shift in pitch
    (transposition) or time changes only the phase, so this describes texture and rhythm-pitch
    patterns whatever the key and start (Bertin-Mahieux & Ellis' 2DFTM, on CQT patches)."""
    P = patches - patches.max(axis=(1, 2), keepdims=True)
    P = np.maximum(P, -60.0)
    F = np.abs(np.fft.fft2(P, axes=(1, 2)))[:, :MOD_PITCH, :MOD_TIME]
    return np.log1p(np.median(F, axis=0)).ravel()


def _summary_names() -> list[str]:
    names = [f"mfcc{i:02d}_mean" for i in range(20)] + [f"mfcc{i:02d}_std" for i in range(20)]
    names += [f"dmfcc{i:02d}_std" for i in range(20)]
    for d in ("centroid", "bandwidth", "rolloff", "flatness", "rms_db"):
        names += [f"{d}_mean", f"{d}_std"]
    names += [f"contrast{i}_mean" for i in range(7)]
    names += [f"chroma_rot{i:02d}" for i in range(12)]  # profile rotated to its strongest class
    names += [f"interval{i:02d}" for i in range(7)]  # interval classes 0..6 co-occurrence
    names += ["chroma_entropy_mean", "chroma_entropy_std", "chroma_active_mean", "chroma_flux_mean",
              "chroma_flux_std", "key_clarity"]
    names += ["onset_rate", "onset_strength_mean", "onset_strength_std", "ioi_cv", "pulse_clarity",
              "onset_ac_peak_ratio", "tempo_bpm_log2"]
    # pitch structure of the harmonic part of the CQT (drums removed by HPSS), key-invariant
    names += ["poly_mean", "poly_std", "span_mean", "span_std", "top_change_rate", "bass_change_rate",
              "new_note_rate", "harm_flux_mean", "harm_flux_std"]
    names += [f"simul_ic{i:02d}" for i in range(12)]  # interval classes between simultaneous notes
    names += [f"top_step{i}" for i in range(6)]  # melodic step sizes of the top voice
    names += [f"pc_rot{i:02d}" for i in range(12)] + [f"pc_sorted{i:02d}" for i in range(12)]
    # 2-D Fourier magnitude of log-CQT patches: invariant to transposition and time shift
    names += [f"mod2d_p{i:02d}_t{j}" for i in range(MOD_PITCH) for j in range(MOD_TIME)]
    return names


SUMMARY_NAMES: list[str] = _summary_names()


def _spectrum(y: np.ndarray, p: FeatureParams) -> np.ndarray:
    return np.abs(librosa.stft(y, n_fft=p.n_fft, hop_length=p.hop_length)) ** 2


def mfcc_frames(y: np.ndarray, sr: int, *, S: np.ndarray | None = None,
                params: FeatureParams = FeatureParams()) -> np.ndarray:
    """MFCC frames ``(T, n_mfcc)`` from the power spectrogram ``S`` (computed if not given)."""
    S = _spectrum(y, params) if S is None else S
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_mels=params.n_mels)
    return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=params.n_mfcc).T.astype(np.float32)


def cqt_patches(y: np.ndarray, sr: int, *, C_db: np.ndarray | None = None,
                params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Log-CQT patches ``(P, n_cqt, n_frames)`` of ``patch_s`` seconds, half-overlapping; a short
    clip is zero-padded to one patch (float32, dB). A semitone per bin, so a convolution sees a
    transposed tune as the same shape moved up or down."""
    mel = cqt_db(y, sr, params) if C_db is None else C_db
    width = int(round(params.patch_s * sr / params.hop_length))
    if mel.shape[1] < width:
        mel = np.pad(mel, ((0, 0), (0, width - mel.shape[1])), constant_values=-100.0)
    starts = range(0, mel.shape[1] - width + 1, max(1, width // 2))
    return np.stack([mel[:, a: a + width] for a in starts]).astype(np.float32)


def cqt_db(y: np.ndarray, sr: int, params: FeatureParams = FeatureParams()) -> np.ndarray:
    """Log-magnitude constant-Q spectrogram ``(n_cqt, T)`` in dB (C2 upwards, a semitone a bin)."""
    C = np.abs(librosa.cqt(y, sr=sr, hop_length=params.hop_length, fmin=librosa.note_to_hz("C2"),
                           n_bins=params.n_cqt, bins_per_octave=12))
    return np.maximum(librosa.amplitude_to_db(C, ref=1.0, amin=1e-5, top_db=None), -100.0).astype(np.float32)


_STEP_EDGES = np.array([0.5, 2.5, 4.5, 7.5, 12.5, 24.5, np.inf])


def pitch_structure(C_db: np.ndarray, sr: int, params: FeatureParams = FeatureParams()) -> list[float]:
    """Key-invariant pitch statistics of a CQT (dB): polyphony, span, simultaneous intervals,
    top-voice steps, pitch-class profile; the harmonic part only (HPSS), so drums do not count."""
    mag = librosa.db_to_amplitude(C_db)
    H, _ = librosa.decompose.hpss(mag, kernel_size=(9, 17))
    Hdb = librosa.amplitude_to_db(H + 1e-9, ref=1.0, top_db=None)
    fmax = Hdb.max(0)
    loud = fmax > max(float(fmax.max()) - 40.0, -80.0)
    peak = np.zeros_like(Hdb, dtype=bool)
    peak[1:-1] = (Hdb[1:-1] > Hdb[:-2]) & (Hdb[1:-1] >= Hdb[2:])
    peak &= Hdb > (fmax - 15.0)[None, :]
    peak[:, ~loud] = False
    fps = sr / params.hop_length
    n_t = max(1, int(loud.sum()))
    poly = peak.sum(0)[loud] if loud.any() else np.zeros(1)
    tops, bots, spans = [], [], []
    ic = np.zeros(12)
    pc = np.zeros(12)
    for t in np.flatnonzero(loud):
        idx = np.flatnonzero(peak[:, t])
        if len(idx) == 0:
            tops.append(np.nan)
            bots.append(np.nan)
            continue
        tops.append(idx[-1])
        bots.append(idx[0])
        spans.append(idx[-1] - idx[0])
        np.add.at(pc, idx % 12, 1)
        if len(idx) > 1:
            d = (idx[None, :] - idx[:, None])[np.triu_indices(len(idx), 1)]
            np.add.at(ic, d % 12, 1)
    tops, bots = np.array(tops, float), np.array(bots, float)
    steps = np.abs(np.diff(tops[~np.isnan(tops)]))
    moves = steps[steps > 0]
    step_hist = np.histogram(moves, bins=_STEP_EDGES)[0] if len(moves) else np.zeros(6)
    bsteps = np.abs(np.diff(bots[~np.isnan(bots)]))
    new = (peak[:, 1:] & ~peak[:, :-1] & ~np.roll(peak[:, :-1], 1, 0) & ~np.roll(peak[:, :-1], -1, 0)).sum(0)
    hn = H / (H.sum(0, keepdims=True) + _EPS)
    hflux = np.maximum(np.diff(hn, axis=1), 0).sum(0)[loud[1:]] if H.shape[1] > 1 else np.zeros(1)
    hflux = hflux if hflux.size else np.zeros(1)
    spans_a = np.array(spans, float) if spans else np.zeros(1)
    pcn = pc / (pc.sum() + _EPS)
    out = [float(poly.mean()), float(poly.std()), float(spans_a.mean()), float(spans_a.std()),
           float((steps > 0).sum() * fps / n_t), float((bsteps > 0).sum() * fps / n_t),
           float((new > 0).sum() * fps / n_t), float(hflux.mean()), float(hflux.std())]
    out += list(ic / (ic.sum() + _EPS))
    out += list(step_hist / (step_hist.sum() + _EPS))
    out += list(np.roll(pcn, -int(np.argmax(pcn)))) + list(np.sort(pcn)[::-1])
    return out


def summary_vector(y: np.ndarray, sr: int, *, S: np.ndarray | None = None, C_db: np.ndarray | None = None,
                   params: FeatureParams = FeatureParams()) -> np.ndarray:
    """The clip vector named by :data:`SUMMARY_NAMES` (float32; finite even for silence)."""
    S = _spectrum(y, params) if S is None else S
    C_db = cqt_db(y, sr, params) if C_db is None else C_db
    mag = np.sqrt(S)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr, n_mels=params.n_mels))
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=20)
    dm = librosa.feature.delta(mfcc, mode="nearest") if mfcc.shape[1] >= 3 else np.zeros_like(mfcc)
    out: list[float] = [*mfcc.mean(1), *mfcc.std(1), *dm.std(1)]
    spec = [librosa.feature.spectral_centroid(S=mag, sr=sr)[0] / (sr / 2),
            librosa.feature.spectral_bandwidth(S=mag, sr=sr)[0] / (sr / 2),
            librosa.feature.spectral_rolloff(S=mag, sr=sr)[0] / (sr / 2),
            librosa.feature.spectral_flatness(S=mag)[0],
            librosa.amplitude_to_db(librosa.feature.rms(S=mag, frame_length=params.n_fft)[0], ref=1.0)]
    for v in spec:
        out += [float(np.mean(v)), float(np.std(v))]
    out += list(librosa.feature.spectral_contrast(S=mag, sr=sr).mean(1))

    chroma = librosa.feature.chroma_stft(S=S, sr=sr, tuning=0.0)  # per-frame max-normalised
    energy = S.sum(0)
    loud = energy > max(float(energy.max()) * 1e-4, _EPS)
    c = chroma[:, loud] if loud.any() else np.zeros((12, 1))
    prof = c.mean(1)
    prof = prof / (prof.sum() + _EPS)
    out += list(np.roll(prof, -int(np.argmax(prof))))  # key-invariant profile shape
    cn = c / (c.sum(0, keepdims=True) + _EPS)
    iv = np.array([np.mean(np.sum(cn * np.roll(cn, -k, axis=0), axis=0)) for k in range(7)])
    out += list(iv / (iv.sum() + _EPS))
    ent = -np.sum(cn * np.log2(cn + _EPS), axis=0)
    flux = np.sqrt(np.sum(np.diff(cn, axis=1) ** 2, axis=0)) if cn.shape[1] > 1 else np.zeros(1)
    # key clarity: best correlation of the profile with the 24 Krumhansl major/minor key profiles
    out += [float(ent.mean()), float(ent.std()), float((c > 0.5).sum(0).mean()), float(flux.mean()),
            float(flux.std()), _key_clarity(prof)]

    onset = librosa.onset.onset_strength(S=librosa.power_to_db(
        librosa.feature.melspectrogram(S=S, sr=sr, n_mels=params.n_mels)), sr=sr)
    dur = len(y) / sr
    frames = librosa.onset.onset_detect(onset_envelope=onset, sr=sr, hop_length=params.hop_length)
    times = librosa.frames_to_time(frames, sr=sr, hop_length=params.hop_length)
    ioi = np.diff(times)
    ioi_cv = float(ioi.std() / ioi.mean()) if len(ioi) >= 2 and ioi.mean() > 0 else 0.0
    on = onset - onset.mean()
    ac = np.correlate(on, on, mode="full")[len(on) - 1:]
    ac = ac / (ac[0] + _EPS)
    lo, hi = int(0.2 * sr / params.hop_length), min(len(ac) - 1, int(2.0 * sr / params.hop_length))
    seg = ac[lo:hi] if hi > lo else np.zeros(1)
    pulse = float(seg.max()) if seg.size else 0.0
    ratio = float(seg.max() / (np.median(np.abs(seg)) + 1e-3)) if seg.size else 0.0
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr,
                                                      hop_length=params.hop_length))[0])
    out += [len(times) / max(dur, _EPS), float(onset.mean()), float(onset.std()), ioi_cv, pulse,
            min(ratio, 100.0), float(np.log2(max(tempo, 1.0)))]
    out += pitch_structure(C_db, sr, params)
    out += list(modulation_2d(cqt_patches(y, sr, C_db=C_db, params=params)))
    vec = np.nan_to_num(np.asarray(out, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if len(vec) != len(SUMMARY_NAMES):  # a guard for whoever edits the lists above
        raise AssertionError(f"summary has {len(vec)} values for {len(SUMMARY_NAMES)} names")
    return vec.astype(np.float32)


_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _key_clarity(prof: np.ndarray) -> float:
    if not np.any(prof > 0) or np.std(prof) == 0:
        return 0.0
    best = max(np.corrcoef(prof, np.roll(k, s))[0, 1] for k in (_MAJOR, _MINOR) for s in range(12))
    return float(best)


def tag_input(y: np.ndarray, sr: int) -> np.ndarray:
    """musicnn MSD tag scores of a clip: per tag, mean then std over its 3 s patches (100 values).
    (MTT's tags are mostly instruments, which the styles corpus draws at random; MSD's are genres
    and moods.)"""
    from ..models.tagger import taggram

    g = taggram(y, sr, model="MSD")
    return np.concatenate([g.mean(0), g.std(0)]).astype(np.float32)


def tag_input_names() -> list[str]:
    """Names of :func:`tag_input`'s values (``<tag>_mean``, then ``<tag>_std``); needs the models extra."""
    from ..models.tagger import tags

    return [f"{t}_{s}" for s in ("mean", "std") for t in tags("MSD")]


INPUT_KINDS = ("frames", "summary", "patches", "tags")


def clip_inputs(y: np.ndarray, sr: int, params: FeatureParams = FeatureParams(),
                kinds: tuple[str, ...] = ("frames", "summary", "patches")) -> dict[str, np.ndarray]:
    """Every requested model input of one clip, from one STFT."""
    if y.ndim != 1 or len(y) == 0:
        raise ParameterError(f"expected a non-empty mono signal, got shape {y.shape}")
    if sr != params.sr:
        raise ParameterError(f"clip sample rate {sr} differs from the analysis rate {params.sr}")
    y = y[: int(params.max_duration_s * sr)]
    if len(y) < params.n_fft:
        y = np.pad(y, (0, params.n_fft - len(y)))
    unknown = set(kinds) - set(INPUT_KINDS)
    if unknown:
        raise ParameterError(f"unknown input kind(s) {sorted(unknown)}")
    S = _spectrum(y, params)
    C_db = cqt_db(y, sr, params) if {"summary", "patches"} & set(kinds) else None
    out = {}
    if "frames" in kinds:
        out["frames"] = mfcc_frames(y, sr, S=S, params=params)
    if "summary" in kinds:
        out["summary"] = summary_vector(y, sr, S=S, C_db=C_db, params=params)
    if "patches" in kinds:
        out["patches"] = cqt_patches(y, sr, C_db=C_db, params=params)
    if "tags" in kinds:
        out["tags"] = tag_input(y, sr)
    return out


def file_inputs(job: tuple[str, FeatureParams, tuple[str, ...], str | None]) -> dict[str, np.ndarray]:
    """Worker: decode one file and compute its inputs (a top-level function for ``run_map``).

    With a cache folder, inputs are kept in ``<cache>/<key>.npz``, the key hashing the file's path,
    size and mtime, the parameters and the feature version, so a changed file is recomputed.
    """
    path, params, kinds, cache = job
    target = None
    if cache:
        st = Path(path).stat()
        key = short_hash(str(Path(path).resolve()), st.st_size, st.st_mtime_ns, params.as_dict(),
                         sorted(kinds), FEATURE_VERSION, n=24)
        target = Path(cache) / f"{key}.npz"
        if target.is_file():
            try:
                with np.load(target) as z:
                    return {k: z[k] for k in kinds}
            except Exception:  # a damaged cache entry is recomputed
                pass
    y = load_clip_audio(path, sr=params.sr, duration=params.max_duration_s)
    out = clip_inputs(y, params.sr, params, kinds)
    if target is not None:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **out)
    return out
