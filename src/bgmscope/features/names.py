"""What every descriptor column means and its unit: the source of the table in docs/features.md
(regenerate it with ``python -m bgmscope.features.names``); a test checks both stay complete."""

from __future__ import annotations

import re

from .extract import FEATURE_NAMES, FEATURE_VERSION, ID_COLUMNS, META_COLUMNS
from .tonal import KEY_LABELS, PITCH_CLASSES

_CURVES = {
    "zcr": ("zero-crossing rate per 2048-sample frame (study 3.3.1.3)", "share of sample pairs, 0..1"),
    "centroid": ("spectral centroid, the magnitude-weighted mean frequency (study 3.3.1.4)", "Hz"),
    "bandwidth": ("spectral bandwidth, the magnitude-weighted spread around the centroid", "Hz"),
    "rolloff": ("spectral rolloff, the frequency below which 85 % of the magnitude lies", "Hz"),
    "flatness": ("spectral flatness of the power spectrum (geometric / arithmetic mean)", "0..1"),
    "flux": ("spectral flux: positive change of the L1-normalised spectrum from the previous frame", "0..sqrt 2"),
    "rms": ("root-mean-square energy per frame", "full scale (1.0 = digital peak)"),
    "onset_strength": ("onset strength: mean positive log-mel difference (librosa's envelope)", "dB"),
}
_STAT = {"mean": "mean over frames", "std": "standard deviation over frames",
         "p10": "10th percentile over frames", "p50": "median over frames", "p90": "90th percentile over frames"}
_CLIP = {
    "wave_peak": ("peak absolute sample of the clip (what the study's waveform is normalised by)", "full scale"),
    "zcr_per_s": ("the study's per-clip zero-crossing count, as a rate", "crossings per second"),
    "ltas_flatness": ("flatness of the clip's long-term average power spectrum (white noise ~ 1)", "0..1"),
    "rms_db_range": ("loudness dynamics: 95th minus 5th percentile of frame RMS", "dB"),
    "loudness_lufs": ("integrated loudness, ITU-R BS.1770-4 gating (silence: the floor -70)", "LUFS"),
    "key_pc": ("estimated key's tonic pitch class (0 = C ... 11 = B); categorical: not tested by rank, "
               "models see it as sin/cos of 2 pi pc / 12 (B next to C)", "pitch class (category)"),
    "key_mode": ("estimated key's mode; categorical (a 0/1 indicator for models, not tested by rank)",
                 "1 = major, 0 = minor (category)"),
    "key_strength": ("correlation of the mean chroma with the key's Temperley profile", "-1..1"),
    "study_relpitch_mean": ("the study's relative pitch curve (8000-sample blocks, sum (i+1)|X_i| / bins), mean", "arbitrary (grows with level and frequency)"),
    "study_relpitch_std": ("the study's relative pitch curve, standard deviation over blocks", "arbitrary"),
    "block_centroid_hz_mean": ("magnitude-weighted mean frequency of each 8000-sample block, mean", "Hz"),
    "block_centroid_hz_std": ("magnitude-weighted mean frequency of each 8000-sample block, std", "Hz"),
    "tempo_bpm": ("tempo; NaN (missing) when tempo_confidence < 0.4 (rhythm.MIN_CONFIDENCE)", "beats per minute"),
    "tempo_confidence": ("pulse clarity x metrical margin x agreement of 6 s windows: predicts a correct tempo", "0..1"),
    "beat_strength": ("mean onset strength on the beats / mean onset strength (the 卡点 quality)", "ratio (>1: accents on the beat)"),
    "beat_regularity": ("coefficient of variation of the inter-beat intervals", "ratio (0 = metronomic)"),
    "beat_rate": ("beats tracked per second", "1/s"),
    "onset_rate": ("onsets detected per second", "1/s"),
    "f0_voiced_ratio": ("share of frames with a pitched (voiced) f0", "0..1"),
    "f0_median_hz": ("median f0 over voiced frames (NaN if none)", "Hz"),
    "f0_mean_midi": ("mean f0 over voiced frames (NaN if none)", "MIDI note number"),
    "f0_std_st": ("standard deviation of f0 over voiced frames (NaN if none)", "semitones"),
    "f0_range_st": ("pitch range: 95th minus 5th percentile of voiced f0 (NaN if none)", "semitones"),
    "f0_change_rate": ("note changes (rounded f0 differs between voiced neighbours) per voiced second "
                       "(NaN if none)", "1/s"),
    "f0_confidence_mean": ("mean tracker confidence (1 - YIN aperiodicity; 0 in silence)", "0..1"),
}
_META = {
    "clip_id": ("the clip (hash of the audio, clip parameters and track; see the clips table)", "id"),
    "track_id": ("the song", "id"),
    "clip_kind": ("first, offset, two or hook (see prepare)", "text"),
    "clip_index": ("0, or 0/1 for two clips per song", "integer"),
    "feature_version": (f"extractor version that wrote the row (now {FEATURE_VERSION})", "integer"),
    "sample_rate": ("sample rate the clip was analysed at", "Hz"),
    "duration_s": ("clip length", "s"),
}


def describe(name: str) -> tuple[str, str]:
    """(meaning, unit) of a column of the features table."""
    if name in _META:
        return _META[name]
    if name in _CLIP:
        return _CLIP[name]
    m = re.fullmatch(r"(amp)(\d+)(d?)(mean|std|skew|kurt)", name)
    if m:
        what = "first difference of the " if m.group(3) else ""
        smooth = "the signal" if m.group(2) == "1" else f"the signal averaged over blocks of {m.group(2)} samples"
        stat = {"mean": "mean", "std": "standard deviation", "skew": "skewness (3rd standardised moment)",
                "kurt": "kurtosis (4th standardised moment, not excess)"}[m.group(4)]
        unit = "full scale" if m.group(4) in ("mean", "std") else "dimensionless"
        return f"study 4.3.1: {stat} of the {what}{smooth}", unit
    m = re.fullmatch(r"power(\d+)", name)
    if m:
        return (f"study 4.3.1: share of |FFT| (signal averaged by 5, bins 2..N/2) in band {m.group(1)} of 10",
                "share, the ten sum to 1")
    m = re.fullmatch(r"(.+)_(mean|std|p10|p50|p90)", name)
    if m:
        base, stat = m.groups()
        if base in _CURVES:
            meaning, unit = _CURVES[base]
            return f"{meaning}: {_STAT[stat]}", unit
        mm = re.fullmatch(r"(d?)mfcc(\d\d)", base)
        if mm:
            what = "frame-to-frame slope (delta, 9-frame Savitzky-Golay) of " if mm.group(1) else ""
            return (f"{what}MFCC {int(mm.group(2))} of 20 (128 Slaney mel bands, log power, DCT-II; study 3.3.1.5): "
                    f"{_STAT[stat]}", "dB-scaled cepstral units" + (" per frame" if mm.group(1) else ""))
        mm = re.fullmatch(r"contrast(\d)", base)
        if mm:
            k = int(mm.group(1))
            band = "0-100 Hz" if k == 1 else (f"{100 * 2 ** (k - 2)}-{100 * 2 ** (k - 1)} Hz" if k < 7 else "3200 Hz-Nyquist")
            return f"spectral contrast (peak vs valley) in band {k} ({band}): {_STAT[stat]}", "dB"
        mm = re.fullmatch(r"chroma_(\w+)", base)
        if mm and mm.group(1) in PITCH_CLASSES:
            return (f"chroma energy of pitch class {KEY_LABELS[PITCH_CLASSES.index(mm.group(1))]} "
                    f"(each frame scaled to max 1): {_STAT[stat]}", "0..1")
    raise KeyError(f"no description for column {name!r}")


def markdown_table() -> str:
    rows = ["| column | meaning | unit |", "|---|---|---|"]
    for name in list(ID_COLUMNS) + list(META_COLUMNS) + list(FEATURE_NAMES):
        meaning, unit = describe(name)
        rows.append(f"| `{name}` | {meaning} | {unit} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
