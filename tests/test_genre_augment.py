"""Augmentations keep length and finiteness and change what they should; renderers and the
multi-renderer styles corpus (skipped when a SoundFont or TiMidity++ is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from bgmscope.errors import ParameterError
from bgmscope.genre import augment as A
from bgmscope.genre.render import available_renderers, get_renderer, render, renderers
from bgmscope.genre.styles import build_styles_corpus, piece_split, plan_styles

SR = 16000


def _music(seconds: float = 3.0) -> np.ndarray:
    """Plucked notes (sharp onsets, decays, harmonics) with silence between them."""
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    for k, f in enumerate([220, 330, 440, 262, 392, 523]):
        a = int(k * 0.5 * SR)
        tt = t[: int(0.25 * SR)]
        note = sum(np.sin(2 * np.pi * f * h * tt) / h for h in (1, 2, 3, 4)) * np.exp(-tt * 12)
        y[a: a + len(note)] += note
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def _centroid(y: np.ndarray) -> float:
    S = np.abs(np.fft.rfft(y))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    return float((S * f).sum() / S.sum())


@pytest.mark.parametrize("fn", [
    lambda y: A.room_reverb(y, SR, rt60=0.6, wet=0.5, rng=np.random.default_rng(1)),
    lambda y: A.eq_tilt(y, SR, db_per_octave=4.0),
    lambda y: A.compress(y, SR, threshold_db=-30, ratio=6),
    lambda y: A.mp3_reencode(y, SR, kbps=32),
    lambda y: A.gain(y, -6.0),
    lambda y: A.random_chain(y, SR, np.random.default_rng(3))[0],
], ids=["reverb", "eq", "compress", "mp3", "gain", "chain"])
def test_every_augmentation_keeps_length_and_finite_float32(fn):
    y = _music()
    y[100] = np.nan  # a stray non-finite sample must not spread
    z = fn(y)
    assert z.shape == y.shape and z.dtype == np.float32
    assert np.isfinite(z).all() and np.max(np.abs(z)) <= 1.0
    assert not np.allclose(z, np.nan_to_num(y), atol=1e-4)  # it did change the audio


def test_reverb_fills_the_silence_between_notes():
    y = _music()
    z = A.room_reverb(y, SR, rt60=0.8, wet=0.5, rng=np.random.default_rng(0))
    gap = slice(int(0.3 * SR), int(0.5 * SR))  # after the first note has decayed
    assert np.sqrt(np.mean(z[gap] ** 2)) > 5 * np.sqrt(np.mean(y[gap] ** 2)) + 1e-6
    assert np.isclose(np.sqrt(np.mean(z ** 2)), np.sqrt(np.mean(y ** 2)), rtol=1e-3)  # level-matched
    h = A.room_ir(SR, 0.5, np.random.default_rng(0))
    e = np.cumsum(h[::-1] ** 2)[::-1]  # Schroeder decay: -60 dB near rt60
    assert 10 * np.log10(e[int(0.45 * SR)] / e[0]) < -40
    with pytest.raises(ParameterError):
        A.room_reverb(y, SR, wet=1.5)


def test_eq_tilt_moves_the_spectral_centroid_its_way():
    y = _music()
    c = _centroid(y)
    assert _centroid(A.eq_tilt(y, SR, db_per_octave=4)) > 1.15 * c
    assert _centroid(A.eq_tilt(y, SR, db_per_octave=-4)) < 0.85 * c
    with pytest.raises(ParameterError):
        A.eq_tilt(y, SR, db_per_octave=40)


def test_compression_narrows_the_dynamic_range():
    t = np.arange(2 * SR) / SR
    y = np.sin(2 * np.pi * 300 * t) * np.where(t < 1, 0.9, 0.05)  # loud then quiet
    z = A.compress(y, SR, threshold_db=-30, ratio=8)
    before = np.sqrt(np.mean(y[: SR] ** 2)) / np.sqrt(np.mean(y[SR + 2000:] ** 2))
    after = np.sqrt(np.mean(z[: SR] ** 2)) / np.sqrt(np.mean(z[SR + 2000:] ** 2))
    assert after < before / 3
    with pytest.raises(ParameterError):
        A.compress(y, SR, ratio=0.5)


def test_mp3_round_trip_is_aligned_and_lossy():
    y = _music() + np.random.default_rng(0).normal(0, 0.02, int(3 * SR)).astype(np.float32)
    z = A.mp3_reencode(y, SR, kbps=32)
    assert np.corrcoef(y, z)[0, 1] > 0.9  # the codec delay is removed
    hi = np.fft.rfftfreq(len(y), 1 / SR) > 7000  # the encoder's low-pass
    assert np.sum(np.abs(np.fft.rfft(z))[hi] ** 2) < 0.5 * np.sum(np.abs(np.fft.rfft(y))[hi] ** 2)
    z128 = A.mp3_reencode(y, SR, kbps=128)
    assert np.mean((z - y) ** 2) > np.mean((z128 - y) ** 2)  # fewer bits, more error
    with pytest.raises(ParameterError):
        A.mp3_reencode(y, SR, kbps=320)  # above MPEG-2's range at 16 kHz


def test_gain_and_the_seeded_chain():
    y = _music()
    assert np.allclose(A.gain(y, 6.0206), np.clip(2 * y, -1, 1), atol=1e-5)
    assert np.max(np.abs(A.gain(y, 40))) == pytest.approx(1.0)
    z1, p1 = A.random_chain(y, SR, np.random.default_rng(7))
    z2, p2 = A.random_chain(y, SR, np.random.default_rng(7))
    assert p1 == p2 and np.array_equal(z1, z2) and "gain_db" in p1


def test_renderer_registry_names_the_install_command():
    known = renderers()
    assert set(known) == {"timgm6mb", "fluidr3", "musescore", "timidity"} and known["timgm6mb"].available
    with pytest.raises(ParameterError, match="unknown renderer"):
        get_renderer("nope")
    absent = [n for n, r in known.items() if not r.available]
    for n in absent:
        with pytest.raises(ParameterError, match="apt-get install"):
            get_renderer(n)


def _pm():
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, p in enumerate([60, 64, 67, 72]):
        inst.notes.append(pretty_midi.Note(velocity=100, pitch=p, start=0.3 * i, end=0.3 * i + 0.28))
    pm.instruments.append(inst)
    return pm


def _band_profile_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |difference| in dB of two signals' average mel-band levels, each under its loudest band."""
    import librosa

    def profile(y):
        m = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, n_mels=40).mean(axis=1))
        return m - m.max()

    return float(np.mean(np.abs(profile(a) - profile(b))))


@pytest.mark.parametrize("name", ["timidity", "fluidr3", "musescore"])
def test_other_renderers_play_and_sound_different(name):
    if name not in available_renderers():
        pytest.skip(f"{name} not installed ({renderers()[name].install})")
    a = render(_pm(), "timgm6mb", sr=SR)
    b = render(_pm(), name, sr=SR)
    assert b.dtype == np.float32 and np.max(np.abs(b)) == pytest.approx(0.99, abs=1e-3)
    assert len(b) > 1.2 * SR
    n = min(len(a), len(b))
    # another instrument sound: the mel-band profile (dB under its loudest band) differs by > 2 dB on
    # average; the same renderer twice differs by < 0.1 dB (FreePats' piano shares TimGM6mb's
    # centroid within 3 Hz, so a centroid test cannot tell them apart)
    assert _band_profile_gap(a[:n], b[:n]) > 2.0
    assert _band_profile_gap(a[:n], render(_pm(), "timgm6mb", sr=SR)[:n]) < 0.1


def test_plan_excludes_training_pieces_and_splits_them_for_good():
    first = plan_styles(3, styles=["trecento"], seed=0)
    held = plan_styles(3, styles=["trecento"], seed=1, exclude_groups={r.group for r in first})
    assert held and not {r.group for r in first} & {r.group for r in held}
    tr = plan_styles(3, styles=["trecento"], split="train")
    te = plan_styles(3, styles=["trecento"], seed=1, split="test")
    assert {piece_split(r.group) for r in tr} == {"train"} and {piece_split(r.group) for r in te} == {"test"}
    assert plan_styles(6, styles=["trecento"], split="train")[:5] == tr[:5]  # a larger corpus extends a smaller
    with pytest.raises(ParameterError):
        plan_styles(3, split="validation")


def test_multi_renderer_augmented_corpus(tmp_path):
    names = [n for n in ("fluidr3", "timidity") if n in available_renderers()]
    if not names:
        pytest.skip("needs FluidR3_GM or timidity (apt-get install fluid-soundfont-gm timidity freepats)")
    rs = ("timgm6mb", names[0])
    c = build_styles_corpus(tmp_path / "c", per_class=2, styles=("irish-fiddle", "chinese-folk"), length_s=2.0,
                            renderers=rs, augment=True, jobs=1, show_progress=False)
    m = c.manifest
    assert len(m) == 2 * 2 * 2 and set(m["renderer"]) == set(rs)
    assert m["augment_seed"].notna().all() and m["clip_id"].str.contains(r"@.*\+aug").all()
    assert (m.groupby("group")["renderer"].nunique() == 2).all()  # both renderings share the piece
    for p in m["path"]:
        y, sr = sf.read(str(tmp_path / "c" / p))
        assert sr == SR and len(y) == 2 * SR and np.isfinite(y).all()
    with pytest.raises(ParameterError, match="renders_per_clip"):
        build_styles_corpus(tmp_path / "d", per_class=2, renderers=rs, renders_per_clip=3)
