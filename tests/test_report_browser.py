"""The report as a reader meets it, in headless Chromium: conclusions first, no console errors,
every image loads, every player plays, no raw id or digest in the main flow, and every number in
the conclusions is the one in the catalog table it names (recomputed here, independently of the
report's code). Plus: the zh report's figures carry Chinese axis words (checked on the figures'
text objects before they are rasterised)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import CHROMIUM, CHROMIUM_ARGS, make_corpus

from bgmscope.catalog import Catalog

LONG_ID = "74019283746510293"  # + the song's number: 19-digit music ids, as Douyin's
ORDER = ["conclusions", "summary", "songs", "features", "cluster", "midi", "failures", "appendix"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("browser"), id_prefix=LONG_ID)


@pytest.fixture(scope="module")
def reports(corpus):
    from bgmscope.report import build_report

    out = {}
    with Catalog(corpus.catalog_path) as cat:
        for lang in ("en", "zh"):
            out[lang] = build_report(cat, corpus, out_dir=corpus.data_dir / f"report-{lang}", lang=lang, cards=2, jobs=1)
    return out


# -- an independent reading of a number's source (the rule blocks.Num documents) ---------------------
def _rows(df: pd.DataFrame, where: dict) -> pd.DataFrame:
    for col, v in where.items():
        if isinstance(v, dict):
            x = pd.to_numeric(df[col], errors="coerce")
            df = df[x > v["gt"]] if "gt" in v else df[x < v["lt"]]
        elif isinstance(v, bool):
            df = df[df[col].astype(bool) == v]
        elif isinstance(v, int | float):
            df = df[pd.to_numeric(df[col], errors="coerce") == v]
        else:
            df = df[df[col].astype(str) == v]
    return df


def _recompute(cat: Catalog, n: dict) -> float:
    df = cat.read_frame(n["table"])
    rows = _rows(df, json.loads(n["where"]))
    col, agg = n["column"], n["agg"]
    if agg == "count":
        return float(len(rows) if col == "*" else rows[col].notna().sum())
    if agg == "nunique":
        return float(rows[col].nunique())
    if agg == "share":
        return len(_rows(rows, json.loads(n["of"]))) / len(rows)
    if agg == "value":
        assert len(rows) >= 1, n
        return float(rows[col].iloc[0])
    v = pd.to_numeric(rows[col], errors="coerce").dropna()
    return float({"median": v.median(), "mean": v.mean(), "min": v.min(), "max": v.max(),
                  "q25": v.quantile(0.25), "q75": v.quantile(0.75)}[agg])


def _shown(value: float, spec: str) -> str:
    if not spec:
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return format(value, spec)


def _open(browser, html: Path, errors: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60000)
    return page


PLAY_ALL = """async () => {
  const out = [];
  for (const a of document.querySelectorAll('audio')) {
    a.muted = true;
    try { await a.play(); await new Promise(r => setTimeout(r, 150)); out.push([a.currentTime > 0 || !a.paused, a.duration]); a.pause(); }
    catch (e) { out.push([false, String(e)]); }
  }
  return out;
}"""


@pytest.mark.browser
def test_report_reads_in_chromium(reports, corpus):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed here (make setup-test installs it)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + ["--autoplay-policy=no-user-gesture-required"])
        try:
            for lang, res in reports.items():
                page = _open(browser, res.html, errors)
                seen[lang] = {
                    "order": page.evaluate("() => [...document.querySelectorAll('main > section')].map(s => s.id)"),
                    "images": page.evaluate("() => [...document.images].map(i => [i.alt, i.naturalWidth])"),
                    "play": page.evaluate(PLAY_ALL),
                    "main": page.evaluate("() => [...document.querySelectorAll('main > section:not(#appendix)')]"
                                          ".map(s => s.innerText).join('\\n')"),
                    "main_html": page.evaluate("() => [...document.querySelectorAll('main > section:not(#appendix)')]"
                                               ".map(s => s.outerHTML).join('\\n')"),
                    "nums": page.evaluate("() => [...document.querySelectorAll('#conclusions span.n')].map(s => "
                                          "({text: s.textContent, ...s.dataset}))"),
                    "first": page.evaluate("() => document.elementFromPoint(640, 500).closest('section')?.id"),
                }
                # the tables sort and filter in the page
                page.locator("#summary table.sortable th").nth(1).click()
                page.locator("#summary input.tfilter").fill("晚风") if page.locator("#summary input.tfilter").count() \
                    else None
                seen[lang]["visible_rows"] = page.evaluate(
                    "() => [...document.querySelectorAll('#summary table.sortable tbody tr')].filter(r => r.style.display !== 'none').length")
                page.close()
        finally:
            browser.close()
    assert errors == []
    with Catalog(corpus.catalog_path) as cat:
        ids = cat.tracks()["track_id"].astype(str).tolist()
        digests = cat.audio_files()["sha256"].astype(str).tolist()
        for s in seen.values():
            assert [x for x in s["order"] if x in ORDER] == ORDER, s["order"]
            assert s["order"][0] == "conclusions" and s["first"] == "conclusions"  # the first screen
            assert len(s["images"]) >= 8 and all(w > 0 for _, w in s["images"]), s["images"]
            assert len(s["play"]) >= 3 and all(ok for ok, _ in s["play"]), s["play"]
            for text in (s["main"], s["main_html"]):
                assert not re.search(r"(?<!\d)\d{19}(?!\d)", text)
                assert not re.search(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])", text)
                assert not any(i in text for i in ids) and not any(d in text for d in digests)
            assert len(s["nums"]) >= 25, len(s["nums"])
            for n in s["nums"]:
                assert n["text"] == _shown(_recompute(cat, n), n["fmt"]), n
            tables = {n["table"] for n in s["nums"]}
            assert {"features", "hits_correlations", "hits_model", "hits_tags", "hits_power", "hits_hook_vs_first",
                    "cluster_descriptions", "versions", "tags", "audio_files"} <= tables, tables
            assert s["visible_rows"] == 1  # the filter box kept the one matching song
    # ids are where they belong: in the appendix and the CSV files beside the report
    page = reports["en"].html.read_text(encoding="utf-8")
    assert ids[0] in page.split('<section id="appendix">')[1]
    assert ids[0] in (reports["en"].html.parent / "tables" / "tracks.csv").read_text(encoding="utf-8")


def test_conclusions_say_what_the_tables_hold(reports):
    page = reports["en"].html.read_text(encoding="utf-8")
    concl = page.split('<section id="summary">')[0]
    text = re.sub(r"<[^>]+>", "", concl)
    assert "tempo_bpm: Spearman ρ = +0.81" in text  # the one significant descriptor
    assert "loudness_lufs: Spearman" not in text  # q = 0.7: not claimed
    assert "Tag “pop” (Genre)" in text and "“rock”" not in text  # only FDR-significant tags
    assert "held-out R² = 0.21 (95% CI -0.05 to 0.41)" in text and "includes 0" in text
    assert "loudness_lufs: hook median -10.9 vs first 15 s -14.2" in text
    assert "is an edit of" in text and "synthetic" not in text  # the test chart is no demo chart
    assert "|ρ| ≥ 0.83" in text
    zh = reports["zh"].html.read_text(encoding="utf-8").split('<section id="summary">')[0]
    assert "结论" in zh and "相关不等于因果" in zh


def test_a_claim_without_its_table_says_why(tmp_path, corpus):
    import shutil

    from bgmscope.report.conclusions import conclusions_section
    from bgmscope.report.i18n import Words

    shutil.copy(corpus.catalog_path, tmp_path / "c.duckdb")
    with Catalog(tmp_path / "c.duckdb") as cat:
        for t in ("hits_tags", "hits_power", "hits_hook_vs_first", "tags"):
            cat.con.execute(f"DROP TABLE {t}")
        cat.write_frame("cluster_descriptions", pd.DataFrame({"method": "kmeans", "cluster": [0, 1], "size": [7, 2],
                                                              "share": [7 / 9, 2 / 9], "description_en": ["a", "b"]}))
        sec = conclusions_section(cat, Words("en"), {})
    claims = {c.id: c for c in sec.blocks}
    reasons = " ".join(r for c in claims.values() for r in c.reasons)
    for table in ("hits_tags", "hits_power", "hits_hook_vs_first", "tags"):
        assert f"the {table} table is absent" in reasons
    lines = ["".join(p if isinstance(p, str) else p.text for p in s) for s in claims["c-clusters"].sentences]
    assert any(x.startswith("7 songs (78%)") for x in lines)
    assert any("2 song(s) stand apart — too few to call a group" in x for x in lines)  # never a "group" of 2


def test_zh_figures_carry_chinese_axis_words(corpus):
    from bgmscope.report.evidence import FigureCache, build_figures
    from bgmscope.report.i18n import Words
    from bgmscope.viz.words import figure_words

    class Recording(FigureCache):
        def __init__(self, lang):
            super().__init__(None, lang)
            self.words: dict[str, list[str]] = {}

        def render(self, draw):
            fig = super().render(draw)
            self.words[len(self.words)] = [t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel()) if t]
            self.words[f"all{len(self.words)}"] = figure_words(fig)
            return fig

    with Catalog(corpus.catalog_path) as cat:
        rec = Recording("zh")
        figs = build_figures(cat, Words("zh"), rec)
        en = Recording("en")
        build_figures(cat, Words("en"), en)
    assert {"tempo", "keys", "zcr", "forest", "tagforest", "hook", "pca", "k_sweep", "k_metrics", "tag_mix"} <= set(figs)
    axis = [v for k, v in rec.words.items() if isinstance(k, int)]
    assert len(axis) >= 8
    for words in axis:  # every figure's labelled axes are in Chinese
        assert words and any(CJK.search(x) for x in words), words
    assert not any(CJK.search(x) for k, v in en.words.items() if isinstance(k, int) for x in v)
    assert np.all([f.png[:8] == b"\x89PNG\r\n\x1a\n" for f in figs.values()])
