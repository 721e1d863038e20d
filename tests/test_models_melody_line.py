"""models.transcribe.melody_line: the highest salient line of a polyphonic transcription."""

from bgmscope.models.transcribe import ModelNote, melody_line


def N(on, off, pitch, vel=90):
    return ModelNote(on, off, pitch, vel)


def test_keeps_the_top_note_of_each_chord_and_drops_the_bass():
    notes = [N(0.0, 1.0, 40), N(0.0, 1.0, 60), N(0.0, 1.0, 64), N(0.01, 0.5, 72),
             N(1.0, 2.0, 41), N(1.0, 2.0, 62), N(1.02, 2.0, 74)]
    assert [(n.onset, n.pitch) for n in melody_line(notes)] == [(0.01, 72), (1.02, 74)]


def test_a_lower_note_under_a_sounding_melody_note_is_accompaniment():
    notes = [N(0.0, 1.0, 76), N(0.5, 1.5, 60), N(1.0, 1.5, 77)]
    line = melody_line(notes)
    assert [n.pitch for n in line] == [76, 77]


def test_a_later_note_cuts_the_previous_one_so_the_line_is_monophonic():
    # 71 starts as 72 is ending (within 50 ms): the line steps down instead of dropping it
    notes = [N(0.0, 1.0, 60), N(0.5, 1.2, 72), N(1.18, 1.6, 71)]
    line = melody_line(notes)
    assert [n.pitch for n in line] == [60, 72, 71]
    assert all(a.offset <= b.onset for a, b in zip(line, line[1:], strict=False))
    assert (line[0].offset, line[1].offset) == (0.5, 1.18)


def test_quiet_notes_are_not_salient_and_empty_input_is_empty():
    notes = [N(0.0, 0.5, 70, 100), N(0.5, 1.0, 84, 20), N(0.5, 1.0, 67, 95)]
    assert [n.pitch for n in melody_line(notes)] == [70, 67]
    assert melody_line([]) == []
    assert melody_line([N(0, 1, 40)]) == []
