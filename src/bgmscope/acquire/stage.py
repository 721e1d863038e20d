"""The pipeline's 'acquire' stage.

In the demo, the demo corpus is served on loopback by the real chart server (with a random token,
so the auth path runs too), crawled and downloaded through the real client into the catalog.
Outside the demo there is no chart URL to crawl: the user's files were ingested already.
"""

from __future__ import annotations

import secrets

from ..catalog import now
from ..context import PipelineContext
from ..errors import CatalogError
from .auth import ChartAuth
from .client import ChartClient, RetryPolicy
from .crawl import crawl, default_csv_path
from .download import download
from .server import serve_chart

DEMO_CHART = "demo (synthetic data)"


def run_stage(ctx: PipelineContext) -> dict:
    if not ctx.demo:
        return {"skipped": "no chart URL"}
    corpus = ctx.demo_corpus
    if corpus is None or not getattr(corpus, "chart_csv", None) or not corpus.chart_csv.exists():
        raise CatalogError("the demo corpus is missing (demo-chart.csv); run 'bgmscope demo' to build it")
    token = secrets.token_urlsafe(24)  # lives only in this process's memory
    jobs = max(4, min(16, ctx.jobs * 2))  # downloads wait on I/O, not CPU
    with serve_chart(corpus.root, token=token, seed=ctx.seed) as server, \
            ChartClient(server.base_url, auth=ChartAuth(token=token), rps=0, timeout_s=20.0,
                        retry=RetryPolicy(attempts=6, initial_s=0.05, max_s=1.0, jitter_s=0.05),
                        max_connections=jobs) as client:
        fetched_at = now()
        csv_path = default_csv_path(ctx.settings.export_dir, fetched_at, "user_count", "7d")
        cs = crawl(client, ctx.catalog, top=max(1, len(server.songs)), page_size=50, chart=DEMO_CHART,
                   csv_path=csv_path, fetched_at=fetched_at)
        ds = download(ctx.catalog, ctx.settings, client, jobs=jobs, show_progress=False)
    ctx.outputs["chart CSV"] = csv_path
    ctx.outputs["audio"] = ctx.settings.audio_dir
    return {"served": len(server.songs), "crawled": cs.kept, "rejected": cs.rejected,
            "downloaded": ds.downloaded, "already": ds.present + ds.had_audio, "gone": ds.gone,
            "failed": ds.failed, "requests": client.requests}

