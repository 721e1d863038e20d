import numpy as np
import pandas as pd
import soundfile as sf

from bgmscope.demo import build_demo_corpus, plan_corpus


def test_plan_is_deterministic_and_varied():
    a, b = plan_corpus(40, seed=3), plan_corpus(40, seed=3)
    assert a == b and len(a) == 40
    assert plan_corpus(40, seed=4) != a
    assert len({r.style for r in a}) == 3 and len({r.drums for r in a}) >= 3
    assert sum(r.edit_of is not None for r in a) == 2
    assert len({r.music_id for r in a}) == 40


def test_small_corpus_renders_real_mp3s_and_a_marked_chart(tmp_path):
    c = build_demo_corpus(tmp_path / "demo", n_songs=5, seed=1, jobs=2)
    chart = pd.read_csv(c.chart_csv, dtype={"音乐ID": str})
    assert list(chart.columns[:6]) == ["音乐ID", "音乐名", "创作者", "歌曲时间", "使用人数", "使用人数增量"]
    assert chart["is_demo"].all() and (chart["榜单"] == "demo (synthetic data)").all()
    assert chart["使用人数"].is_monotonic_decreasing
    for mid in chart["音乐ID"]:
        info = sf.info(str(c.audio_dir / f"{mid}.mp3"))
        assert info.channels == 2 and info.samplerate == 44100 and info.duration > 30
        y, _ = sf.read(str(c.audio_dir / f"{mid}.mp3"), frames=44100 * 10)
        assert np.sqrt(np.mean(y**2)) > 0.01  # music, not silence
        assert (c.midi_dir / f"{mid}.mid").exists()
    mtimes = {p: p.stat().st_mtime for p in c.audio_dir.iterdir()}
    again = build_demo_corpus(tmp_path / "demo", n_songs=5, seed=1, jobs=2)
    assert {p: p.stat().st_mtime for p in again.audio_dir.iterdir()} == mtimes  # reused, not re-rendered
    assert again.chart_csv.read_bytes() == c.chart_csv.read_bytes()


def test_rebuilding_with_another_plan_replaces_every_file(tmp_path):
    small = build_demo_corpus(tmp_path / "demo", n_songs=3, seed=1, jobs=1)
    old = {p.name: p.read_bytes() for p in small.audio_dir.iterdir()}
    other = build_demo_corpus(tmp_path / "demo", n_songs=3, seed=2, jobs=1)
    chart = pd.read_csv(other.chart_csv, dtype={"音乐ID": str})
    files = sorted(p.name for p in other.audio_dir.iterdir())
    assert files == sorted(f"{m}.mp3" for m in chart["音乐ID"])  # nothing stale left beside them
    assert all(old.get(name) != (other.audio_dir / name).read_bytes() for name in files)
