"""Duplicate edits: alignment that different recordings cannot pass, tempo tolerance, a grouping rule
that one weak link cannot chain, the representative, and bad audio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import chord_song, write_audio

from bgmscope.audio.decode import load
from bgmscope.errors import ParameterError
from bgmscope.versions.align import Alignment, align
from bgmscope.versions.grouping import (
    DEFAULT_THRESHOLD,
    _average_linkage,
    _comparable,
    _place,
    collapse_groups,
    find_versions,
    pair_scores,
    representative,
)
from bgmscope.versions.signature import N_BANDS, Signature, version_signature

SR = 16000
SCALE = [0, 2, 4, 7, 9, 12, 14, 16]


def tone(f0: float, n: int, decay: float) -> np.ndarray:
    """One timbre for every song: five harmonics at fixed weights, an exponential decay."""
    t = np.arange(n) / SR
    return sum(w * np.sin(2 * np.pi * k * f0 * t) for k, w in enumerate([1, .5, .33, .2, .1], 1)) * np.exp(-t / decay)


def beat_song(seed: int, seconds: float, tempo: float = 120.0) -> np.ndarray:
    """A melody on every beat over the same hi-hat pattern: songs of different seeds share timbre,
    tempo, key and drums, and differ only in their notes."""
    rng = np.random.default_rng(seed)
    beat = int(SR * 60 / tempo)
    hat = np.random.default_rng(0).standard_normal(beat // 4) * np.exp(-np.arange(beat // 4) / 200)
    out = []
    for _ in range(int(seconds * tempo / 60)):
        b = 0.3 * tone(220 * 2 ** (SCALE[rng.integers(len(SCALE))] / 12), beat, 0.25)
        b[: hat.size] += 0.15 * hat
        out.append(b)
    return (np.concatenate(out) / 2).astype(np.float32)


def ambient(seed: int, seconds: float) -> np.ndarray:
    """Quiet slow swells of sustained chords (the timbre of beat_song, no onsets to speak of)."""
    rng = np.random.default_rng(seed)
    out, total = [], 0
    while total < seconds * SR:
        seg = int(rng.uniform(4, 9) * SR)  # swells of their own lengths, as two pieces have
        chord = sum(tone(110 * 2 ** (SCALE[rng.integers(len(SCALE))] / 12), seg, 30.0) for _ in range(3))
        out.append(chord * np.sin(np.pi * np.arange(seg) / seg) ** rng.uniform(1, 3))
        total += seg
    return (0.03 * np.concatenate(out)[: int(seconds * SR)]).astype(np.float32)


def sig(y: np.ndarray) -> Signature:
    return version_signature(y, SR)


def speed(y: np.ndarray, factor: float) -> np.ndarray:
    """Played ``factor`` times faster by resampling: the pitch moves with the tempo."""
    n = int(round(len(y) / factor))
    return np.interp(np.arange(n) * factor, np.arange(len(y)), y).astype(np.float32)


def mp3(y: np.ndarray, path) -> np.ndarray:
    write_audio(path, y, SR, format="MP3")
    return load(path, sr=SR)[0]


def test_different_recordings_with_similar_timbre_are_not_merged(tmp_path):
    a, b = beat_song(1, 40), beat_song(2, 40)
    copy = mp3(0.3 * a, tmp_path / "a.mp3")        # the same recording, re-encoded at -10 dB
    quiet1, quiet2 = ambient(3, 60), ambient(4, 60)
    s = {"a": sig(a), "b": sig(b), "a_copy": sig(copy), "amb1": sig(quiet1), "amb2": sig(quiet2),
         "amb1_cut": sig(quiet1[10 * SR: 40 * SR])}
    assert align(s["a"].frames, s["a_copy"].frames).score >= 0.85
    assert align(s["a"].frames, s["b"].frames).score < DEFAULT_THRESHOLD - 0.15
    assert align(s["amb1"].frames, s["amb2"].frames).score < DEFAULT_THRESHOLD - 0.15
    cut = align(s["amb1"].frames, s["amb1_cut"].frames)
    assert cut.score >= 0.85 and abs(cut.offset_s - 10.0) <= 0.2
    _, groups = find_versions(s)
    g = groups.set_index("track_id")["group_id"]
    assert g["a"] == g["a_copy"] and g["amb1"] == g["amb1_cut"]
    assert len({g["a"], g["b"], g["amb1"], g["amb2"]}) == 4


def test_a_five_percent_speed_up_is_grouped_on_its_own():
    a = beat_song(5, 45)
    fast = speed(a, 1.05)
    slow_cut = speed(a[5 * SR: 35 * SR], 1 / 1.08)
    s = {"song": sig(a), "fast": sig(fast), "slow_cut": sig(slow_cut), "other": sig(beat_song(6, 45))}
    al = align(s["song"].frames, s["fast"].frames)
    assert al.score >= DEFAULT_THRESHOLD and abs(al.stretch - 1.05) <= 0.005 and al.pitch_shifted
    pairs, groups = find_versions({"song": s["song"], "fast": s["fast"], "other": s["other"]})
    g = groups.set_index("track_id")["group_id"]
    assert g["song"] == g["fast"] != g["other"]  # no other edit to lean on
    al = align(s["song"].frames, s["slow_cut"].frames)
    assert al.score >= DEFAULT_THRESHOLD and abs(al.stretch - 1 / 1.08) <= 0.005
    assert abs(al.offset_s - 5.0) <= 0.3


def test_representative_is_not_the_padded_edit_nor_a_cut(tmp_path):
    a = beat_song(7, 40)
    pad = np.concatenate([np.zeros(3 * SR, np.float32), a, np.zeros(2 * SR, np.float32)])
    s = {"orig": sig(a), "pad": sig(pad), "cut": sig(a[8 * SR: 28 * SR]), "mp3": sig(mp3(a, tmp_path / "x.mp3"))}
    assert 2.7 <= s["pad"].lead_silence_s <= 3.3 and s["pad"].trail_silence_s >= 1.5
    _, groups = find_versions(s)
    assert groups["group_id"].nunique() == 1
    rep = groups.loc[groups["is_representative"], "track_id"].item()
    assert rep in ("orig", "mp3")
    assert representative(["pad", "cut", "orig"], s) == "orig"


def _fake(dur: float = 30.0) -> Signature:
    return Signature(np.zeros((int(dur * 10), N_BANDS), np.float16), np.zeros((0, 36), np.float32),
                     np.zeros(0), dur, 0.0, 0.0)


def test_one_weak_link_cannot_chain_families():
    """Three families of three full-length copies; a1-b1 and b2-c2 pass the threshold, every other
    pair across families plays different music (0.1). Connected components would make one group."""
    fams = {f: [f"{f}{i}" for i in range(3)] for f in "abc"}
    members = sorted(m for f in fams.values() for m in f)
    sigs = {m: _fake() for m in members}
    score = {}
    for x, p in enumerate(members):
        for q in members[x + 1:]:
            score[(p, q)] = 0.93 if p[0] == q[0] else 0.1
    score[("a1", "b1")] = score[("b2", "c2")] = DEFAULT_THRESHOLD + 0.05
    strong = {k: Alignment(v, 0.0, 30.0, 1.0, False) for k, v in score.items() if v >= DEFAULT_THRESHOLD}
    place = _place(members, strong)
    comparable = {(p, q) for x, p in enumerate(members) for q in members[x + 1:]
                  if _comparable(p, q, place, sigs, 8.0, 1.12)}
    assert len(comparable) == len(score)  # all full-length copies at offset 0: every pair comparable
    groups = _average_linkage(members, score, comparable, set(strong), DEFAULT_THRESHOLD)
    assert sorted(map(sorted, groups)) == [fams["a"], fams["b"], fams["c"]]


def test_disjoint_cuts_of_one_song_do_not_count_against_each_other():
    """cut1 (0-20 s) and cut2 (60-80 s) of a 100 s song share nothing; both join the song."""
    sigs = {"song": _fake(100.0), "cut1": _fake(20.0), "cut2": _fake(20.0)}
    strong = {("cut1", "song"): Alignment(0.9, 0.0, 20.0, 1.0, False),  # t_cut1 = t_song - 0
              ("cut2", "song"): Alignment(0.9, -60.0, 20.0, 1.0, False)}
    place = _place(list(sigs), strong)
    assert not _comparable("cut1", "cut2", place, sigs, 8.0, 1.12)
    score = {("cut1", "song"): 0.9, ("cut2", "song"): 0.9, ("cut1", "cut2"): 0.05}
    comparable = set(strong)
    groups = _average_linkage(sorted(sigs), score, comparable, set(strong), DEFAULT_THRESHOLD)
    assert len(groups) == 1


def test_grouping_scores_on_rendered_like_cuts(tmp_path):
    songs = {f"song{i}": chord_song(10 + i, 30) for i in range(4)}
    sigs = {k: sig(v) for k, v in songs.items()}
    truth = {k: k for k in songs}
    rng = np.random.default_rng(3)
    for k in range(4):
        src = f"song{k % 4}"
        off = rng.uniform(0, 15)
        y = songs[src][int(off * SR): int((off + 12) * SR)] * 10 ** (rng.uniform(-9, 3) / 20)
        sigs[f"cut{k}"] = sig(mp3(y, tmp_path / f"cut{k}.mp3"))
        truth[f"cut{k}"] = src
    pairs, groups = find_versions(sigs)
    assert pair_scores(groups, truth) == (1.0, 1.0), pairs
    assert set(pairs["source"]) <= {"index", "group check"}
    for col in ("stretch", "pitch_shifted", "overlap_s"):
        assert col in pairs
    row = groups.set_index("track_id").loc["song0"]
    assert row["group_size"] == 2 and row["best_match"] == "cut0"


def test_collapse_counts_a_group_once():
    df = pd.DataFrame({"track_id": ["a", "a2", "b"], "tempo": [120.0, 121.0, 90.0],
                       "user_count": [100, 50, 70], "user_incr": [10, 5, 7], "rank": [2, 3, 1]})
    groups = pd.DataFrame({"track_id": ["a", "a2", "b"], "group_id": ["a", "a", "b"]})
    out = collapse_groups(df, groups).set_index("track_id")
    assert list(out.index) == ["a", "b"]
    assert out.loc["a", "user_count"] == 150 and out.loc["a", "rank"] == 2 and out.loc["a", "tempo"] == 120.0


def test_bad_input():
    with pytest.raises(ParameterError):
        version_signature(np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="NaN"):
        version_signature(np.full(SR, np.nan, np.float32), SR)
    with pytest.raises(ParameterError, match="silent"):
        version_signature(np.zeros(SR * 10, np.float32), SR)
    with pytest.raises(ParameterError, match="threshold"):
        find_versions({}, threshold=0)
    pairs, groups = find_versions({})
    assert pairs.empty and groups.empty
    short = sig(chord_song(1, 3))  # shorter than the minimum overlap: matches itself as a whole only
    assert np.isfinite(align(short.frames, short.frames).score)
    assert not np.isfinite(align(short.frames[:0], short.frames).score)


def test_bad_and_short_audio_is_reported_and_skipped(tmp_path):
    from bgmscope.catalog import Catalog
    from bgmscope.config import Settings
    from bgmscope.prepare.ingest import ingest
    from bgmscope.versions.stage import scan_songs

    a = chord_song(21, 30)
    write_audio(tmp_path / "in" / "歌A.wav", a, SR)
    write_audio(tmp_path / "in" / "歌A 加速版.wav", speed(a, 1.05), SR)
    write_audio(tmp_path / "in" / "短.wav", chord_song(22, 1), SR)          # 1 s: too short to compare
    write_audio(tmp_path / "in" / "静音.wav", np.zeros(10 * SR, np.float32), SR)  # silence
    settings = Settings(data_dir=tmp_path / "data").ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        s = scan_songs(cat, settings, jobs=1, show_progress=False)
        failures = cat.failures()
        v = cat.read_frame("versions")
        pairs = cat.read_frame("version_pairs")
    assert s.songs == 2 and s.failed == 2 and s.groups == 1
    items = " ".join(failures.loc[failures["stage"] == "versions", "item"])
    assert "短" in items and "静音" in items
    assert any("need >= 2 s" in e for _, e in s.failures) and any("silent" in e for _, e in s.failures)
    assert len(v) == 2 and v["group_size"].eq(2).all()
    assert {"stretch", "pitch_shifted", "source", "duplicate"} <= set(pairs.columns)
    assert abs(v["stretch"].dropna().max() - 1.05) <= 0.01


def test_versions_read_the_song_pass_scans_and_decode_nothing(tmp_path, monkeypatch):
    import bgmscope.prepare.scan as scan
    from bgmscope.catalog import Catalog
    from bgmscope.config import Settings
    from bgmscope.prepare.clips import prepare_pass
    from bgmscope.prepare.ingest import ingest
    from bgmscope.versions.stage import scan_songs

    a = chord_song(31, 40)
    write_audio(tmp_path / "in" / "歌A.wav", a, SR)
    write_audio(tmp_path / "in" / "歌A 剪辑版.wav", a[5 * SR: 30 * SR], SR)
    write_audio(tmp_path / "in" / "歌B.wav", chord_song(32, 35), SR)
    fresh, prepared = Settings(data_dir=tmp_path / "fresh").ensure(), Settings(data_dir=tmp_path / "prep").ensure()
    with Catalog(fresh.catalog_path) as cat:  # never prepared: the stage scans (decodes) itself
        ingest([tmp_path / "in"], cat)
        s0 = scan_songs(cat, fresh, jobs=1, show_progress=False)
        want = cat.read_frame("versions"), cat.read_frame("hook_positions")
    with Catalog(prepared.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        prepare_pass(cat, prepared, jobs=1, show_progress=False)

        def no_decode(*_a, **_k):
            raise AssertionError("the versions stage decoded a song the song pass had scanned")

        monkeypatch.setattr(scan, "decode_song", no_decode)
        s1 = scan_songs(cat, prepared, jobs=1, show_progress=False)
        got = cat.read_frame("versions"), cat.read_frame("hook_positions")
        hook_clips = cat.clips("hook").set_index("track_id")["offset_s"]
    assert (s0.songs, s0.cached, s0.groups) == (3, 0, 1) and (s1.songs, s1.cached, s1.groups) == (3, 3, 1)
    cols = ["track_id", "group_id", "group_size", "is_representative", "best_match"]
    assert want[0][cols].equals(got[0][cols])
    assert want[1].drop(columns="audio_sha256").equals(got[1].drop(columns="audio_sha256"))
    # the hook clip the pass cut is where the versions stage says the hook is
    hp = got[1].set_index("track_id")["hook_start_s"]
    assert np.allclose(hook_clips.loc[hp.index].to_numpy(), hp.to_numpy(), atol=1e-3)
