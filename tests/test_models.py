"""The pretrained models (bgmscope.models, the [models] extra): each gives its reference output,
tags are scores, odd clips crash nothing, Basic Pitch hears a chord. Skipped without onnxruntime."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

pytest.importorskip("onnxruntime")

from bgmscope.errors import ParameterError  # noqa: E402
from bgmscope.models import pitch, runtime, tagger  # noqa: E402

WEIGHTS = runtime.WEIGHTS


def test_a_missing_model_file_names_the_extra(tmp_path):
    with pytest.raises(ParameterError, match=r"bgmscope\[models\]"):
        runtime.session(tmp_path / "nope.onnx")
    with pytest.raises(ParameterError, match=r"bgmscope\[models\]"):
        runtime.weight("nope.onnx")


def test_crepe_gives_torchcrepes_reference_output():
    ref = np.load(WEIGHTS / "crepe_reference.npz")
    probs = pitch.crepe_activations(ref["clip"], int(ref["sr"]), hop_s=int(ref["hop"]) / int(ref["sr"]))
    assert probs.shape == ref["probabilities"].shape
    np.testing.assert_allclose(probs, ref["probabilities"], atol=1e-4)
    _, f0, conf = pitch.decode(probs)  # torchcrepe's Viterbi, 50..2006 Hz
    np.testing.assert_allclose(conf, ref["periodicity"], atol=1e-4)
    # torchcrepe dithers its f0 by up to one 20-cent bin; bgmscope reports the bin centre
    assert np.abs(1200 * np.log2(f0 / ref["f0"])).max() <= 20.0 + 1e-3


def test_crepe_follows_a_sung_note():
    sr = 16000
    t = np.arange(sr * 2) / sr
    y = sum(np.sin(2 * np.pi * 330 * h * t) / h for h in range(1, 4)).astype(np.float32) * 0.3
    c = pitch.crepe_f0(y, sr)
    assert c.voiced[10:-10].mean() > 0.95
    assert abs(1200 * np.log2(np.nanmedian(c.f0_hz) / 330)) < 15


@pytest.mark.parametrize("model", tagger.MODELS)
def test_musicnn_gives_tensorflows_reference_output(model):
    ref = np.load(WEIGHTS / "musicnn_reference.npz")
    rep = tagger.logmel(ref["clip"])
    np.testing.assert_allclose(rep, ref["logmel"], atol=1e-3)
    scores = tagger.taggram(ref["clip"], int(ref["sr"]), model=model)
    np.testing.assert_allclose(scores, ref[f"{model}_scores"], atol=1e-4)
    assert len(tagger.tags(model)) == scores.shape[1] == 50


@pytest.mark.parametrize("model", tagger.MODELS)
def test_tags_are_finite_scores(model):
    sr = 22050
    y = np.random.default_rng(0).standard_normal((2, sr * 7)).astype(np.float32) * 0.2  # stereo noise
    s = tagger.tag_scores(y, sr, model=model)
    v = np.array(list(s.values()))
    assert len(s) == 50 and np.all(np.isfinite(v)) and v.min() >= 0 and v.max() <= 1
    assert set(tagger.top_tags(y, sr, model=model, k=5)) <= set(s)


def test_an_unknown_tagger_is_a_parameter_error():
    with pytest.raises(ParameterError):
        tagger.tag_scores(np.zeros(16000, np.float32), 16000, model="GTZAN")


CLIPS = {"silent 4 s": np.zeros(4 * 22050, np.float32),
         "0.5 s tone": (0.3 * np.sin(2 * np.pi * 440 * np.arange(11025) / 22050)).astype(np.float32)}


@pytest.mark.parametrize("clip", CLIPS)
def test_odd_clips_crash_no_model(clip):
    y, sr = CLIPS[clip], 22050
    c = pitch.crepe_f0(y, sr)
    assert len(c) == 1 + int(len(y) * 16000 / sr) // 160
    assert np.all(np.isfinite(c.confidence))
    for model in tagger.MODELS:
        g = tagger.taggram(y, sr, model=model)
        assert g.shape == (1, 50) and np.all(np.isfinite(g)) and g.min() >= 0 and g.max() <= 1
    pytest.importorskip("basic_pitch")
    from bgmscope.models import transcribe

    notes = transcribe.basic_pitch_notes(y, sr)
    if clip.startswith("silent"):
        assert notes == []
    assert transcribe.basic_pitch_output(y, sr)["note"].shape == (int(len(y) * 86 / 22050), 88)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # audioread, under basic_pitch's librosa.load
def test_basic_pitch_matches_the_packages_own_pipeline(tmp_path):
    # basic_pitch.inference.predict on a file (its librosa load, windowing and unwrapping) against
    # bgmscope's windowing of the same samples: a 7 s scale spans 3 model windows
    pytest.importorskip("basic_pitch")
    import soundfile as sf

    from bgmscope.models import transcribe
    from bgmscope.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for k, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 2):
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=k * 0.45, end=k * 0.45 + 0.4))
    pm.instruments.append(inst)
    y = render_midi(pm, sr=22050, stereo=False)
    sf.write(tmp_path / "scale.wav", y, 22050, subtype="FLOAT")
    with transcribe._quiet_root_logger():
        from basic_pitch import inference
    theirs, _, events = inference.predict(str(tmp_path / "scale.wav"), transcribe.model_path())
    ours = transcribe.basic_pitch_output(y, 22050)
    for k in ("note", "onset", "contour"):
        np.testing.assert_allclose(ours[k], theirs[k], atol=1e-5)
    mine = transcribe.basic_pitch_notes(y, 22050)
    assert sorted((round(n.onset, 4), n.pitch) for n in mine) == sorted((round(s, 4), p) for s, _, p, *_ in events)
    # ours == the package's, exactly (above). What the model hears: the scale, in order; in a full-suite
    # run it has once or twice also heard an octave over the first note (C5 at the C4 onset, found
    # by the package and by us alike), so an extra note may only be an octave of a sounding scale note
    scale = [60, 62, 64, 65, 67, 69, 71, 72] * 2
    starts = [k * 0.45 for k in range(len(scale))]
    found = iter(n.pitch for n in sorted(mine, key=lambda n: n.onset))
    assert all(any(p == q for q in found) for p in scale), [n.pitch for n in mine]
    extra = [n for n in mine if not any(abs(n.onset - t) < 0.1 and n.pitch == p for p, t in zip(scale, starts, strict=True))]
    assert len(extra) <= 1 and all(any(abs(n.onset - t) < 0.1 and abs(n.pitch - p) == 12
                                        for p, t in zip(scale, starts, strict=True)) for n in extra), extra


def _chord_midi() -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for p in (60, 64, 67):  # C4 E4 G4, twice
        piano.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=0.5, end=2.0))
        piano.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=3.0, end=4.5))
    pm.instruments.append(piano)
    return pm


def test_basic_pitch_hears_a_c_major_chord():
    pytest.importorskip("basic_pitch")
    from bgmscope.models import transcribe
    from bgmscope.synth import render_midi

    sr = 44100
    y = render_midi(_chord_midi(), sr=sr)  # stereo, resampled inside
    notes = transcribe.basic_pitch_notes(y, sr)
    strong = [n for n in notes if n.offset - n.onset > 0.5]
    assert {n.pitch % 12 for n in strong} == {0, 4, 7}
    assert {60, 64, 67} <= {n.pitch for n in strong}
    onsets = sorted({round(n.onset, 1) for n in strong})
    assert any(abs(o - 0.5) < 0.06 for o in onsets) and any(abs(o - 3.0) < 0.06 for o in onsets)
    pm = transcribe.basic_pitch_midi(y, sr)
    assert len(pm.instruments[0].notes) == len(notes)
