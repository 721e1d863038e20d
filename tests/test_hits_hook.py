"""hits_hook_vs_first: the paired hook vs first-15-s test finds a planted difference, not noise,
and the hits stage describes hook windows from hook_positions when no hook clips exist (cached)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import sine, write_audio
from rich.console import Console

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.context import PipelineContext
from bgmscope.features.stage import run_features
from bgmscope.hits import hookfirst
from bgmscope.hits.stage import run_stage
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest

SR = 16000


def test_compare_finds_the_planted_difference_and_not_the_noise():
    rng = np.random.default_rng(0)
    n = 30
    first = pd.DataFrame({"track_id": [f"t{i}" for i in range(n)], "a": rng.normal(size=n), "b": rng.normal(size=n)})
    hook = first.copy()
    hook["a"] = first["a"] + 1 + rng.normal(0, 0.3, n)   # the hook is louder on nearly every song
    hook["b"] = rng.normal(size=n)                        # unrelated
    hook = hook.iloc[::-1]                                # pairing is by track_id, not row order
    t = hookfirst.compare(first, hook, source="test").set_index("feature")
    assert t.loc["a", "q"] < 0.001 and t.loc["a", "rank_biserial"] > 0.9 and t.loc["a", "median_diff"] > 0.7
    assert t.loc["b", "q"] >= 0.05 and abs(t.loc["b", "rank_biserial"]) < 0.5
    assert (t["q"] >= t["p"] - 1e-12).all() and (t["n"] == n).all()
    assert "a higher in the hook" in hookfirst.findings(t.reset_index())


def test_rank_biserial_signs():
    assert hookfirst.rank_biserial(np.array([1.0, 2.0, 3.0])) == 1.0
    assert hookfirst.rank_biserial(np.array([-1.0, -2.0, 0.0])) == -1.0
    assert hookfirst.rank_biserial(np.array([0.0, 0.0])) == 0.0


def test_stage_describes_hook_windows_from_hook_positions(tmp_path):
    """Ten songs: a quiet first 4 s, a loud 'chorus' from 6 s; the stored hook is at 6 s."""
    settings = Settings(data_dir=tmp_path / "data", clip_length_s=4.0).ensure()
    rng = np.random.default_rng(1)
    for i in range(10):
        f = 200 + 30 * i
        y = np.concatenate([sine(f, 6, amp=0.03), sine(f * 1.5, 6, amp=0.5)]) + rng.normal(0, 0.002, 12 * SR)
        write_audio(tmp_path / "in" / f"歌{i}.wav", y.astype(np.float32), SR)
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        cat.con.execute("UPDATE tracks SET user_count = 1000 + 37 * length(title) * hash(track_id) % 997, "
                        "user_incr = 10, rank = 1")
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        run_features(cat, settings, jobs=1, show_progress=False, export=False)
        audio = cat.audio_files(status="ok")
        cat.write_frame("hook_positions", pd.DataFrame({
            "track_id": audio["track_id"], "audio_sha256": audio["sha256"], "hook_start_s": 6.0,
            "hook_length_s": 4.0, "duration_s": 12.0}))
        ctx = PipelineContext(cat, settings, 1, Console(quiet=True))
        out = run_stage(ctx)
        t = cat.read_frame("hits_hook_vs_first").set_index("feature")
        summary = cat.read_frame("hits_summary")
        again = hookfirst.hook_features_from_positions(cat, data_dir=settings.data_dir, sample_rate=SR, jobs=1)
    assert out["failed"] == 0 and isinstance(out["hook≠first q<0.05"], int) and out["hook≠first q<0.05"] > 0
    assert (t["source"] == hookfirst.SOURCE_POSITIONS).all() and (t["n"] == 10).all()
    assert t.loc["rms_mean", "median_hook"] > 5 * t.loc["rms_mean", "median_first"]
    assert t.loc["rms_mean", "q"] < 0.05 and t.loc["rms_mean", "rank_biserial"] == 1.0
    assert summary["topic"].eq("hook").sum() == 1
    assert len(list((settings.data_dir / "cache" / "hookfeat").glob("*.npz"))) == 10
    assert again is not None and len(again) == 10  # from the cache


def test_hook_clips_in_the_features_table_are_used_first_and_no_hooks_is_a_note(tmp_path):
    from bgmscope.hits.popularity import HitsOptions, analyse

    rng = np.random.default_rng(2)
    n = 20
    ids = [f"t{i}" for i in range(n)]
    first = pd.DataFrame({"clip_id": [f"f{i}" for i in range(n)], "track_id": ids, "clip_kind": "first",
                          "clip_index": 0, "d0": rng.normal(size=n), "d1": rng.normal(size=n)})
    hook = first.assign(clip_id=[f"h{i}" for i in range(n)], clip_kind="hook", d0=first["d0"] + 2)
    counts = rng.integers(100, 10000, n)
    tracks = pd.DataFrame({"track_id": ids, "music_id": ids, "title": ids, "user_count": counts, "user_incr": counts // 9,
                           "rank": np.argsort(np.argsort(-counts)) + 1, "chart": "t", "source": "t", "is_demo": False})
    with Catalog(tmp_path / "c.duckdb") as cat:
        cat.upsert_frame("tracks", tracks)
        cat.write_frame("features", first)
        res = analyse(cat, HitsOptions(n_boot=20, n_repeats=1))
        assert res.tables["hits_hook_vs_first"].empty
        assert res.tables["hits_summary"]["finding"].str.contains("no hook clips and no hook_positions").any()
        cat.write_frame("features", pd.concat([first, hook], ignore_index=True))
        t = analyse(cat, HitsOptions(n_boot=20, n_repeats=1)).tables["hits_hook_vs_first"].set_index("feature")
    assert (t["source"] == hookfirst.SOURCE_CLIPS).all()
    assert t.loc["d0", "q"] < 0.05 and t.loc["d0", "median_diff"] == 2.0 and "d1" not in t.index  # d1 equal


def test_a_hook_at_0s_describes_exactly_like_prepares_first_clip(tmp_path):
    from bgmscope.features.extract import extract_clip
    from bgmscope.prepare.cutter import PrepareTask, prepare_one

    rng = np.random.default_rng(0)
    f = write_audio(tmp_path / "歌.wav", (sine(220, 10, amp=0.3) + 0.01 * rng.normal(size=10 * SR)).astype(np.float32), SR)
    rows = prepare_one(PrepareTask(str(f), "x", "t", 10.0, "first", 4.0, 0.0, SR, False, str(tmp_path / "clips"),
                                   str(tmp_path)))
    import soundfile as sf

    y, sr = sf.read(tmp_path / rows[0]["path"], dtype="float32")
    a = extract_clip(y, sr)
    b = hookfirst.describe_hook(hookfirst.HookTask(str(f), "x", 0.0, 4.0, SR, str(tmp_path / "hc")))["values"]
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)
