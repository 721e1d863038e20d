"""The report: built from a small corpus the test makes (sines, chords, clicks; a stereo song; a
broken file; hostile and Chinese+emoji titles), checked as text, as Markdown, in both languages,
through the CLI, and in headless Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.errors import ParameterError

SR = 16000
XSS_TITLE = "<script>alert(1)</script>"
XSS_AUTHOR = '"><img src=x onerror=alert(1)>'
CJK_TITLE = "热门神曲 🎵🔥"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _song(seed: int, seconds: float = 6.0) -> np.ndarray:
    """A little tune: a seeded note sequence of harmonic tones over a click track."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    notes = 220.0 * 2 ** (rng.integers(0, 12, size=int(seconds * 2)) / 12)
    for i, f in enumerate(notes[: int(seconds * 2)]):
        m = (t >= i * 0.5) & (t < (i + 1) * 0.5)
        for h in (1, 2, 3):
            y[m] += 0.25 / h * np.sin(2 * np.pi * f * h * t[m])
    beat = 60.0 / (90 + 20 * seed)
    for b in np.arange(0, seconds, beat):
        i = int(b * SR)
        y[i:i + 200] += 0.4 * np.exp(-np.arange(len(y[i:i + 200])) / 40.0)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def make_corpus(root: Path, id_prefix: str = "m") -> Settings:
    """Nine songs and a broken file; music ids ``<id_prefix><n>`` (the browser test uses 19-digit ids, as Douyin's)."""
    from bgmscope.prepare.clips import prepare
    from bgmscope.prepare.ingest import ingest

    audio = root / "audio"
    audio.mkdir(parents=True)
    titles = [XSS_TITLE, CJK_TITLE, XSS_AUTHOR, "Plain & Simple", "晚风", "夏天的风 🌊", "Tempo", "第八首", "Nine"]
    authors = [XSS_AUTHOR, "抖音歌手 😊", "someone", "<b>bold</b>", "A", "B", "C", "D", "E"]
    for i in range(1, 10):
        y = _song(i, seconds=4.0)
        if i == 3:  # stereo, channels differ
            sf.write(audio / f"{id_prefix}3.wav", np.stack([y, 0.3 * y[::-1]], axis=1), SR)
        else:
            sf.write(audio / (f"{id_prefix}{i}.flac" if i == 2 else f"{id_prefix}{i}.wav"), y, SR)
    (audio / f"{id_prefix}10.mp3").write_bytes(b"this is not an mp3 at all" * 50)  # a broken download
    chart = pd.DataFrame({
        "音乐ID": [f"{id_prefix}{i}" for i in range(1, 11)],
        "音乐名": titles + ["坏文件"],
        "创作者": authors + ["无"],
        "使用人数": [120000 - 9000 * i for i in range(10)],
        "使用人数增量": [5000 - 400 * i for i in range(10)],
        "排名": list(range(1, 11)),
    })
    chart.to_csv(root / "chart.csv", index=False, encoding="utf-8")
    settings = Settings(data_dir=root / "data", clip_length_s=4.0)
    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([root / "chart.csv", audio], cat)
        prepare(cat, settings, kind="first", jobs=1)
        _stage_tables(cat)
    return settings


def _stage_tables(cat: Catalog) -> None:
    """Results in the documented shapes of the cluster and hits stages, computed here on real
    descriptors of the clips, so the sections that read them are exercised."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from bgmscope.prepare.clips import load_clip

    clips = cat.clips("first")
    rows = []
    for r in clips.itertuples():
        y, sr = load_clip(cat.path.parent, r.path)
        s = np.abs(np.fft.rfft(y))
        f = np.fft.rfftfreq(len(y), 1 / sr)
        rows.append({"track_id": r.track_id, "rms": float(np.sqrt(np.mean(y**2))),
                     "centroid": float((s * f).sum() / s.sum()),
                     "zcr": float(np.mean(np.signbit(y[1:]) != np.signbit(y[:-1]))), "user_count": r.user_count})
    df = pd.DataFrame(rows)
    z = StandardScaler().fit_transform(df[["rms", "centroid", "zcr"]])
    pcs = PCA(n_components=2, random_state=0).fit_transform(z)
    lab = KMeans(n_clusters=2, random_state=0, n_init=4).fit_predict(z)
    cat.write_frame("cluster_assignments", pd.DataFrame({"track_id": df["track_id"], "pc1": pcs[:, 0],
                                                         "pc2": pcs[:, 1], "cluster": lab}))
    cat.write_frame("cluster_descriptions", pd.DataFrame({
        "cluster": [0, 1], "n": [int((lab == 0).sum()), int((lab == 1).sum())],
        "share": [float((lab == 0).mean()), float((lab == 1).mean())],
        "description_en": ["brighter than average", "darker than average"],
        "description_zh": ["比平均更明亮", "比平均更暗"]}))
    cat.write_frame("cluster_sweep", pd.DataFrame({"algorithm": ["kmeans", "kmeans", "minibatch", "minibatch"],
                                                   "k": [2, 3, 2, 3], "silhouette": [0.41, 0.22, 0.4, 0.2],
                                                   "calinski_harabasz": [5.0, 3.1, 4.9, 3.0],
                                                   "chosen": [True, False, False, False]}))
    # a transcription-shaped table: a MIDI file (rendered by the report) and a stored SSM
    import pretty_midi

    midi_dir = cat.path.parent / "midi"
    midi_dir.mkdir(exist_ok=True)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate([60, 62, 64, 65, 67, 65, 64, 62]):
        inst.notes.append(pretty_midi.Note(velocity=100, pitch=pitch, start=0.4 * i, end=0.4 * i + 0.35))
    pm.instruments.append(inst)
    pm.write(str(midi_dir / "m1.mid"))
    y, sr = load_clip(cat.path.parent, clips["path"].iloc[0])
    import librosa

    chroma = librosa.util.normalize(librosa.feature.chroma_stft(y=y, sr=sr, hop_length=2048), norm=2, axis=0)
    np.save(midi_dir / "m1_ssm_chroma.npy", chroma.T @ chroma)
    cat.write_frame("midi_songs", pd.DataFrame({"track_id": [clips["track_id"].iloc[0]], "n_notes": [8],
                                                "midi_path": [str(midi_dir / "m1.mid")],
                                                "ssm_chroma_path": ["midi/m1_ssm_chroma.npy"]}))
    from bgmscope.hits.stats import spearman_table

    cat.write_frame("hits_spearman", spearman_table(df[["rms", "centroid", "zcr"]], df["user_count"].astype(float),
                                                    n_boot=200, random_state=0))
    _result_tables(cat, clips, df, lab, pcs)


def _result_tables(cat: Catalog, clips: pd.DataFrame, df: pd.DataFrame, lab: np.ndarray, pcs: np.ndarray) -> None:
    """The later stages' tables in their documented shapes, with seeded values (the conclusions
    read them; the numbers they print are checked against these tables)."""
    rng = np.random.default_rng(7)
    n = len(clips)
    ids = clips["track_id"].tolist()
    cat.write_frame("features", pd.DataFrame({
        "clip_id": clips["clip_id"], "track_id": ids, "clip_kind": "first", "clip_index": 0,
        "tempo_bpm": rng.uniform(80, 150, n).round(1), "key_pc": rng.integers(0, 12, n).astype(float),
        "key_mode": rng.integers(0, 2, n).astype(float), "key_strength": rng.uniform(0.2, 0.9, n),
        "loudness_lufs": rng.uniform(-20, -8, n), "zcr_per_s": rng.uniform(500, 3000, n)}))
    cat.write_frame("hits_correlations", pd.DataFrame({
        "target": ["user_count"] * 3 + ["rank"], "feature": ["tempo_bpm", "loudness_lufs", "zcr_per_s", "tempo_bpm"],
        "rho": [0.81, 0.12, -0.3, -0.81], "ci_low": [0.52, -0.5, -0.8, -0.95], "ci_high": [0.95, 0.66, 0.35, -0.52],
        "p": [0.002, 0.7, 0.4, 0.002], "q": [0.006, 0.7, 0.6, 0.006], "n": [n, n, n - 1, n]}))
    cat.write_frame("hits_model", pd.DataFrame({"model": ["elasticnet"], "target": ["log1p(user_count)"],
                                                "r2": [0.21], "r2_std": [0.1], "r2_ci_low": [-0.05],
                                                "r2_ci_high": [0.41], "n": [n], "verdict": ["weak"]}))
    cat.write_frame("hits_power", pd.DataFrame({"family": "descriptors", "target": "user_count", "n": n, "n_tests": 3,
                                                "alpha_kind": ["per_test", "bh_10pct", "bonferroni"],
                                                "alpha": [0.05, 0.005, 0.05 / 3], "power": 0.8,
                                                "min_detectable_rho": [0.83, 0.93, 0.9]}))
    tags = ["pop", "rock", "happy", "sad", "female vocalists", "male vocalists"]
    cat.write_frame("tags", pd.DataFrame([{"track_id": t, "model": "MSD", "tag": g, "mean": float(rng.uniform(0, 0.6)),
                                           "std": 0.05, "n_clips": 3} for t in ids for g in tags]))
    cat.write_frame("hits_tags", pd.DataFrame({
        "target": "user_count", "tag": tags, "tag_group": ["genre", "genre", "mood", "mood", "vocal", "vocal"],
        "model": "MSD", "rho": [0.75, 0.1, 0.2, -0.1, 0.0, 0.3], "ci_low": [0.3, -0.5, -0.4, -0.6, -0.6, -0.3],
        "ci_high": [0.94, 0.6, 0.7, 0.5, 0.6, 0.8], "p": [0.01, 0.8, 0.6, 0.8, 1.0, 0.4],
        "q": [0.04, 0.9, 0.9, 0.9, 1.0, 0.9], "n": n}))
    cat.write_frame("hits_hook_vs_first", pd.DataFrame({
        "feature": ["loudness_lufs", "tempo_bpm"], "n": [n, n], "median_first": [-14.2, 118.0],
        "median_hook": [-10.9, 119.0], "median_diff": [3.3, 1.0], "p": [0.004, 0.6], "q": [0.008, 0.6],
        "rank_biserial": [0.78, 0.1], "source": "hook clips"}))
    cat.write_frame("hook_positions", pd.DataFrame({"track_id": ids, "audio_sha256": ["ab" * 32] * n,
                                                    "hook_start_s": rng.uniform(0, 2, n), "hook_length_s": 2.0,
                                                    "duration_s": 4.0}))
    titles = cat.tracks().set_index("track_id")["title"]
    cat.write_frame("versions", pd.DataFrame({
        "track_id": ids, "group_id": [ids[0] if i == 8 else t for i, t in enumerate(ids)],
        "group_size": [2 if i in (0, 8) else 1 for i in range(n)], "is_representative": [i != 8 for i in range(n)],
        "best_match": [ids[0] if i == 8 else None for i in range(n)], "best_score": [0.97 if i in (0, 8) else np.nan
                                                                                     for i in range(n)],
        "offset_s": 0.0, "title": [titles[t] for t in ids]}))
    # the sweep's per-k labels (2 algorithms x k = 2, 3), the chosen fit equal to the assignments
    rows = []
    for algo in ("kmeans", "minibatch"):
        for k in (2, 3):
            labels = lab if (algo, k) == ("kmeans", 2) else rng.integers(0, k, n)
            rows += [{"algorithm": algo, "k": k, "track_id": t, "label": int(v)} for t, v in zip(df["track_id"], labels,
                                                                                               strict=True)]
    cat.write_frame("cluster_k_labels", pd.DataFrame(rows))
    cat.write_frame("cluster_pca", pd.DataFrame({"component": [1, 2], "explained_variance_ratio": [0.61, 0.3],
                                                 "cumulative": [0.61, 0.91], "used": [True, True]}))


def main_flow(page: str) -> str:
    """The report before its appendix (the appendix alone shows whole tables, ids included)."""
    return page.split('<section id="appendix">')[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Settings:
    return make_corpus(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def built(corpus: Settings):
    from bgmscope.report import build_report

    with Catalog(corpus.catalog_path) as cat:
        return build_report(cat, corpus, cards=3, jobs=1)


def test_report_files_and_sections(built, corpus):
    assert built.html.is_file() and built.markdown.is_file()
    assert built.html.parent == corpus.report_dir
    assert built.songs == 9  # the broken mp3 never became a clip
    assert built.cards == 3
    assert {"conclusions", "summary", "songs", "features", "cluster", "midi", "failures", "appendix"} <= set(built.sections)
    assert built.sections[0] == "conclusions" and built.sections[-1] == "appendix"
    # stages that never ran are named, not errors
    assert any("select" in o for o in built.omitted) and any("genre" in o for o in built.omitted)
    page = built.html.read_text(encoding="utf-8")
    assert "Spearman ρ" in page and "brighter than average" in page
    assert page.count("<audio") >= 4  # three cards and the MIDI rendered through the SoundFont
    assert "midi (FluidSynth)" in page and "Self-similarity" in page


def test_report_is_self_contained(built):
    page = built.html.read_text(encoding="utf-8")
    # nothing fetched from anywhere: every src/href of the markup is inline data or a page anchor
    assert not re.search(r"<script[^>]*\bsrc=", page)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    links = 0
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', markup):
        if attr.startswith(("tables/", "media/")):  # whole tables (CSV) and MIDI renders beside the report, linked
            assert (built.html.parent / attr).is_file(), attr
            links += 1
            continue
        assert attr.startswith(("data:", "#")), attr
    assert links >= 10


def test_titles_are_escaped(built):
    page = built.html.read_text(encoding="utf-8")
    assert XSS_TITLE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert CJK_TITLE in page  # non-ASCII stays as written (UTF-8), not mangled
    md = built.markdown.read_text(encoding="utf-8")
    assert "<script>" not in md and "<img src=x" not in md and "热门神曲" in md


def test_markdown_twin_references_existing_figures(built):
    md = built.markdown.read_text(encoding="utf-8")
    refs = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert len(refs) >= 5
    for ref in refs:
        p = built.markdown.parent / ref
        assert p.is_file() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chinese_report(corpus, tmp_path):
    from bgmscope.report import build_report

    with Catalog(corpus.catalog_path) as cat:
        res = build_report(cat, corpus, out_dir=tmp_path / "zh", lang="zh", cards=1, jobs=1)
    page = res.html.read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "语料概况" in page and "结论" in page
    assert "比平均更明亮" in page and "brighter than average" not in main_flow(page)  # the appendix keeps both
    with Catalog(corpus.catalog_path) as cat, pytest.raises(ParameterError):
        build_report(cat, corpus, out_dir=tmp_path / "xx", lang="fr")


def test_report_on_empty_catalog(tmp_path):
    from bgmscope.report import build_report

    s = Settings(data_dir=tmp_path / "empty").ensure()
    with Catalog(s.catalog_path) as cat:
        res = build_report(cat, s, jobs=1)
    assert res.songs == 0 and res.html.is_file()
    assert "bgmscope prepare" in res.html.read_text(encoding="utf-8")


def test_cli_report_and_plot(corpus, tmp_path):
    from typer.testing import CliRunner

    from bgmscope.cli import app

    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "report", "--out-dir", str(tmp_path / "r"),
                                 "--cards", "1", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "report.html").is_file()
    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "plot", "waveform", "m3", "nosuchsong",
                                 "--out-dir", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    assert "nosuchsong" in r.output  # reported, and the other song still drawn
    assert (tmp_path / "p" / "waveform_m3.png").is_file() and (tmp_path / "p" / "waveform_m3.svg").is_file()
    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "plot", "pca", "--html",
                                 "--out-dir", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    inter = (tmp_path / "p" / "pca.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in inter and "<script>alert" not in inter
    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "plot", "nonsense"])
    assert r.exit_code != 0


@pytest.mark.browser
def test_report_in_chromium(built, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed here (make setup-test installs it)")
    from playwright.sync_api import sync_playwright

    console_errors, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            external = []  # the page works offline: any request off this file is recorded and refused
            page.route("**/*", lambda route: (external.append(route.request.url), route.abort())
                       if not route.request.url.startswith(("file:", "data:")) else route.continue_())
            page.goto(built.html.as_uri(), wait_until="load")
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30000)
            page.wait_for_function("() => [...document.querySelectorAll('audio')].some(a => a.readyState >= 2)",
                                   timeout=30000)
            images = page.evaluate("() => [...document.images].map(i => [i.alt, i.naturalWidth])")
            states = page.evaluate("() => [...document.querySelectorAll('audio')].map(a => a.readyState)")
            plotted = page.evaluate("() => document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length")
            title_text = page.evaluate("() => document.querySelector('.card h3').innerText")
            shot = built.html.parent / "report-screenshot.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert console_errors == []
    assert external == []
    assert dialogs == []  # no injected title ran
    assert len(images) >= 5 and all(w > 0 for _, w in images), images
    assert max(states) >= 2
    assert plotted == 9  # the interactive PCA scatter drew every song
    assert XSS_TITLE in title_text  # shown as text
    assert shot.stat().st_size > 10000
    keep = Path("/tmp/bgmscope-report-screenshot.png")
    shutil.copy(shot, keep)


def test_problems_recorded_are_only_those_still_standing(tmp_path):
    # issue 12 defect 14: a failure of an earlier run that a later run of the same stage fixed is gone
    from bgmscope.catalog import Catalog
    from bgmscope.report.i18n import Words
    from bgmscope.report.sections import current_failures, failures_section

    with Catalog(tmp_path / "c.duckdb") as cat:
        first = cat.start_run("prepare", {"kind": "first"})
        cat.record_failure(first, "prepare", "fixed.mp3", "DecodeError: truncated")
        cat.record_failure(first, "prepare", "still.mp3", "DecodeError: empty")
        cat.finish_run(first, 0, 2, 0)
        two = cat.start_run("prepare", {"kind": "two"})
        cat.record_failure(two, "prepare", "other-params.mp3", "DecodeError: empty")
        cat.finish_run(two, 0, 1, 0)
        again = cat.start_run("prepare", {"kind": "first"})
        cat.record_failure(again, "prepare", "still.mp3", "DecodeError: empty")
        cat.finish_run(again, 1, 1, 0)
        assert sorted(current_failures(cat)["item"]) == ["other-params.mp3", "still.mp3"]
        assert len(cat.failures()) == 4  # the log itself keeps everything
        sec = failures_section(cat, Words("en"))
        html = str(sec.blocks[0].__dict__)
        assert "still.mp3" in html and "fixed.mp3" not in html
