"""Tags against popularity (hits_tags): a planted tag is found, noise tags are not, q >= p, and the
stage goes on without a tags table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bgmscope.catalog import Catalog
from bgmscope.hits import tagtests
from bgmscope.hits.popularity import HitsOptions, analyse, write_tables

N = 60
TAGS = ["happy", "sad", "dance", "female vocalists", "guitar", "80s", "rock", "chill"]


def _catalog(path, *, with_tags: bool = True, seed: int = 0) -> Catalog:
    rng = np.random.default_rng(seed)
    log_count = rng.normal(10, 1, N)
    counts = np.round(np.exp(log_count)).astype(int)
    ranks = np.empty(N, int)
    ranks[np.argsort(-counts)] = np.arange(1, N + 1)
    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(N)], "music_id": [f"t{i}" for i in range(N)],
                           "title": [f"歌{i}" for i in range(N)], "user_count": counts,
                           "user_incr": (counts * rng.uniform(0.05, 0.2, N)).astype(int), "rank": ranks,
                           "chart": "test", "source": "test", "is_demo": False})
    feats = pd.DataFrame({"clip_id": [f"c{i}" for i in range(N)], "track_id": tracks["track_id"],
                          "clip_kind": "first", "clip_index": 0,
                          **{f"d{j}": rng.normal(size=N) for j in range(6)}})
    cat = Catalog(path)
    cat.upsert_frame("tracks", tracks)
    cat.write_frame("features", feats)
    if with_tags:
        rows = []
        z = (log_count - log_count.mean()) / log_count.std()
        for i in range(N):
            for tag in TAGS:
                base = 0.5 + 0.15 * z[i] + rng.normal(0, 0.05) if tag == "happy" else rng.uniform(0, 1)
                rows.append({"track_id": f"t{i}", "model": "MSD", "tag": tag, "mean": float(np.clip(base, 0, 1)),
                             "std": 0.05, "n_clips": 3})
        cat.write_frame("tags", pd.DataFrame(rows))
    return cat


def test_planted_tag_is_found_and_noise_tags_are_not(tmp_path):
    with _catalog(tmp_path / "c.duckdb") as cat:
        res = analyse(cat, HitsOptions(n_boot=200, n_repeats=1))
        write_tables(cat, res)
        stored = cat.read_frame("hits_tags")
    t = res.tables["hits_tags"]
    assert list(t.columns) == tagtests.COLUMNS and len(stored) == len(t)
    uc = t[t["target"] == "user_count"].set_index("tag")
    assert uc.loc["happy", "q"] < 0.05 and uc.loc["happy", "rho"] > 0.5
    assert uc.loc["happy", "ci_low"] > 0 and uc.loc["happy", "tag_group"] == "mood"
    assert (uc.drop(index="happy")["q"] >= 0.05).all()
    assert (t["q"] >= t["p"] - 1e-12).all() and (t["n"] == N).all() and set(t["model"]) == {"MSD"}
    # rank 1 is the top: the same effect is a negative rho with rank, and the sentence says "more often"
    assert t[(t["target"] == "rank") & (t["tag"] == "happy")]["rho"].iloc[0] < -0.5
    found = res.tables["hits_summary"].query("topic == 'tags'")["finding"]
    assert found.str.contains("hot BGMs are more often 'happy'").sum() >= 2
    assert not found.str.contains("often 'sad'").any()
    # the power of both families of tests is stored and said
    pw = res.tables["hits_power"]
    assert set(pw["family"]) == {"descriptors", "tags"} and (pw.query("family == 'tags'")["n"] == N).all()
    assert (pw.query("family == 'tags'")["n_tests"] == len(TAGS)).all()
    said = res.tables["hits_summary"].query("topic == 'power'")["finding"]
    assert len(said) == 2 and said.str.contains(f"n = {N} songs").all()


def test_without_tags_the_stage_notes_it_and_goes_on(tmp_path):
    with _catalog(tmp_path / "c.duckdb", with_tags=False) as cat:
        res = analyse(cat, HitsOptions(n_boot=50, n_repeats=1))
        write_tables(cat, res)
        assert cat.read_frame("hits_tags").empty
    notes = res.tables["hits_summary"].query("topic == 'note'")["finding"]
    assert notes.str.contains("no tags table").any()
    assert not res.tables["hits_correlations"].empty


def test_every_musicnn_tag_has_a_fixed_group():
    tagger = pytest.importorskip("bgmscope.models.tagger")
    for model in tagger.MODELS:
        names = tagger.tags(model)
        assert len(names) == 50
        missing = [t for t in names if t not in tagtests.TAG_GROUPS]
        assert not missing, f"{model} tags without a group: {missing}"
    assert set(tagtests.TAG_GROUPS.values()) == set(tagtests.GROUPS)
    assert tagtests.tag_group("happy") == "mood" and tagtests.tag_group("female vocalists") == "vocal"
    assert tagtests.tag_group("a tag no model has") == "other"
