"""One clip in, one flat, named descriptor vector out: the extractor the whole project shares.

``extract_clip`` decodes nothing: it takes a mono signal, computes one STFT and hands it to every
spectral, tonal and rhythm descriptor, adds the time-domain ones, the f0 contour summary and the
seed's 42 statistics, and summarises frame-level curves by mean and std (plus chosen percentiles).
Column names are stable: changing what a column means bumps :data:`FEATURE_VERSION`, and every
name is documented in docs/features.md.

Two rules every reader of the table shares, defined here once:

- **Which columns are descriptors** (:func:`descriptor_columns`), and which of them are
  categorical (:data:`CATEGORICAL`: the key's pitch class and mode, stored as numbers but not
  quantities: C# is not "more" than C). Rank tests see only ``kind='numeric'``; a model that needs
  numbers gets them through :func:`encode_categorical` (the pitch class as a point on the chromatic
  circle, so B and C are neighbours; the mode as 0/1).
- **Missing is NaN**, never 0: a descriptor undefined for a clip (the f0 of a clip with no voiced
  frame) is NaN; models impute it inside their pipeline, rank tests drop the pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..tasks import keep_freed_memory
from . import loudness, pitch, rhythm, spectral, studypitch, temporal, tonal
from .spectrum import check_signal, single_threaded, stft
from .stats42 import STAT42_NAMES, stats42

FEATURE_VERSION = 6  # 2: tempo by pulse trains, Temperley keys, LUFS from spectrum; 3: f0 hop 24 ms;
#                     4: NaN (not 0) for undefined values, f0 of an unvoiced clip;
#                     5: the study's relative pitch is study_relpitch_* (was seed_relpitch_*);
#                     6: tempo's metrical level over the whole clip, tempo_confidence, NaN tempo below it
ID_COLUMNS = ("clip_id", "track_id", "clip_kind", "clip_index")
META_COLUMNS = ("feature_version", "sample_rate", "duration_s")
PERCENTILES = (10, 50, 90)

# frame-level curves summarised by mean and std; the ones in _PCT also by percentiles
_SCALAR_CURVES = ("zcr", "centroid", "bandwidth", "rolloff", "flatness", "flux", "rms", "onset_strength")
_PCT = ("centroid", "rolloff", "rms")


def _curve_names() -> list[str]:
    names = []
    for c in _SCALAR_CURVES:
        names += [f"{c}_mean", f"{c}_std"]
        if c in _PCT:
            names += [f"{c}_p{p}" for p in PERCENTILES]
    for i in range(1, spectral.CONTRAST_BANDS + 2):
        names += [f"contrast{i}_mean", f"contrast{i}_std"]
    for i in range(1, spectral.N_MFCC + 1):
        names += [f"mfcc{i:02d}_mean", f"mfcc{i:02d}_std"]
    for i in range(1, spectral.N_MFCC + 1):
        names += [f"dmfcc{i:02d}_mean", f"dmfcc{i:02d}_std"]
    for pc in tonal.PITCH_CLASSES:
        names += [f"chroma_{pc}_mean", f"chroma_{pc}_std"]
    return names


CLIP_NAMES = ("wave_peak", "zcr_per_s", "ltas_flatness", "rms_db_range", "loudness_lufs",
              "key_pc", "key_mode", "key_strength",
              "study_relpitch_mean", "study_relpitch_std", "block_centroid_hz_mean", "block_centroid_hz_std")

FEATURE_NAMES_NO_F0: tuple[str, ...] = tuple(_curve_names()) + CLIP_NAMES + rhythm.RHYTHM_NAMES + STAT42_NAMES
FEATURE_NAMES: tuple[str, ...] = FEATURE_NAMES_NO_F0 + pitch.PITCH_NAMES


def feature_names(*, include_f0: bool = True) -> list[str]:
    """The descriptor columns :func:`extract_clip` returns, in order."""
    return list(FEATURE_NAMES if include_f0 else FEATURE_NAMES_NO_F0)


# categorical descriptors stored as numbers -> number of categories (key_pc 0..11, key_mode 0/1)
CATEGORICAL: dict[str, int] = {"key_pc": 12, "key_mode": 2}
# f0 statistics over voiced frames: undefined (NaN) when a clip has none
VOICED_ONLY = ("f0_median_hz", "f0_mean_midi", "f0_std_st", "f0_range_st", "f0_change_rate")
DESCRIPTOR_KINDS = ("all", "numeric", "categorical")


def descriptor_columns(df: pd.DataFrame, kind: str = "all") -> list[str]:
    """The descriptor columns of a features frame, in the frame's order: the one definition.

    Every numeric column that is not an id or bookkeeping column (:data:`ID_COLUMNS`,
    :data:`META_COLUMNS`) is a descriptor, so frames of other origins (a reference set, a test's
    synthetic columns) work too. ``kind='numeric'`` leaves out the categorical ones
    (:data:`CATEGORICAL`), ``'categorical'`` keeps only those, ``'all'`` keeps both.

    Examples
    --------
    >>> df = pd.DataFrame({"clip_id": ["a"], "duration_s": [15.0], "key_pc": [9.0], "tempo_bpm": [120.0]})
    >>> descriptor_columns(df), descriptor_columns(df, "numeric"), descriptor_columns(df, "categorical")
    (['key_pc', 'tempo_bpm'], ['tempo_bpm'], ['key_pc'])
    """
    if kind not in DESCRIPTOR_KINDS:
        raise ValueError(f"kind must be one of {', '.join(DESCRIPTOR_KINDS)}, got {kind!r}")
    skip = set(ID_COLUMNS) | set(META_COLUMNS)
    cols = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]
    if kind == "numeric":
        return [c for c in cols if c not in CATEGORICAL]
    if kind == "categorical":
        return [c for c in cols if c in CATEGORICAL]
    return cols


feature_columns = descriptor_columns  # the package's first name for it (``bgmscope.features.feature_columns``)


def encode_categorical(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its categorical descriptors as numbers a model may use; other columns unchanged.

    ``key_pc`` becomes ``key_pc_sin`` and ``key_pc_cos`` (the pitch class as an angle, 2 pi pc / 12:
    B and C are as close as C and C#), ``key_mode`` stays its 0/1 indicator (1 = major). NaN stays
    NaN (impute after encoding). The encoding is fixed, not fitted, so it may run before a split.

    Examples
    --------
    >>> e = encode_categorical(pd.DataFrame({"key_pc": [0.0, 11.0, 6.0], "key_mode": [1.0, 0.0, 1.0]}))
    >>> list(e.columns)
    ['key_pc_sin', 'key_pc_cos', 'key_mode']
    >>> bool(np.hypot(*(e.iloc[0] - e.iloc[1])[:2]) < np.hypot(*(e.iloc[0] - e.iloc[2])[:2]))
    True
    """
    parts: dict[str, pd.Series] = {}
    for c in X.columns:
        v = pd.to_numeric(X[c], errors="coerce").astype(float)
        if c == "key_pc":
            angle = 2 * np.pi * np.mod(v, 12) / 12
            parts["key_pc_sin"], parts["key_pc_cos"] = np.sin(angle), np.cos(angle)
        elif c == "key_mode":
            parts[c] = (v > 0.5).astype(float).where(v.notna())
        else:
            parts[c] = X[c]
    return pd.DataFrame(parts, index=X.index)


def source_column(name: str) -> str:
    """The stored column an encoded name comes from (``key_pc_sin`` -> ``key_pc``); others as given."""
    return "key_pc" if name in ("key_pc_sin", "key_pc_cos") else name


def source_columns(names: list[str]) -> list[str]:
    """Stored columns behind ``names`` (encoded names mapped back), each once, in order."""
    return list(dict.fromkeys(source_column(n) for n in names))


_ROW_NAMES = (list(_SCALAR_CURVES) + [f"contrast{i}" for i in range(1, spectral.CONTRAST_BANDS + 2)]
              + [f"mfcc{i:02d}" for i in range(1, spectral.N_MFCC + 1)]
              + [f"dmfcc{i:02d}" for i in range(1, spectral.N_MFCC + 1)]
              + [f"chroma_{pc}" for pc in tonal.PITCH_CLASSES])


def extract_clip(y: np.ndarray, sr: int, *, include_f0: bool = True) -> dict[str, float]:
    """The full descriptor vector of one mono clip, keyed by :func:`feature_names`.

    Works on any signal (a file outside the catalog too). Silence and very short input give
    finite values except where a descriptor is undefined: the f0 statistics over voiced frames
    (:data:`VOICED_ONLY`) are NaN for a clip with no voiced frame. Raises ``ParameterError`` for non-mono, non-float or non-finite input.

    Examples
    --------
    >>> import numpy as np
    >>> sr = 16000; t = np.arange(2 * sr) / sr
    >>> v = extract_clip((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    >>> round(v["f0_median_hz"]), bool(abs(v["centroid_mean"] - 440) < 20)  # window leakage lifts the centroid a little
    (440, True)
    """
    y = check_signal(y, sr)
    keep_freed_memory()  # the next clip reuses this one's pages: no page fault per new array
    with single_threaded():
        return _extract(y, int(sr), include_f0)


def _extract(y: np.ndarray, sr: int, include_f0: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    spec = stft(y, sr)
    cent = spectral.centroid(spec)
    env = rhythm.onset_strength(spec)
    r, zcr, zcr_per_s = temporal.rms_zcr(y, sr)
    roll, flux = spectral.rolloff_and_flux(spec)
    curves = {
        "zcr": zcr,
        "centroid": cent,
        "bandwidth": spectral.bandwidth(spec, cent),
        "rolloff": roll,
        "flatness": spectral.flatness(spec),
        "flux": flux,
        "rms": r,
        "onset_strength": env,
    }
    # every frame-level row in one matrix: two reductions instead of ~130
    mf = spectral.mfcc(spec)
    ch = tonal.chroma(spec)
    blocks = [np.vstack([np.asarray(curves[c], dtype=np.float64) for c in _SCALAR_CURVES]),
              spectral.contrast(spec), mf, spectral.delta(mf), ch]
    X = np.vstack([np.asarray(b, dtype=np.float64) for b in blocks])
    if X.shape[1]:
        means, stds = X.mean(axis=1), X.std(axis=1)
        pct = np.percentile(X[[_SCALAR_CURVES.index(c) for c in _PCT]], PERCENTILES, axis=1)
    else:
        means = stds = np.zeros(X.shape[0])
        pct = np.zeros((len(PERCENTILES), len(_PCT)))
    for i, name in enumerate(_ROW_NAMES):
        out[f"{name}_mean"] = float(means[i])
        out[f"{name}_std"] = float(stds[i])
    for j, c in enumerate(_PCT):
        for i, p in enumerate(PERCENTILES):
            out[f"{c}_p{p}"] = float(pct[i, j])

    out["wave_peak"] = float(np.max(np.abs(y))) if y.size else 0.0
    out["zcr_per_s"] = zcr_per_s
    out["ltas_flatness"] = spectral.ltas_flatness(spec) if spec.n_frames else 0.0
    out["rms_db_range"] = loudness.db_range(r)
    out["loudness_lufs"] = loudness.integrated_loudness(y, sr, spec=spec)
    tonic, mode, strength = tonal.estimate_key(ch.mean(axis=1) if ch.shape[1] else np.zeros(12))
    out["key_pc"] = float(tonic)
    out["key_mode"] = 1.0 if mode == "major" else 0.0
    out["key_strength"] = float(strength)
    mags = studypitch.block_spectra(y)
    rp = studypitch.study_relative_pitch(y, mags=mags)
    bc = studypitch.block_centroid_hz(y, sr, mags=mags)
    out["study_relpitch_mean"] = float(rp.mean()) if rp.size else 0.0
    out["study_relpitch_std"] = float(rp.std()) if rp.size else 0.0
    out["block_centroid_hz_mean"] = float(bc.mean()) if bc.size else 0.0
    out["block_centroid_hz_std"] = float(bc.std()) if bc.size else 0.0

    beats = rhythm.beat_track(None, sr, onset_envelope=env, hop_length=spec.hop_length)
    out.update(rhythm.rhythm_summary(beats, y.size / sr))
    out.update(zip(STAT42_NAMES, map(float, stats42(y, sr)), strict=True))
    if include_f0:
        contour = pitch.f0_contour(y, sr)
        out.update(pitch.pitch_summary(contour))
        if not np.any(contour.voiced):  # no voiced frame: no pitch to summarise (missing, not 0 Hz)
            out.update(dict.fromkeys(VOICED_ONLY, np.nan))
    # infinities are not values either: missing
    return {k: (float(out[k]) if np.isfinite(out[k]) else np.nan)
            for k in (FEATURE_NAMES if include_f0 else FEATURE_NAMES_NO_F0)}


def clip_curves(y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """Frame-level curves for figures: waveform envelope, centroid, zcr, rms, the seed's relative
    pitch and the f0 contour, each with its own time axis (``<name>_t`` in seconds)."""
    y = check_signal(y, sr)
    with single_threaded():
        spec = stft(y, sr)
        t_env, lo, hi = temporal.envelope(y, sr)
        c = pitch.f0_contour(y, sr)
        rp = studypitch.study_relative_pitch(y)
        return {
            "envelope_t": t_env, "envelope_min": lo, "envelope_max": hi,
            "frame_t": spec.times, "centroid": spectral.centroid(spec),
            "zcr": temporal.zero_crossing_rate(y)[: spec.n_frames], "rms": temporal.rms(y)[: spec.n_frames],
            "relpitch_t": (np.arange(rp.size) + 0.5) * studypitch.BLOCK / sr, "relpitch": rp,
            "f0_t": c.times, "f0_hz": c.f0_hz,
        }
