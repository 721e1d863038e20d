"""Composition (seeded, novelty measured) and rendering to audio files."""

from __future__ import annotations

import pretty_midi
import pytest
import soundfile as sf

from bgmscope.errors import ParameterError
from bgmscope.midi.compose import (
    CorpusStats,
    MelodyModel,
    compose,
    corpus_stats,
    longest_copied_ngram,
    quantize_duration,
    tokens_from_notes,
)
from bgmscope.midi.melody import Note
from bgmscope.midi.render import render_file
from bgmscope.scores import load_piece


@pytest.fixture(scope="module")
def melodies() -> list[tuple[list[Note], float]]:
    out = []
    for num in (1, 2, 3, 4, 5, 6):
        p = load_piece("essenFolksong/han1", num)
        spb = 0.5
        out.append(([Note(s * spb, (s + d) * spb, pitch, 90) for s, d, pitch, _ in p.notes], 120.0))
    return out


def midi_notes(pm: pretty_midi.PrettyMIDI) -> list[tuple]:
    return [(i.program, i.is_drum, n.pitch, round(n.start, 6), round(n.end, 6), n.velocity)
            for i in pm.instruments for n in i.notes]


def test_tokens_are_key_free_intervals_and_beat_durations(melodies) -> None:
    notes = [Note(0, 0.5, 60, 90), Note(0.5, 1.0, 64, 90), Note(1.0, 2.0, 62, 90), Note(2.0, 2.5, 62, 90)]
    toks = tokens_from_notes(notes, 120.0)
    assert toks == [[(4, 1.0), (-2, 1.0), (0, 2.0)]]
    up = [Note(n.start, n.end, n.pitch + 5, 90) for n in notes]
    assert tokens_from_notes(up, 120.0) == toks  # transposition does not change the tokens
    assert quantize_duration(0.49) == 0.5 and quantize_duration(2.9) == 3.0


def test_compose_is_reproducible_for_a_seed_and_varies_with_it(melodies) -> None:
    seqs = [t for n, tempo in melodies for t in tokens_from_notes(n, tempo)]
    stats = corpus_stats(melodies)
    a = compose(MelodyModel(3).fit(seqs), stats, seed=7, n_bars=8)
    b = compose(MelodyModel(3).fit(seqs), stats, seed=7, n_bars=8)
    c = compose(MelodyModel(3).fit(seqs), stats, seed=8, n_bars=8)
    assert midi_notes(a.midi) == midi_notes(b.midi)
    assert midi_notes(a.midi) != midi_notes(c.midi)
    names = [i.name for i in a.midi.instruments]
    assert names == ["melody", "chords", "bass", "drums"]
    lead = a.midi.instruments[0]
    assert abs(lead.notes[-1].end - 8 * 4 * 60 / a.tempo_bpm) < 60 / a.tempo_bpm  # fills 8 bars
    assert lead.notes[-1].pitch % 12 == 0  # ends on the tonic (C)
    assert 1 <= a.longest_copied <= len(a.tokens)


def test_longest_copied_ngram() -> None:
    corpus = [[(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)], [(9, 0.5)]]
    assert longest_copied_ngram([(2, 1.0), (3, 1.0), (4, 1.0), (9, 0.5)], corpus) == 3
    assert longest_copied_ngram([(7, 2.0)], corpus) == 0
    assert longest_copied_ngram([], corpus) == 0


def test_compose_bad_arguments(melodies) -> None:
    model = MelodyModel(2).fit([t for n, tempo in melodies for t in tokens_from_notes(n, tempo)])
    stats = CorpusStats(100.0, 1.0, 0.1, "backbeat")
    with pytest.raises(ParameterError, match="key"):
        compose(model, stats, key="H")
    with pytest.raises(ParameterError, match="tempo"):
        compose(model, stats, tempo_bpm=1000)
    with pytest.raises(ParameterError, match="fit"):
        MelodyModel().distribution([])
    with pytest.raises(ParameterError, match="no training"):
        MelodyModel().fit([[(1, 1.0)]])


def test_render_writes_wav_and_mp3(tmp_path, melodies) -> None:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(100, 60 + i, i * 0.25, i * 0.25 + 0.2) for i in range(8)]
    pm.instruments.append(inst)
    mid = tmp_path / "歌曲.mid"  # non-ASCII names are normal
    pm.write(str(mid))
    for suffix in (".wav", ".mp3"):
        out = render_file(mid, tmp_path / f"out{suffix}", sr=22050)
        y, sr = sf.read(str(out))
        assert sr == 22050 and y.ndim == 2 and 1.9 < len(y) / sr < 4.0
        assert abs(y).max() > 0.1


def test_render_bad_inputs(tmp_path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(ParameterError, match="not a readable MIDI"):
        render_file(bad, tmp_path / "x.wav")
    with pytest.raises(ParameterError, match="not found"):
        render_file(tmp_path / "missing.mid", tmp_path / "x.wav")
    with pytest.raises(ParameterError, match="unsupported"):
        render_file(bad, tmp_path / "x.aiff")
    empty = pretty_midi.PrettyMIDI()
    with pytest.raises(ParameterError):
        render_file(empty, tmp_path / "y.wav")
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()
