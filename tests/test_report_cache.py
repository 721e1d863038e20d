"""A rerun of the report stage whose inputs are unchanged skips the rebuild (and says where the
report is); a changed table, a changed page on disk or ``force`` rebuilds, and the rebuild says
the same as the kept report."""

from __future__ import annotations

import re

from rich.console import Console
from test_report import make_corpus

from bgmscope.catalog import Catalog
from bgmscope.context import PipelineContext
from bgmscope.report.stage import run_stage


def _text(html: str) -> str:
    """The page without what differs between two builds of the same inputs: the time stamp, the CSP
    nonce and the appendix's run and failure logs (every build adds its own run to them; they are
    not inputs of the analyses, see report/stage.py)."""
    html = re.sub(r"<details[^>]*><summary>(runs|failures) — .*?</details>", "", html, flags=re.S)
    html = re.sub(r'nonce="[^"]*"', "", html)
    html = re.sub(r'nonce-[A-Za-z0-9_\-]+', "", html)
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", html)


def test_report_rerun_skips_when_nothing_changed_and_rebuilds_when_something_did(tmp_path):
    settings = make_corpus(tmp_path)
    console = Console(record=True, width=200)
    with Catalog(settings.catalog_path) as cat:
        ctx = PipelineContext(cat, settings, 1, console)
        first = run_stage(ctx)
        html = settings.report_dir / "report.html"
        zh = settings.report_dir / "zh" / "report.html"
        page, page_zh, mtime = html.read_text(encoding="utf-8"), zh.read_text(encoding="utf-8"), html.stat().st_mtime_ns
        assert not first.get("cached") and first["songs"] == 9

        again = run_stage(ctx)
        assert again.get("cached") is True
        assert {k: v for k, v in again.items() if k != "cached"} == first
        assert html.stat().st_mtime_ns == mtime  # not rewritten
        assert ctx.outputs["report"] == html and ctx.outputs["report (中文)"] == zh
        said = console.export_text().replace("\n", "")
        assert "not rebuilt" in said and str(html) in said

        forced = run_stage(ctx, force=True)
        assert not forced.get("cached") and forced == first
        assert _text(html.read_text(encoding="utf-8")) == _text(page)  # a recompute says the same
        assert _text(zh.read_text(encoding="utf-8")) == _text(page_zh)

        # a page edited on disk is rebuilt
        zh.write_text("edited", encoding="utf-8")
        assert not run_stage(ctx).get("cached")
        assert _text(zh.read_text(encoding="utf-8")) == _text(page_zh)
        assert run_stage(ctx).get("cached") is True

        # a changed input (a song's title) is rebuilt, and the new title is in the page
        cat.con.execute("UPDATE tracks SET title = 'A Renamed Song' WHERE title = 'Nine'")
        assert not run_stage(ctx).get("cached")
        assert "A Renamed Song" in html.read_text(encoding="utf-8")


def _pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_one_card_figure_serves_both_languages(tmp_path):
    """The pipeline draws each card once for en and zh: the en PNG is byte for byte an en-only
    draw's; the zh PNG is a zh-only draw's up to text antialiasing (same size, < 1 % of pixels
    differ, where an en card differs from it in many more)."""
    import numpy as np
    import soundfile as sf

    from bgmscope.report.songs import SongTask, song_job

    sr = 16000
    t = np.arange(4 * sr) / sr
    sf.write(tmp_path / "c.flac", (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(3 * t))).astype("float32"), sr)
    both = song_job(SongTask("c", "t", str(tmp_path), "c.flac", "晚风 Song", True, "en", ("zh",)))
    en = song_job(SongTask("c", "t", str(tmp_path), "c.flac", "晚风 Song", True, "en"))
    zh = song_job(SongTask("c", "t", str(tmp_path), "c.flac", "晚风 Song", True, "zh"))
    assert set(both["cards_png"]) == {"en", "zh"}
    assert both["cards_png"]["en"] == en["card_png"] == both["card_png"]
    a, b, e = _pixels(both["cards_png"]["zh"]), _pixels(zh["card_png"]), _pixels(en["card_png"])
    assert a.shape == b.shape == e.shape
    moved = (abs(a - b).sum(-1) > 0).mean()
    assert moved < 0.01 and (abs(a - e).sum(-1) > 0).mean() > 3 * moved  # the axis words differ
    assert both["audio_ogg"][:4] == b"OggS"
