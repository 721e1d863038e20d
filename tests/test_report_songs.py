"""The report's song cards show the features stage's stored tempo and key (one key estimator,
one tempo): after the features stage, each card's chips are that clip's stored row."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import clicks, write_audio

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.features.stage import run_features
from bgmscope.features.tonal import key_label
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest
from bgmscope.report import build_report

SR = 16000


def _triad(root_hz: float, minor: bool, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    for semis in (0, 3 if minor else 4, 7):
        f = root_hz * 2 ** (semis / 12)
        for h in (1, 2, 3):
            y += 0.2 / h * np.sin(2 * np.pi * f * h * t)
    return y


def _chart_of_triads(tmp_path: Path) -> Path:
    songs = tmp_path / "songs"
    roots = [(261.63, False), (220.0, True), (392.0, False)]  # C major, A minor, G major
    for i, (root, minor) in enumerate(roots):
        y = 0.5 * _triad(root, minor, 8.0) + 0.5 * clicks(90 + 20 * i, 8.0, SR)
        write_audio(songs / f"m{i}.wav", (0.8 * y / np.max(np.abs(y))).astype(np.float32), SR, subtype="PCM_16")
    pd.DataFrame({"音乐ID": ["m0", "m1", "m2"], "音乐名": ["do", "la", "sol"], "使用人数": [300, 200, 100],
                  "排名": [1, 2, 3]}).to_csv(songs / "chart.csv", index=False)
    return songs


def test_cards_show_the_stored_tempo_and_key(tmp_path: Path):
    songs = _chart_of_triads(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", clip_length_s=6.0)
    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([songs], cat)
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        before = build_report(cat, settings, out_dir=tmp_path / "before", cards=3, jobs=1)
        run_features(cat, settings, jobs=1, show_progress=False)
        feats = cat.read_frame("features")
        res = build_report(cat, settings, out_dir=tmp_path / "after", cards=3, jobs=1)
    assert before.cards == res.cards == 3 and not res.failed
    html = res.html.read_text(encoding="utf-8")
    chips = re.findall(r'<div class="chips">(.*?)</div>', html, flags=re.S)
    assert len(chips) == 3
    stored = feats.set_index("track_id")
    for track_id, chip in zip(["m0", "m1", "m2"], chips, strict=True):
        row = stored.loc[track_id]
        key = key_label(int(row["key_pc"]), "major" if row["key_mode"] >= 0.5 else "minor")
        assert f"key {key}</span>" in chip, (track_id, chip)
        assert f"tempo (BPM) {round(float(row['tempo_bpm']))}</span>" in chip, (track_id, chip)
    assert [k for k in ("C major", "A minor", "G major") if k in html] == ["C major", "A minor", "G major"]
    # before the features stage there is no stored tempo or key, and the cards say none
    old = before.html.read_text(encoding="utf-8")
    assert len(re.findall(r'<div class="chips">', old)) == 3 and "tempo " not in "".join(
        re.findall(r'<div class="chips">(.*?)</div>', old, flags=re.S))


def test_cards_drawn_in_a_worker_beside_the_figures_are_the_inline_ones(tmp_path: Path):
    """jobs=2 draws the cards in a worker process while the report's thread draws the other
    figures: the same report, and a card whose clip vanished is a recorded failure, not a crash."""
    songs = _chart_of_triads(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", clip_length_s=6.0)
    settings.ensure()
    cards = settings.data_dir / "cache" / "report" / "songs"
    with Catalog(settings.catalog_path) as cat:
        ingest([songs], cat)
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        inline = build_report(cat, settings, out_dir=tmp_path / "inline", cards=3, jobs=1)
        assert len(list(cards.glob("*.png"))) == 3
        for f in cards.iterdir():  # drawn again, now in the worker
            f.unlink()
        beside = build_report(cat, settings, out_dir=tmp_path / "beside", cards=3, jobs=2)
        assert len(list(cards.glob("*.png"))) == 3
        assert inline.cards == beside.cards == 3 and not beside.failed
        assert "waiting for the cards" in beside.timings and "waiting for the cards" not in inline.timings
        a, b = (r.html.read_text(encoding="utf-8") for r in (inline, beside))
        card = re.compile(r'<div class="chips">.*?</div>', flags=re.S)
        assert card.findall(a) == card.findall(b) and len(card.findall(b)) == 3
        assert a.count("data:audio/ogg;base64,") == b.count("data:audio/ogg;base64,") >= 3

        for f in cards.iterdir():
            f.unlink()
        clip = cat.clips().sort_values("rank").iloc[1]
        (settings.data_dir / clip["path"]).unlink()
        broken = build_report(cat, settings, out_dir=tmp_path / "broken", cards=3, jobs=2)
        assert broken.cards == 2 and [t for t, _ in broken.failed] == [clip["title"]]
        failures = cat.read_frame("failures")
        assert ((failures["stage"] == "report") & (failures["item"] == clip["track_id"])).any()
