"""The ``transcribe`` pipeline stage: melodies, SSMs and repetition of every song (its hook clip
when the prepare stage cut one, else its first 45 s), then one composition learnt from the top
cluster (the whole chart when there are no clusters), rendered."""

from __future__ import annotations

from pathlib import Path

from ..errors import BgmscopeError
from ..select.stagecache import StageCache, cached_stage
from .songs import midi_dir, transcribe_catalog
from .training import compose_from_catalog


def run_stage(ctx) -> dict:
    ref_dir, tempi = None, None
    if ctx.demo and ctx.demo_corpus is not None:
        ref_dir = ctx.demo_corpus.midi_dir  # ground truth: score each transcription against it
        songs = ctx.demo_corpus.songs
        if "tempo_bpm" in songs:
            tempi = dict(zip(songs["音乐ID"].astype(str), songs["tempo_bpm"].astype(float), strict=True))
    s = transcribe_catalog(ctx.catalog, ctx.settings, jobs=ctx.jobs, max_seconds=45.0,
                           reference_dir=ref_dir, reference_tempi=tempi, show_progress=False)
    for item, reason in s.failures[:10]:
        ctx.console.print(f"  [red]failed[/red] {item}: {reason}", highlight=False)
    ctx.outputs["midi"] = midi_dir(ctx.settings)
    result = {"songs": s.ok + s.skipped, "failed": s.failed, "notes": s.notes,
              "audio": ", ".join(f"{n} {k}" for k, n in sorted(s.audio_kinds.items())) or "none redone"}
    cluster = "top" if ctx.catalog.has_table("cluster_assignments") else None
    out = cached_stage(compose_cache(ctx, cluster), lambda: _compose(ctx, cluster), console=ctx.console)
    if out.get("composition"):
        ctx.outputs["composition"] = Path(out["composition"])
    result.update({k: v for k, v in out.items() if k not in ("composition", "cached")})
    return result


def compose_cache(ctx, cluster: str | None):
    """The composition's inputs: the melodies, the clusters and chart facts that pick the training
    songs, the seed; a rerun over the same ones keeps the stored composition (and its log row)."""
    s = ctx.settings
    stem = midi_dir(s) / "compositions" / f"seed{ctx.seed}"
    return StageCache(ctx.catalog, s.data_dir, "compose",
                      inputs=["midi_songs", "midi_notes", "cluster_assignments", "tracks"],
                      outputs=["midi_compositions"], params={"seed": ctx.seed, "cluster": cluster},
                      code=["midi", "synth"], files=(stem.with_suffix(".mid"), stem.with_suffix(".mp3")))


def _compose(ctx, cluster: str | None) -> dict:
    try:
        try:
            c = compose_from_catalog(ctx.catalog, ctx.settings, seed=ctx.seed, cluster=cluster)
        except BgmscopeError as exc:
            if cluster is None:
                raise
            ctx.console.print(f"  compose: {exc}; learning from the whole chart instead")
            c = compose_from_catalog(ctx.catalog, ctx.settings, seed=ctx.seed, cluster=None)
    except BgmscopeError as exc:
        ctx.console.print(f"  [yellow]compose skipped: {exc}[/yellow]")
        return {"composed": "no"}
    return {"composed_from": c.source, "longest_copied": c.composition.longest_copied,
            "composition": str(c.audio_path or c.midi_path)}
