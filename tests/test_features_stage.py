"""The features stage over a real catalog: table, cache, failures, Parquet, CLI and Dask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import clicks, sine, write_audio

from bgmscope.catalog import Catalog
from bgmscope.config import Settings
from bgmscope.errors import CatalogError, ParameterError
from bgmscope.features import STAT42_NAMES, extract_clip, feature_columns, feature_names
from bgmscope.features.extract import FEATURE_VERSION, ID_COLUMNS, VOICED_ONLY
from bgmscope.features.stage import run_features
from bgmscope.prepare.clips import prepare
from bgmscope.prepare.ingest import ingest

SR = 16000


def make_catalog(data_dir: Path, n: int = 4) -> Settings:
    songs = data_dir.parent / "songs"
    for i in range(n):
        y = 0.6 * sine(220 * (i + 1), 40, SR) + clicks(90 + 20 * i, 40, SR)
        write_audio(songs / f"歌曲{i}.wav", y.astype(np.float32), SR, subtype="PCM_16")
    settings = Settings(data_dir=data_dir)
    settings.ensure()
    with Catalog(settings.catalog_path) as cat:
        ingest([songs], cat)
        prepare(cat, settings, kind="first", jobs=1, show_progress=False)
        prepare(cat, settings, kind="two", jobs=1, show_progress=False)
    return settings


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Settings:
    return make_catalog(tmp_path_factory.mktemp("feat") / "data")


def test_stage_writes_one_row_per_clip_and_caches(corpus: Settings):
    with Catalog(corpus.catalog_path) as cat:
        s = run_features(cat, corpus, jobs=1, show_progress=False)
        clips = cat.clips()
        df = cat.read_frame("features")
        assert s.failed == 0 and s.computed == len(clips) == 12 and s.rows == 12
        assert set(df["clip_id"]) == set(clips["clip_id"])
        assert list(df.columns[:4]) == list(ID_COLUMNS)
        assert set(df["clip_kind"]) == {"first", "two"}
        assert feature_columns(df) == feature_names()
        assert list(df[list(STAT42_NAMES)].columns) == list(STAT42_NAMES)
        # missing is NaN, never 0: only the voiced-frame f0 statistics may be missing, and then all of them
        values = df[feature_columns(df)]
        assert np.isfinite(values.drop(columns=list(VOICED_ONLY)).to_numpy()).all()
        unvoiced = df["f0_voiced_ratio"] == 0
        assert df.loc[unvoiced, list(VOICED_ONLY)].isna().all().all()
        assert df.loc[~unvoiced, list(VOICED_ONLY)].notna().all().all()
        assert (df["feature_version"] == FEATURE_VERSION).all()
        # the table holds what extract_clip says for the clip file
        row = df[df["clip_kind"] == "first"].iloc[0]
        path = clips.set_index("clip_id").loc[row["clip_id"], "path"]
        import soundfile as sf

        y, sr = sf.read(str(corpus.data_dir / path), dtype="float32")
        ref = extract_clip(y, sr)
        assert row["tempo_bpm"] == pytest.approx(ref["tempo_bpm"]) and row["amp1std"] == pytest.approx(ref["amp1std"])
        # the Parquet export is the same table
        pq = pd.read_parquet(corpus.export_dir / "features.parquet")
        assert len(pq) == 12 and list(pq.columns) == list(df.columns)
        # rerun: nothing recomputed
        s2 = run_features(cat, corpus, jobs=1, show_progress=False)
        assert (s2.computed, s2.cached, s2.rows) == (0, 12, 12)
        # kind filter with --force recomputes only that kind and keeps the rest
        s3 = run_features(cat, corpus, jobs=1, kind="first", force=True, show_progress=False)
        assert (s3.computed, s3.rows) == (4, 12)
        # rows of an older extractor (version 3 wrote 0 for a missing f0) are recomputed, NaN kept
        old = cat.read_frame("features")
        old["feature_version"] = FEATURE_VERSION - 1
        old[list(VOICED_ONLY)] = old[list(VOICED_ONLY)].fillna(0.0)
        cat.write_frame("features", old)
        s4 = run_features(cat, corpus, jobs=1, export=False, show_progress=False)
        assert (s4.computed, s4.cached, s4.rows) == (12, 0, 12)
        new = cat.read_frame("features")
        assert (new["feature_version"] == FEATURE_VERSION).all()
        assert new.loc[new["f0_voiced_ratio"] == 0, "f0_mean_midi"].isna().all()


def test_tempo_in_the_table_follows_the_songs(corpus: Settings):
    with Catalog(corpus.catalog_path) as cat:
        run_features(cat, corpus, jobs=1, show_progress=False)
        df = cat.query("SELECT f.tempo_bpm, f.f0_median_hz, a.path FROM features f "
                       "JOIN audio_files a ON a.track_id = f.track_id WHERE f.clip_kind = 'first'")
    for r in df.itertuples():
        i = int(Path(r.path).stem[-1])
        assert r.tempo_bpm == pytest.approx(90 + 20 * i, abs=1.5)
        assert r.f0_median_hz == pytest.approx(220 * (i + 1), rel=0.01)


def test_a_broken_clip_is_recorded_and_the_run_goes_on(tmp_path: Path):
    settings = make_catalog(tmp_path / "data", n=2)
    with Catalog(settings.catalog_path) as cat:
        clips = cat.clips("first")
        bad = settings.data_dir / clips["path"].iloc[0]
        bad.write_bytes(b"RIFF garbage, not a wav")
        s = run_features(cat, settings, jobs=1, show_progress=False)
        assert s.failed == 1 and s.computed == 5
        fails = cat.failures(s.run_id)
        assert len(fails) == 1 and fails["item"].iloc[0] == clips["clip_id"].iloc[0]
        assert "\n" not in fails["reason"].iloc[0]
        assert len(cat.read_frame("features")) == 5


def test_missing_upstream_and_bad_options(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "empty").ensure()
    with Catalog(settings.catalog_path) as cat:
        with pytest.raises(CatalogError, match="prepare"):
            run_features(cat, settings, jobs=1, show_progress=False)
        with pytest.raises(ParameterError):
            run_features(cat, settings, engine="spark", show_progress=False)
        with pytest.raises(ParameterError):
            run_features(cat, settings, scheduler="tcp://127.0.0.1:1", show_progress=False)


def test_cli_features_and_describe(corpus: Settings, tmp_path: Path):
    from typer.testing import CliRunner

    from bgmscope.cli import app

    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "features", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert "features.parquet" in r.output and "cached" in r.output
    song = write_audio(tmp_path / "一首歌.wav", 0.5 * sine(440, 6, SR) + clicks(120, 6, SR), SR)
    out = tmp_path / "v.json"
    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "describe", str(song), "--out", str(out)])
    assert r.exit_code == 0, r.output
    import json

    v = json.loads(out.read_text(encoding="utf-8"))
    assert v["f0_median_hz"] == pytest.approx(440, rel=0.01) and len(v) == len(feature_names())
    r = CliRunner().invoke(app, ["--data-dir", str(corpus.data_dir), "describe", str(tmp_path / "nope.mp3")])
    assert r.exit_code != 0


def test_dask_local_cluster_gives_the_local_result(corpus: Settings, tmp_path: Path):
    pytest.importorskip("distributed")
    import shutil

    d2 = tmp_path / "data"
    shutil.copytree(corpus.data_dir, d2)
    other = Settings(data_dir=d2)
    with Catalog(corpus.catalog_path) as cat:
        run_features(cat, corpus, jobs=1, show_progress=False)
        local = cat.read_frame("features").sort_values("clip_id").reset_index(drop=True)
    with Catalog(other.catalog_path) as cat:
        s = run_features(cat, other, jobs=2, engine="dask", force=True, show_progress=False)
        assert s.computed == 12 and s.failed == 0
        dask = cat.read_frame("features").sort_values("clip_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(local, dask)


def test_pipeline_stage_runs_and_reports(corpus: Settings, tmp_path: Path):
    from rich.console import Console

    from bgmscope.context import PipelineContext
    from bgmscope.features.stage import run_stage

    with Catalog(corpus.catalog_path) as cat:
        ctx = PipelineContext(cat, corpus, 1, Console(file=open(tmp_path / "log.txt", "w")))
        out = run_stage(ctx)
        assert out["clips"] == 12 and out["failed"] == 0
        assert ctx.outputs["features"].name == "features.parquet"
    empty = Settings(data_dir=tmp_path / "none").ensure()
    with Catalog(empty.catalog_path) as cat:
        with pytest.raises(CatalogError):
            run_stage(PipelineContext(cat, empty, 1, Console(file=open(tmp_path / "log2.txt", "w"))))


def test_unreachable_scheduler_fails_clearly_and_closes_the_run(corpus: Settings, tmp_path: Path):
    pytest.importorskip("distributed")
    import shutil
    import socket

    d2 = tmp_path / "data"
    shutil.copytree(corpus.data_dir, d2)
    other = Settings(data_dir=d2)
    with socket.socket() as s:  # a free loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Catalog(other.catalog_path) as cat:
        with pytest.raises(ParameterError, match="scheduler"):
            run_features(cat, other, engine="dask", scheduler=f"tcp://127.0.0.1:{port}", force=True,
                         show_progress=False)
        runs = cat.query("SELECT finished_at FROM runs WHERE stage = 'features' ORDER BY started_at DESC LIMIT 1")
        assert runs["finished_at"].notna().all()


def test_twins_sharing_audio_each_get_a_feature_row_from_one_extraction(tmp_path):
    from test_prepare import twin_corpus

    twin_corpus(tmp_path / "in")
    settings = Settings(data_dir=tmp_path / "data")
    with Catalog(settings.catalog_path) as cat:
        ingest([tmp_path / "in"], cat)
        prepare(cat, settings, jobs=1, show_progress=False)
        s = run_features(cat, settings, jobs=1, export=False, show_progress=False)
        assert (s.computed, s.shared, s.rows, s.failed) == (2, 6, 8, 0)
        df = cat.read_frame("features")
        twins = df[df["track_id"].str.startswith("1")].sort_values("track_id")
        assert twins["track_id"].tolist() == [str(100 + i) for i in range(7)]
        assert twins["clip_id"].nunique() == 7
        values = twins[feature_columns(df)].fillna(-1.0).to_numpy()
        assert (values == values[0]).all()  # the same file, the same description
        # a twin added later is described from the cached row, with no extraction
        (tmp_path / "in2").mkdir()
        (tmp_path / "in2" / "copy.wav").write_bytes((tmp_path / "in" / "100.wav").read_bytes())
        ingest([tmp_path / "in2"], cat)
        prepare(cat, settings, jobs=1, show_progress=False)
        late = run_features(cat, settings, jobs=1, export=False, show_progress=False)
        assert (late.computed, late.shared, late.cached, late.rows) == (0, 1, 8, 9)


@pytest.mark.parametrize("jobs", [0, -3])
def test_features_refuses_bad_jobs(corpus: Settings, jobs):
    with Catalog(corpus.catalog_path) as cat, pytest.raises(ParameterError, match="jobs"):
        run_features(cat, corpus, jobs=jobs, show_progress=False)
