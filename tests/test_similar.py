"""`similar`: nearest songs by standardised descriptors, selected features, name resolution, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bgmscope.catalog import Catalog
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.similar.search import resolve_song, similar


@pytest.fixture
def cat(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 6))
    X[5] = X[2] + 0.05 * rng.normal(size=6)   # song 5 is nearly song 2
    X[7, :3] = X[2, :3]                        # song 7 matches song 2 on the first three features only
    feats = pd.DataFrame(X, columns=[f"d{i}" for i in range(6)])
    feats.insert(0, "clip_id", [f"c{i}" for i in range(12)])
    feats.insert(1, "track_id", [f"t{i}" for i in range(12)])
    feats.insert(2, "clip_kind", "first")
    feats.insert(3, "clip_index", 0)
    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(12)], "music_id": [f"m{i}" for i in range(12)],
                           "title": [f"学猫叫{i}" if i in (2, 9) else f"歌{i}" for i in range(12)],
                           "user_count": np.arange(12) * 100, "rank": np.arange(1, 13)})
    c = Catalog(tmp_path / "catalog.duckdb")
    c.write_frame("features", feats)
    c.upsert_frame("tracks", tracks)
    yield c
    c.close()


def test_nearest_song_and_selected_features(cat):
    res = similar(cat, song="m2", k=3, features="all")
    assert res.neighbours["track_id"].iloc[0] == "t5"
    assert "t2" not in set(res.neighbours["track_id"])
    assert res.neighbours["distance"].is_monotonic_increasing and len(res.neighbours) == 3
    # a selection of the first three features makes song 7 as close as song 5
    cat.write_frame("select_features", pd.DataFrame({"feature": ["d0", "d1", "d2", "d3"], "selected": [1, 1, 1, 0],
                                                     "position": [0, 1, 2, 3], "feature_set": "test"}))
    sel = similar(cat, song="t2", k=2, features="selected")
    assert sel.feature_set == "selected (3)"
    assert set(sel.neighbours["track_id"]) == {"t5", "t7"}


def test_popularity_metric_weights_by_importance(cat):
    with pytest.raises(CatalogError, match="hits"):
        similar(cat, song="t2", metric="popularity", features="all")
    # only d0..d2 mattered for popularity: song 7 (equal to song 2 there) becomes its nearest
    cat.write_frame("hits_importance", pd.DataFrame({"feature": [f"d{i}" for i in range(6)],
                                                     "importance_mean": [0.3, 0.2, 0.1, -0.05, 0.0, 0.0]}))
    res = similar(cat, song="t2", k=1, metric="popularity", features="all")
    assert res.neighbours["track_id"].iloc[0] == "t7" and res.neighbours["distance"].iloc[0] < 1e-9
    with pytest.raises(ParameterError, match="metric"):
        similar(cat, song="t2", metric="cosine")


def test_versions_mark_and_resolve(cat):
    cat.write_frame("versions", pd.DataFrame({"track_id": ["t2", "t9"], "group_id": ["t2", "t2"]}))
    assert resolve_song(cat.tracks(), "学猫叫", cat.read_frame("versions")) == "t2"
    res = similar(cat, song="学猫叫", k=12, features="all")
    assert res.neighbours.set_index("track_id").loc["t9", "same_recording"]
    with pytest.raises(ParameterError, match="matches 2 songs"):
        resolve_song(cat.tracks(), "学猫叫")


def test_errors(cat, tmp_path):
    with pytest.raises(ParameterError, match="either"):
        similar(cat, k=3)
    with pytest.raises(ParameterError, match="either"):
        similar(cat, song="t1", file="x.mp3")
    with pytest.raises(ParameterError, match="-k"):
        similar(cat, song="t1", k=0)
    with pytest.raises(ParameterError, match="no song"):
        similar(cat, song="不存在")
    with pytest.raises(ParameterError, match="no such file"):
        similar(cat, file=tmp_path / "missing.mp3")
    with Catalog(tmp_path / "empty.duckdb") as empty:
        with pytest.raises(CatalogError, match="features"):
            similar(empty, song="t1")


def test_cli_on_songs_without_chart_numbers(tmp_path):
    """Loose files (no title in the chart, no user_count) print as blanks, not a crash."""
    from typer.testing import CliRunner

    from bgmscope.cli import app

    rng = np.random.default_rng(5)
    feats = pd.DataFrame(rng.normal(size=(5, 4)), columns=["a", "b", "c", "d"])
    feats.insert(0, "clip_id", [f"c{i}" for i in range(5)])
    feats.insert(1, "track_id", [f"file:{i}" for i in range(5)])
    feats.insert(2, "clip_kind", "first")
    feats.insert(3, "clip_index", 0)
    with Catalog(tmp_path / "catalog.duckdb") as c:
        c.write_frame("features", feats)
        c.upsert_frame("tracks", pd.DataFrame({"track_id": [f"file:{i}" for i in range(5)],
                                               "title": ["甲", None, "丙", "丁", "戊"]}))
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "similar", "file:0", "-k", "4", "--all-features"])
    assert res.exit_code == 0, res.output
    assert "file:1" in res.output and "file:0" not in res.output.split("┃ #")[1]


def _key_catalog(path, keys, f0):
    n = len(keys)
    feats = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "track_id": [f"t{i}" for i in range(n)],
                          "clip_kind": "first", "clip_index": 0, "key_pc": keys, "key_mode": 1.0,
                          "f0_mean_midi": f0})
    c = Catalog(path)
    c.write_frame("features", feats)
    c.upsert_frame("tracks", pd.DataFrame({"track_id": feats["track_id"], "music_id": feats["track_id"],
                                           "title": [f"歌{i}" for i in range(n)], "user_count": 100, "rank": 1}))
    return c


def test_the_key_is_a_circle_b_is_next_to_c(tmp_path):
    """Songs equal but for the key: B's nearest is C (one semitone round the circle), not A, which
    the pitch-class numbers (11 vs 9 against 11 vs 0) would call nearer."""
    with _key_catalog(tmp_path / "catalog.duckdb", [11.0, 0.0, 9.0, 5.0, 4.0], 60.0) as c:
        res = similar(c, song="t0", k=4, features="all")
    assert res.neighbours["track_id"].tolist()[:2] == ["t1", "t2"]  # C (1 step), then A (2 steps)
    d = dict(zip(res.neighbours["track_id"], res.neighbours["distance"], strict=True))
    assert d["t1"] < d["t2"] < d["t4"] < d["t3"]  # E is 5 steps away, F (the tritone, 6) the farthest


def test_missing_values_do_not_break_the_search(tmp_path):
    """A song with no f0 (NaN) takes the catalog's median there and still gets a finite distance."""
    f0 = [60.0, 62.0, np.nan, 64.0, 66.0]
    with _key_catalog(tmp_path / "catalog.duckdb", [0.0, 0.0, 0.0, 0.0, 0.0], f0) as c:
        res = similar(c, song="t0", k=4, features="all")
        d = dict(zip(res.neighbours["track_id"], res.neighbours["distance"], strict=True))
        assert set(d) == {"t1", "t2", "t3", "t4"} and np.isfinite(list(d.values())).all()
        # the NaN takes the median of 60, 62, 64, 66 (63): 3 semitones from t0 where t1 is 2, t3 is 4
        assert d["t2"] == pytest.approx(1.5 * d["t1"]) and d["t1"] < d["t2"] < d["t3"]
        back = similar(c, song="t2", k=4, features="all")  # the NaN song as the query
        assert np.isfinite(back.neighbours["distance"]).all()


# -- whole-song similarity (signatures over the whole song, silence trimmed) --------------------------

SR = 16000


def sectioned_song(seed: int, seconds: float = 48.0) -> np.ndarray:
    """Verse / chorus / verse: each section its own four-chord loop and timbre, with a click track."""
    rng = np.random.default_rng(seed)
    bpm = rng.uniform(80, 150)

    def section(n_s: float) -> np.ndarray:
        roots = rng.uniform(110, 440, 4)
        harm = rng.integers(1, 6)
        t = np.arange(int(SR * 60 / bpm * 2)) / SR  # two beats per chord
        env = np.minimum(1, np.minimum(t, t[::-1]) * 40)
        loop = np.concatenate([env * sum(np.sin(2 * np.pi * r * ratio * (h + 1) * t) / (h + 1)
                                         for ratio in (1, 1.26, 1.5) for h in range(harm)) for r in roots])
        return np.resize(loop, int(n_s * SR))

    y = np.concatenate([section(seconds / 3), section(seconds / 3), section(seconds / 3)])
    beat = int(SR * 60 / bpm)
    y[::beat] += 3.0
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def song_catalog(tmp_path_factory):
    from conftest import write_audio

    from bgmscope.prepare.ingest import ingest

    root = tmp_path_factory.mktemp("songs")
    songs = {i: sectioned_song(i) for i in range(6)}
    for i, y in songs.items():
        write_audio(root / "audio" / f"song{i}.wav", y, SR)
    cat = Catalog(root / "data" / "catalog.duckdb")
    ingest([root / "audio"], cat)
    tracks = cat.tracks()
    by_name = {str(t): str(i) for t, i in zip(tracks["title"], tracks["track_id"], strict=True)}
    yield cat, root, songs, by_name
    cat.close()


def _track_of(by_name: dict[str, str], i: int) -> str:
    return next(tid for title, tid in by_name.items() if title.endswith(f"song{i}"))


def test_a_middle_cut_and_a_silence_padded_copy_rank_their_song_first(song_catalog):
    from conftest import write_audio

    cat, root, songs, by_name = song_catalog
    for i in (1, 4):
        cut = write_audio(root / "q" / f"cut{i}.wav", songs[i][int(11.3 * SR): int(41.3 * SR)], SR)
        res = similar(cat, file=cut, k=3)
        assert res.basis == "song" and res.clip_kind == "whole song"
        assert res.neighbours["track_id"].iloc[0] == _track_of(by_name, i)
        assert res.neighbours["distance"].iloc[0] < 0.2 * res.neighbours["distance"].iloc[1]
        padded = write_audio(root / "q" / f"pad{i}.wav", np.r_[np.zeros(3 * SR, np.float32), songs[i]], SR)
        res = similar(cat, file=padded, k=3)
        assert res.neighbours["track_id"].iloc[0] == _track_of(by_name, i)
        # the same windows once the silence is trimmed (up to where the window grids fall)
        assert res.neighbours["distance"].iloc[0] < 0.15 < res.neighbours["distance"].iloc[1]


def test_whole_song_query_from_the_catalog_is_cached(song_catalog):
    cat, _, _, by_name = song_catalog
    tid = _track_of(by_name, 2)
    first = similar(cat, song=tid, k=5)
    assert first.basis == "song" and tid not in set(first.neighbours["track_id"]) and len(first.neighbours) == 5
    cached = sorted((cat.path.parent / "cache" / "similar").glob("*.npz"))
    assert len(cached) == 6
    again = similar(cat, song=tid, k=5)
    pd.testing.assert_frame_equal(first.neighbours, again.neighbours)


def test_whole_song_errors(song_catalog, tmp_path):
    from conftest import write_audio

    cat, _, _, by_name = song_catalog
    with pytest.raises(ParameterError, match="popularity"):
        similar(cat, song=_track_of(by_name, 0), basis="song", metric="popularity")
    with pytest.raises(ParameterError, match="basis"):
        similar(cat, song=_track_of(by_name, 0), basis="middle")
    silent = write_audio(tmp_path / "silent.wav", np.zeros(5 * SR, np.float32), SR)
    with pytest.raises(ParameterError, match="silent"):
        similar(cat, file=silent)
    with Catalog(tmp_path / "none.duckdb") as empty, pytest.raises(CatalogError, match="audio"):
        similar(empty, file=silent, basis="song")
