"""Figures: fonts cover Chinese and emoji (not the missing-glyph box), every figure function draws
from audio the test makes, files are written as PNG and SVG, bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bgmscope.errors import ParameterError
from bgmscope.viz import audio as va
from bgmscope.viz import corpus as vc
from bgmscope.viz import fonts
from bgmscope.viz.common import save_figure

SR = 16000
TITLE = "热门神曲 抖音🎵🔥 BGM"


def _raster(ch: str, chain: tuple[str, ...]) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(0.8, 0.8), dpi=50)
    FigureCanvasAgg(fig)
    # fixed origin, no anti-aliasing: two draws of the same glyph are the same pixels
    fig.text(0.1, 0.3, ch, fontsize=30, family=list(chain), ha="left", va="baseline", antialiased=False)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()


def test_font_chain_has_cjk_and_emoji():
    chain = fonts.font_families()
    assert len(chain) >= 3, chain  # Latin, CJK, emoji (make setup installs the Debian fonts)
    assert fonts.missing_glyphs(TITLE) == []
    assert fonts.font_for("热") not in (None, "DejaVu Sans")
    assert fonts.font_for("🎵") is not None


def _is_box(r: np.ndarray, notdef: np.ndarray) -> bool:
    """Same ink bounding box and the same outer frame as the missing-glyph box.

    (DejaVu's box carries a per-character mark inside it, so only its frame is compared.)
    """
    def bbox(m):
        rows, cols = np.where(m.any(axis=1))[0], np.where(m.any(axis=0))[0]
        return (rows[0], rows[-1], cols[0], cols[-1]) if rows.size else None

    m, n = r < 128, notdef < 128
    if bbox(m) != bbox(n):
        return False
    r0, r1, c0, c1 = bbox(n)
    ring = np.zeros_like(n)
    ring[r0:r1 + 1, c0:c1 + 1] = True
    ring[r0 + 1:r1, c0 + 1:c1] = False
    return bool(np.array_equal(m[ring], n[ring]))


@pytest.mark.filterwarnings("ignore:Glyph")
def test_glyphs_are_not_the_missing_glyph_box():
    chain = fonts.font_families()
    notdef = _raster("\ue000", chain)  # a private-use code point no font here covers: the box
    assert fonts.font_for("\ue000", chain) is None
    for ch in "热门神曲🎵🔥":
        assert (_raster(ch, chain) < 128).any(), f"{ch!r} drew nothing"
        assert not _is_box(_raster(ch, chain), notdef), f"{ch!r} drew the missing-glyph box"
    # the check can fail: with only a Latin font, the Chinese characters are the box
    latin = ("DejaVu Sans",)
    assert fonts.missing_glyphs("热门", latin) == ["热", "门"]
    assert _is_box(_raster("热", latin), _raster("\ue000", latin))


def test_figure_text_drops_invisible_marks_and_dollars_stay_text():
    assert fonts.figure_text("❤️\u200d🔥") == "❤🔥"
    assert fonts.figure_text("$5 $10") == "\\$5 \\$10"
    assert fonts.figure_text(None) == ""


def _tune(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f = np.where(t < seconds / 2, 220.0, 330.0)
    return (0.5 * np.sin(2 * np.pi * np.cumsum(f) / SR)).astype(np.float32)


def test_audio_figures_draw_and_save(tmp_path):
    y = _tune()
    figs = {
        "waveform": va.waveform(y, SR, title_text=TITLE),
        "spectrogram": va.spectrogram(y, SR),
        "pitch": va.pitch(y, SR),
        "centroid": va.centroid_over_waveform(y, SR),
        "mfcc": va.mfcc_heatmap(y, SR),
        "ssm": va.self_similarity(y, SR),
        "card": va.song_card(y, SR, title_text=TITLE),
    }
    for name, fig in figs.items():
        paths = save_figure(fig, tmp_path / name)
        assert [p.suffix for p in paths] == [".png", ".svg"]
        assert paths[0].read_bytes()[:4] == b"\x89PNG" and b"<svg" in paths[1].read_bytes()[:400]


def test_stereo_waveform_has_one_panel_per_channel():
    y = _tune()
    fig = va.waveform(np.stack([y, 0.2 * y]), SR)
    axes = [a for a in fig.axes if a.has_data()]
    assert len(axes) == 2
    # the right channel is drawn at its own (smaller) scale
    assert axes[1].get_ylim()[1] < axes[0].get_ylim()[1]
    assert len([a for a in va.waveform(y, SR).axes if a.has_data()]) == 1


def test_pitch_contour_follows_the_tune():
    c = va.pitch_contour(_tune(), SR)
    f0 = c.f0_hz
    first = np.nanmedian(f0[(c.times > 0.3) & (c.times < 1.2)])
    second = np.nanmedian(f0[(c.times > 1.8) & (c.times < 2.7)])
    assert abs(first - 220) < 5 and abs(second - 330) < 7
    rel = va.relative_pitch(c)
    step = np.nanmedian(rel[(c.times > 1.8) & (c.times < 2.7)]) - np.nanmedian(rel[(c.times > 0.3) & (c.times < 1.2)])
    assert abs(step - 12 * np.log2(1.5)) < 0.3  # a fifth is 7.02 semitones


def test_zero_crossings_and_the_stored_key():
    import pandas as pd

    from bgmscope.features.tonal import estimate_key
    from bgmscope.report.songs import add_stored_facts, stored_facts

    y = np.sin(2 * np.pi * 100 * np.arange(SR) / SR + 0.1)
    assert abs(va.zero_crossing_count(y) - 200) <= 1
    # the report shows the features stage's key (one estimator), read from its stored row
    c_major = np.zeros(12)
    c_major[[0, 4, 7]] = 1.0  # C E G
    c_major[[2, 5, 9, 11]] = 0.4
    tonic, mode, strength = estimate_key(c_major)
    silent = estimate_key(np.zeros(12))
    feats = pd.DataFrame({"clip_id": ["a", "b", "c"], "tempo_bpm": [120.0, np.nan, 90.0],
                          "key_pc": [float(tonic), 9.0, float(silent[0])],
                          "key_mode": [1.0 if mode == "major" else 0.0, 0.0, 1.0],
                          "key_strength": [strength, 0.7, silent[2]]})
    facts = stored_facts(feats)
    assert facts["key"].tolist() == ["C major", "A minor", ""]  # a silent clip has no key
    results = {"a": {"zero_crossings": 3}, "c": {}, "unstored": {}}
    add_stored_facts(results, feats)
    assert results["a"] == {"zero_crossings": 3, "tempo_bpm": 120.0, "key": "C major"}
    assert results["c"]["tempo_bpm"] == 90.0 and results["c"]["key"] == ""
    assert np.isnan(results["unstored"]["tempo_bpm"]) and results["unstored"]["key"] == ""
    empty = {"a": {}}
    add_stored_facts(empty, pd.DataFrame())  # before the features stage: no tempo, no key
    assert np.isnan(empty["a"]["tempo_bpm"]) and empty["a"]["key"] == ""


def test_corpus_figures():
    rng = np.random.default_rng(0)
    names = [f"歌曲{i} 🎵" for i in range(9)]
    figs = [
        vc.zcr_bars(names, rng.integers(100, 900, 9)),
        vc.feature_heatmap(pd.DataFrame(rng.normal(size=(9, 42)), columns=[f"f{i}" for i in range(42)]), names),
        vc.pca_scatter(rng.normal(size=9), rng.normal(size=9), rng.integers(0, 3, 9), names=names, annotate=3),
        vc.k_sweep_panels(rng.normal(size=(9, 2)), {k: rng.integers(0, k, 9) for k in (2, 3, 4)}),
        vc.metric_curves(pd.DataFrame({"k": [5, 6, 7] * 2, "silhouette": rng.random(6), "algorithm": ["km"] * 3 + ["mb"] * 3}),
                         ["silhouette", "calinski_harabasz"], group_col="algorithm", chosen_k=6),
        vc.ga_convergence(range(10), np.linspace(0.5, 0.9, 10), np.linspace(0.3, 0.7, 10)),
        vc.confusion_matrix(np.array([[5, 1], [2, 4]]), ["民歌", "rock"]),
        vc.distribution_bars(pd.Series({"pop": 5, "民歌": 3})),
        vc.histogram(rng.normal(120, 10, 30)),
        vc.popularity_bars(names, rng.integers(1000, 100000, 9)),
    ]
    for fig in figs:
        assert fig.axes


def test_bad_input_fails_clearly():
    with pytest.raises(ParameterError):
        va.waveform(np.array([]), SR)
    with pytest.raises(ParameterError):
        va.waveform(np.array([0.0, np.nan]), SR)
    with pytest.raises(ParameterError):
        va.spectrogram(None, SR)
    with pytest.raises(ParameterError):
        va.self_similarity(matrix=np.ones((3, 4)))
    with pytest.raises(ParameterError):
        vc.zcr_bars(["a"], [1, 2])
    with pytest.raises(ParameterError):
        vc.confusion_matrix(np.ones((2, 2)), ["a", "b", "c"])
    with pytest.raises(ParameterError):
        save_figure(va.waveform(_tune(), SR), "/tmp/x", formats=("gif",))


def test_interactive_scatter_escapes_titles_and_inlines_js(tmp_path):
    from bgmscope.viz.interactive import pca_scatter, write_html

    df = pd.DataFrame({"pc1": [0.0, 1.0], "pc2": [1.0, 0.0], "cluster": [0, 1],
                       "title": ["<script>alert(1)</script>", "热门 🎵"], "author": ['"><img src=x>', "歌手"],
                       "user_count": [1200, 5]})
    path = write_html(pca_scatter(df), tmp_path / "pca.html")
    text = path.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert ("热门 🎵" in text or "\\u70ed\\u95e8 \\ud83c\\udfb5" in text) and "1,200" in text
    assert 'src="https://cdn' not in text and len(text) > 1_000_000  # plotly.js is inside
    with pytest.raises(ParameterError):
        pca_scatter(df.drop(columns="pc2"))
