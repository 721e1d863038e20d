"""Feature extraction: known answers on audio the tests make, and bad input."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
from conftest import clicks, sine

from bgmscope.errors import ParameterError
from bgmscope.features import STAT42_NAMES, extract_clip, f0_contour, feature_names, stats42
from bgmscope.features.extract import VOICED_ONLY
from bgmscope.features.loudness import integrated_loudness
from bgmscope.features.rhythm import beat_track
from bgmscope.features.tonal import estimate_key

SR = 16000


def noise(seconds: float, seed: int = 0, amp: float = 0.1) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def harmonic(freqs: list[float], seconds: float, n_harm: int = 4) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = sum(sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, n_harm + 1)) for f in freqs)
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


# --- the seed's own code (section 3.3.2), verbatim but for names, as the reference -----------------
def study_tfeatures(x):
    mean = x.mean()
    std = x.var() ** 0.5
    skewness = ((x - mean) ** 3).mean() / std ** 3
    kurtosis = ((x - mean) ** 4).mean() / std ** 4
    return [mean, std, skewness, kurtosis]


def study_ffeatures(x):
    x = np.array(x)
    x = x.reshape(-1, 5).mean(1)
    fft = np.fft.fft(x)
    fft = fft[2: (fft.size // 2 + 1)]
    fft = abs(fft)
    power = fft.sum()
    fft = np.array_split(fft, 10)
    return [i.sum() / power for i in fft]


def seed_42(x):
    x = np.asarray(x, dtype=np.float64)
    amp, diff = [], []
    for w in (1, 10, 100, 1000):
        xs = x if w == 1 else x.reshape(-1, w).mean(1)
        amp += study_tfeatures(xs)
        diff += study_tfeatures(xs[1:] - xs[:-1])
    return np.array(amp + diff + study_ffeatures(x))


def test_stat42_names_are_the_seeds():
    assert len(STAT42_NAMES) == 42
    assert STAT42_NAMES[:4] == ("amp1mean", "amp1std", "amp1skew", "amp1kurt")
    assert STAT42_NAMES[15] == "amp1000kurt" and STAT42_NAMES[16] == "amp1dmean"
    assert STAT42_NAMES[31] == "amp1000dkurt" and STAT42_NAMES[32] == "power1"
    assert STAT42_NAMES[-1] == "power10"
    assert set(STAT42_NAMES) <= set(feature_names())


@pytest.mark.parametrize("y", [harmonic([220], 3), noise(3), clicks(100, 3) + noise(3, amp=0.01)])
def test_stats42_matches_the_seed_code(y):
    ours = stats42(y, SR)
    ref = seed_42(y[: len(y) // 1000 * 1000])
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)


def test_stats42_known_moments():
    v = dict(zip(STAT42_NAMES, stats42(sine(50, 4, amp=0.8), SR), strict=True))
    assert abs(v["amp1mean"]) < 1e-4
    assert v["amp1std"] == pytest.approx(0.8 / np.sqrt(2), rel=1e-3)
    assert v["amp1kurt"] == pytest.approx(1.5, rel=1e-3)  # kurtosis of a sinusoid
    assert abs(v["amp1skew"]) < 1e-3
    shares = np.array([v[f"power{i}"] for i in range(1, 11)])
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0] > 0.9  # 50 Hz lies in the lowest of ten bands
    g = dict(zip(STAT42_NAMES, stats42(noise(4, amp=0.2), SR), strict=True))
    assert g["amp1kurt"] == pytest.approx(3.0, abs=0.1)  # Gaussian
    assert g["amp1dstd"] == pytest.approx(0.2 * np.sqrt(2), rel=0.02)  # difference of iid noise


def test_silence_and_constants_are_defined():
    for y in (np.zeros(SR * 3, np.float32), np.full(SR * 3, 0.25, np.float32)):
        v = stats42(y, SR)
        assert np.isfinite(v).all()
    assert not stats42(np.zeros(SR * 3, np.float32), SR).any()
    v = extract_clip(np.zeros(SR * 5, np.float32), SR)
    # silence has no pitch and no pulse: the voiced-frame statistics and the tempo are missing
    # (NaN), everything else defined
    assert [k for k, x in v.items() if not np.isfinite(x)] == ["tempo_bpm", *VOICED_ONLY]
    for k in ["zcr_mean", "centroid_mean", "rolloff_mean", "bandwidth_mean", "rms_mean", "flux_mean",
              "onset_rate", "tempo_confidence", "f0_voiced_ratio", "chroma_c_mean",
              "amp1std", "power1", "study_relpitch_mean", "key_strength"]:
        assert v[k] == 0.0, k
    assert v["loudness_lufs"] == -70.0  # the documented floor


@pytest.mark.parametrize("freq", [110.0, 440.0, 1000.0])
def test_sine_gives_centroid_and_f0(freq):
    v = extract_clip(sine(freq, 4), SR)
    assert v["centroid_mean"] == pytest.approx(freq, rel=0.03)
    assert v["f0_median_hz"] == pytest.approx(freq, rel=0.005)
    assert v["f0_voiced_ratio"] > 0.95
    assert v["f0_range_st"] < 0.2


def test_f0_contour_follows_steps_and_reports_unvoiced():
    y = np.concatenate([sine(196, 1), np.zeros(SR, np.float32), sine(523.25, 1)])
    c = f0_contour(y, SR)
    assert c.times.shape == c.f0_hz.shape == c.voiced.shape == c.confidence.shape
    first = c.f0_hz[(c.times > 0.1) & (c.times < 0.9)]
    gap = (c.times > 1.1) & (c.times < 1.9)
    last = c.f0_hz[(c.times > 2.1) & (c.times < 2.9)]
    assert np.nanmedian(first) == pytest.approx(196, rel=0.005)
    assert np.nanmedian(last) == pytest.approx(523.25, rel=0.005)
    assert not c.voiced[gap].any() and np.isnan(c.f0_hz[gap]).all()
    assert (c.confidence >= 0).all() and (c.confidence <= 1).all()


def test_f0_on_a_soundfont_melody_with_known_notes():
    from bgmscope.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=73)  # flute
    notes = [60, 62, 64, 65, 67, 69, 71, 72, 67, 64]
    for i, p in enumerate(notes):
        inst.notes.append(pretty_midi.Note(100, p, 0.5 * i, 0.5 * i + 0.45))
    pm.instruments.append(inst)
    y = render_midi(pm, sr=SR, stereo=False)
    c = f0_contour(y, SR)
    hits = total = 0
    for i, p in enumerate(notes):  # the steady middle of each note
        sel = (c.times > 0.5 * i + 0.1) & (c.times < 0.5 * i + 0.35)
        total += sel.sum()
        cents = 1200 * np.abs(np.log2(c.f0_hz[sel] / pretty_midi.note_number_to_hz(p)))
        hits += int(np.sum(cents < 50))
    assert hits / total > 0.9


@pytest.mark.parametrize("bpm", [120.0, 90.0, 140.0])
def test_click_track_tempo(bpm):
    b = beat_track(clicks(bpm, 15), SR)
    assert b.tempo_bpm == pytest.approx(bpm, abs=1.0)
    assert b.confidence > 0.5
    ibi = np.diff(b.beat_times)
    assert np.median(ibi) == pytest.approx(60 / bpm, abs=0.035)  # one frame is 32 ms
    assert len(b.onset_times) == pytest.approx(15 * bpm / 60, abs=2)


def test_beat_track_accepts_an_onset_envelope():
    from bgmscope.features.rhythm import onset_strength
    from bgmscope.features.spectrum import stft

    env = onset_strength(stft(clicks(120, 12), SR))
    b = beat_track(None, SR, onset_envelope=env)
    assert b.tempo_bpm == pytest.approx(120, abs=1)
    with pytest.raises(ParameterError):
        beat_track(None, SR)
    with pytest.raises(ParameterError):
        beat_track(None, SR, onset_envelope=np.array([0.0, np.nan]))


def test_c_major_triad_gives_c_major():
    midi = [60, 64, 67]
    v = extract_clip(harmonic([pretty_midi.note_number_to_hz(m) for m in midi], 4), SR)
    assert (v["key_pc"], v["key_mode"]) == (0.0, 1.0)
    assert v["key_strength"] > 0.5
    v = extract_clip(harmonic([pretty_midi.note_number_to_hz(m) for m in (57, 60, 64)], 4), SR)
    assert (v["key_pc"], v["key_mode"]) == (9.0, 0.0)  # A minor
    assert estimate_key(np.zeros(12)) == (0, "major", 0.0)


def test_soundfont_c_major_chord_gives_c_major():
    from bgmscope.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for k in range(4):
        for p in (48, 60, 64, 67):
            piano.notes.append(pretty_midi.Note(90, p, k, k + 0.95))
    pm.instruments.append(piano)
    v = extract_clip(render_midi(pm, sr=SR, stereo=False), SR)
    assert (v["key_pc"], v["key_mode"]) == (0.0, 1.0)
    assert v["chroma_c_mean"] > v["chroma_d_mean"] and v["chroma_g_mean"] > v["chroma_fs_mean"]


def test_white_noise_is_flat_and_a_sine_is_not():
    v = extract_clip(noise(5), SR)
    assert v["ltas_flatness"] > 0.9  # long-term spectrum of white noise
    # per frame, a power spectrum of white noise is exponential: E[gmean/mean] = exp(-gamma) = 0.56
    assert v["flatness_mean"] == pytest.approx(np.exp(-np.euler_gamma), abs=0.05)
    assert v["centroid_mean"] == pytest.approx(SR / 4, rel=0.05)
    s = extract_clip(sine(440, 5), SR)
    assert s["flatness_mean"] < 0.01 and s["ltas_flatness"] < 0.05


def test_loudness_lufs_reference_tones():
    t = np.arange(SR * 5) / SR
    full = np.sin(2 * np.pi * 997 * t)
    assert integrated_loudness(full, SR) == pytest.approx(-3.01, abs=0.15)  # BS.1770 reference
    assert integrated_loudness(0.1 * full, SR) == pytest.approx(-23.01, abs=0.15)
    assert integrated_loudness(np.zeros(SR), SR) == -70.0


def test_louder_and_busier_clips_read_so():
    quiet, loud = extract_clip(0.05 * harmonic([220], 3), SR), extract_clip(harmonic([220], 3), SR)
    assert loud["rms_mean"] > 5 * quiet["rms_mean"]
    assert loud["loudness_lufs"] > quiet["loudness_lufs"] + 20
    slow, fast = extract_clip(clicks(60, 10), SR), extract_clip(clicks(180, 10), SR)
    assert fast["onset_rate"] > 2 * slow["onset_rate"]


def test_bad_input_fails_fast():
    with pytest.raises(ParameterError):
        extract_clip(np.zeros((2, SR), np.float32), SR)  # stereo
    with pytest.raises(ParameterError):
        extract_clip(np.zeros(SR, np.int16), SR)
    y = sine(440, 1)
    y[10] = np.nan
    with pytest.raises(ParameterError):
        extract_clip(y, SR)
    with pytest.raises(ParameterError):
        extract_clip(sine(440, 1), 0)
    with pytest.raises(ParameterError):
        f0_contour(sine(440, 1), SR, fmin=500, fmax=100)


@pytest.mark.parametrize("n", [0, 1, 100, 3000])
def test_tiny_input_gives_finite_vectors(n):
    v = extract_clip(noise(1)[:n], SR)
    assert list(v) == feature_names()
    assert all(np.isfinite(x) for k, x in v.items() if k not in (*VOICED_ONLY, "tempo_bpm"))
    assert all(np.isnan(v[k]) for k in VOICED_ONLY)  # no voiced frame: no pitch, not 0 Hz
    assert np.isnan(v["tempo_bpm"])  # a second of noise has no pulse: no tempo, not 0 BPM


def test_noise_has_no_pitch_so_its_f0_is_missing_not_zero():
    v = extract_clip(noise(3), SR)
    assert v["f0_voiced_ratio"] == 0.0  # a value: no frame is voiced
    assert np.isnan(v["f0_mean_midi"]) and np.isnan(v["f0_median_hz"])  # undefined, not MIDI note 0
    sung = extract_clip(sine(220, 3), SR)
    assert sung["f0_mean_midi"] == pytest.approx(57.0, abs=0.1)  # A3


def test_descriptor_columns_are_one_rule_with_categorical_keys():
    import pandas as pd

    from bgmscope.features.extract import (
        CATEGORICAL,
        descriptor_columns,
        encode_categorical,
        feature_columns,
    )

    df = pd.DataFrame([extract_clip(sine(330, 2), SR)]).assign(clip_id="c", track_id="t", clip_kind="first",
                                                               clip_index=0, duration_s=2.0, flag=True)
    assert descriptor_columns(df) == feature_names() == feature_columns(df)  # ids, meta, bools left out
    assert descriptor_columns(df, "categorical") == ["key_pc", "key_mode"] == list(CATEGORICAL)
    numeric = descriptor_columns(df, "numeric")
    assert "key_pc" not in numeric and "key_mode" not in numeric and "key_strength" in numeric
    with pytest.raises(ValueError):
        descriptor_columns(df, "ordinal")
    # circular: B (11) is as near C (0) as C# (1) is, and the tritone (6) is the farthest
    e = encode_categorical(pd.DataFrame({"key_pc": [0.0, 11.0, 1.0, 6.0, np.nan],
                                         "key_mode": [1.0, 0.0, 1.0, 0.0, np.nan]}))
    assert list(e.columns) == ["key_pc_sin", "key_pc_cos", "key_mode"]
    pts = e[["key_pc_sin", "key_pc_cos"]].to_numpy()
    d = np.linalg.norm(pts[:4] - pts[0], axis=1)
    assert d[1] == pytest.approx(d[2]) and d[1] < d[3] and d[3] == pytest.approx(2.0)
    assert e["key_mode"].tolist()[:4] == [1.0, 0.0, 1.0, 0.0] and e.iloc[4].isna().all()  # NaN stays NaN


def test_same_input_same_output():
    y = noise(3) + sine(330, 3)
    assert extract_clip(y, SR) == extract_clip(y.copy(), SR)


def test_every_column_is_described_and_documented():
    from pathlib import Path

    from bgmscope.features.extract import ID_COLUMNS, META_COLUMNS
    from bgmscope.features.names import describe, markdown_table

    for name in list(ID_COLUMNS) + list(META_COLUMNS) + feature_names():
        meaning, unit = describe(name)
        assert meaning and unit
    with pytest.raises(KeyError):
        describe("no_such_column")
    doc = Path(__file__).resolve().parents[1] / "docs" / "features.md"
    assert markdown_table() in doc.read_text(encoding="utf-8")  # regenerate with python -m bgmscope.features.names


def test_clip_curves_for_figures():
    from bgmscope.features.extract import clip_curves

    y = sine(330, 3) + clicks(120, 3)
    c = clip_curves(y, SR)
    assert c["envelope_min"].min() >= -1.0 and c["envelope_max"].max() == pytest.approx(1.0)
    assert c["frame_t"].shape == c["centroid"].shape == c["zcr"].shape == c["rms"].shape
    assert c["relpitch"].size == 3 * SR // 8000 and c["relpitch_t"].size == c["relpitch"].size
    assert np.nanmedian(c["f0_hz"]) == pytest.approx(330, rel=0.01)


def test_a_clip_after_the_first_reuses_freed_memory():
    """extract_clip keeps freed arrays in glibc's heap: the next clip's arrays reuse their pages
    instead of faulting fresh ones in (~3,800 faults, a third of a clip's CPU, before)."""
    import platform
    import resource

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator setting is glibc's")
    import os

    from bgmscope.tasks import _dask_default_trim, keep_freed_memory

    # a LocalCluster started earlier in this process leaves its nanny's value in os.environ: that one
    # is not the user's (keep_freed_memory overrides it), so the test still runs
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")) and not _dask_default_trim():
        pytest.skip("the user's allocator setting stands")

    y = (harmonic([220.0, 330.0], 15.0) + noise(15.0, amp=0.02)).astype(np.float32)
    extract_clip(y, SR)
    assert keep_freed_memory()
    extract_clip(y, SR)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    extract_clip(y, SR)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 400, faults  # a 15 s clip touches ~15 MB of arrays: 3,800 pages if fresh
