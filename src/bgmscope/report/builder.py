"""Build the report: one self-contained HTML file (figures and audio embedded, plotly.js inline,
no network) and a Markdown twin whose figures are PNG files beside it.

Everything is drawn from the catalog, so the report shows whichever stages have run; a section
whose stage has not stored results is named in a one-line note instead.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .. import __version__
from ..catalog import Catalog
from ..config import Settings
from ..engine import run_map
from ..fsutil import atomic_write_bytes, atomic_write_text
from . import sections as S
from .appendix import appendix_section
from .blocks import Card, Figure, Plotly, Section
from .conclusions import conclusions_section, source_attrs
from .evidence import FigureCache, build_figures, stored_ssm_figure
from .i18n import Words, check_lang
from .media import data_uri
from .songs import SongTask, song_cache_key, song_job, stored_facts

DEFAULT_CARDS = 12


@dataclass
class ReportResult:
    html: Path
    markdown: Path
    figures_dir: Path
    sections: list[str]
    omitted: list[str]
    songs: int
    cards: int
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per part (songs, each section, write)
    figures_cached: int = 0  # figures read back from the content-hash cache
    figures_drawn: int = 0  # figures drawn in this run


def _song_clips(cat: Catalog) -> pd.DataFrame:
    """One clip per song, in chart order: the 'first' clip if cut, else the newest kind."""
    clips = cat.clips()
    if clips.empty:
        return clips
    kind = "first" if (clips["clip_kind"] == "first").any() else cat.latest_clip_kind()
    c = clips[(clips["clip_kind"] == kind) & (clips["clip_index"] == 0)].drop_duplicates("track_id")
    c = c.sort_values(["rank", "user_count"], ascending=[True, False], na_position="last", kind="stable")
    c["title"] = c["title"].where(c["title"].notna() & (c["title"].astype(str) != ""), c["track_id"])
    return c.reset_index(drop=True)


def build_report(cat: Catalog, settings: Settings, *, out_dir: Path | None = None, lang: str = "en",
                 cards: int = DEFAULT_CARDS, jobs: int = 1, show_progress: bool = False,
                 also_langs: tuple[str, ...] = ()) -> ReportResult:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``, ``tables/*.csv``).

    The conclusions come first, each with the figures that support it; then the corpus, the song
    cards and each stage's section (songs by title, no ids); the appendix holds every table.

    Parameters
    ----------
    cat : the open catalog.
    settings : paths (``report_dir`` is the default output; ``data_dir/cache/report`` caches figures).
    out_dir : where to write; default ``settings.report_dir``.
    lang : ``'en'`` or ``'zh'`` (headings, sentences, captions and figure axis words).
    cards : how many songs (in chart order) get a card with a player, waveform, spectrogram and pitch.
    jobs : worker processes for the card figures that are not cached yet.
    also_langs : languages whose reports follow (the pipeline builds en, then zh): each card drawn
        now is also stored for them, from the same figure and with the same Opus clip, so the next
        build reads it back instead of reading, analysing and encoding the clip again.
    """
    t0 = time.perf_counter()
    w = Words(check_lang(lang))
    if cards < 0:
        from ..errors import ParameterError

        raise ParameterError(f"--cards must be >= 0, got {cards}")
    out_dir = Path(out_dir or settings.report_dir)
    run_id = cat.start_run("report", {"lang": lang, "cards": cards, "out": str(out_dir)})
    fc = FigureCache(Path(settings.data_dir) / "cache" / "report", lang)

    clips = _song_clips(cat)
    also = tuple(sorted({check_lang(x) for x in also_langs} - {lang}))
    tasks = [SongTask(r.clip_id, r.track_id, str(settings.data_dir), r.path, str(r.title), True, lang, also)
             for r in clips.head(cards).itertuples()]
    failed: list[tuple[str, str]] = []
    timings: dict[str, float] = {}
    card_cache = Path(settings.data_dir) / "cache" / "report" / "songs"
    tick = time.perf_counter()
    results, todo = _cached_cards(tasks, card_cache)
    # With a second core the cards are drawn in a worker process while this thread draws the
    # evidence figures and the sections that do not show a card: the two halves take about as
    # long, and one worker instead of two keeps the process tree's memory down (~0.5 GB each).
    drawing = None
    if todo and jobs >= 2:
        executor = ThreadPoolExecutor(1, thread_name_prefix="report-cards")
        drawing = executor.submit(_draw_cards, todo, card_cache, max(1, min(jobs - 1, len(todo) // 2)),
                                  show_progress, False)
        executor.shutdown(wait=False)  # its one task still runs; drawing.result() waits for it
    else:
        drawn, card_failures = _draw_cards(todo, card_cache, max(1, min(jobs, len(todo) // 2)), show_progress)
    facts = stored_facts(cat.read_frame("features"))
    songs = _songs_frame(clips, facts)
    top_song = None
    if not clips.empty:
        from ..prepare.clips import load_clip

        first = clips.iloc[0]
        try:
            y, sr = load_clip(settings.data_dir, first["path"])
            top_song = (song_cache_key(SongTask(first["clip_id"], first["track_id"], str(settings.data_dir),
                                                first["path"], str(first["title"]), False, lang)), y, sr)
        except Exception as exc:  # a vanished clip file costs one figure, not the report
            failed.append((str(first["title"]), f"mfcc figure: {exc}"))
    timings["per-song work"] = time.perf_counter() - tick

    tick = time.perf_counter()
    figs = build_figures(cat, w, fc)
    if not clips.empty:
        ssm = stored_ssm_figure(cat, settings, w, fc, str(clips.iloc[0]["track_id"]), str(clips.iloc[0]["title"]))
        if ssm is not None:
            figs["ssm"] = ssm
    timings["evidence figures"] = time.perf_counter() - tick

    card_list: list[Card] = []
    plan = [  # (key, stage, needs the cards, make)
        (None, None, True, lambda: conclusions_section(cat, w, figs)),
        (None, None, False, lambda: S.summary_section(cat, w, songs, fc)),
        (None, None, True, lambda: S.cards_section(w, card_list)),
        (None, None, False, lambda: S.features_section(cat, w, fc, top_song)),
        ("select", "select", False, lambda: S.select_section(cat, w, fc)),
        ("cluster", "cluster", False, lambda: S.cluster_section(cat, w, figs)),
        ("genre", "genre", False, lambda: S.genre_section(cat, w, fc)),
        ("midi", "transcribe", False, lambda: S.midi_section(cat, w, settings.data_dir, fc, out_dir / "media")),
        (None, None, False, lambda: S.failures_section(cat, w)),
        (None, None, False, lambda: appendix_section(cat, w, out_dir)),
    ]
    made: dict[int, Section | None] = {}

    def make_sections(with_cards: bool) -> None:
        for i, (key, _stage, needs_cards, make) in enumerate(plan):
            if needs_cards != with_cards:
                continue
            tick = time.perf_counter()
            try:
                made[i] = make()
            except Exception as exc:  # one unreadable table costs its section, and the reason is shown
                failed.append((key or "section", f"{type(exc).__name__}: {exc}"))
                cat.record_failure(run_id, "report", key or "section", f"{type(exc).__name__}: {exc}")
                made[i] = exc
                continue
            sec = made[i]
            timings[sec.id if sec is not None else (key or f"part{i}")] = time.perf_counter() - tick

    make_sections(with_cards=False)
    if drawing is not None:
        tick = time.perf_counter()
        drawn, card_failures = drawing.result()
        timings["waiting for the cards"] = time.perf_counter() - tick
    results.update(drawn)
    for track_id, title, err in card_failures:  # recorded here: the catalog is this thread's alone
        failed.append((title, err))
        cat.record_failure(run_id, "report", track_id, err)

    for i, r in enumerate(clips.head(cards).itertuples()):
        res = results.get(r.clip_id)
        if not res:
            continue
        tempo = float(facts.at[r.clip_id, "tempo_bpm"]) if r.clip_id in facts.index else float("nan")
        key = str(facts.at[r.clip_id, "key"]) if r.clip_id in facts.index else ""
        chips = [(w("user_count"), S.fmt(r.user_count)),
                 (w("tempo"), S.fmt(round(tempo)) if np.isfinite(tempo) and tempo > 0 else ""), (w("key"), key)]
        card_list.append(Card(title=str(r.title), author="" if pd.isna(r.author) else str(r.author),
                              rank="" if pd.isna(r.rank) else str(int(r.rank)), facts=chips, png=res["card_png"],
                              audio_src=data_uri(res["audio_ogg"], "audio/ogg"), name=f"card_{i + 1:02d}"))
    if card_list and clips.iloc[0]["clip_id"] in results:
        figs["card"] = Figure(name="card_top", png=results[clips.iloc[0]["clip_id"]]["card_png"], caption=w("e_card"))
    make_sections(with_cards=True)

    omitted: list[str] = []
    secs: list[Section] = []
    for i, (key, stage, _needs_cards, _make) in enumerate(plan):
        sec = made.get(i)
        if isinstance(sec, Exception):
            if key:
                omitted.append(f"{w(key)}: {type(sec).__name__}: {sec}")
            continue
        if sec is None:
            if key:
                omitted.append(w("section_missing", s=w(key), stage=stage))
            continue
        secs.append(sec)

    tick = time.perf_counter()
    html_path, md_path, fig_dir = _write(out_dir, secs, omitted, w, cat)
    timings["write"] = time.perf_counter() - tick
    cat.finish_run(run_id, ok=len(results), failed=len(failed), skipped=0)
    return ReportResult(html_path, md_path, fig_dir, [s.id for s in secs], omitted, songs=len(clips),
                        cards=len(card_list), failed=failed, seconds=time.perf_counter() - t0, timings=timings,
                        figures_cached=fc.hits, figures_drawn=fc.misses)


def _cached_cards(tasks: list[SongTask], cache: Path) -> tuple[dict[str, dict], list[tuple[SongTask, str | None]]]:
    """Card figure and Opus clip per song read back by the clip's content hash, and the tasks
    (with their cache keys) whose cards are not cached yet."""
    results: dict[str, dict] = {}
    todo: list[tuple[SongTask, str | None]] = []
    for t in tasks:
        key = song_cache_key(t)
        png, ogg = (cache / f"{key}.png", cache / f"{key}.ogg") if key else (None, None)
        if png is not None and png.is_file() and ogg.is_file():
            results[t.clip_id] = {"card_png": png.read_bytes(), "audio_ogg": ogg.read_bytes()}
        else:
            todo.append((t, key))
    return results, todo


def _draw_cards(todo: list[tuple[SongTask, str | None]], cache: Path, jobs: int, show_progress: bool,
                inline: bool | None = None) -> tuple[dict[str, dict], list[tuple[str, str, str]]]:
    """Draw the missing cards (``jobs`` workers; ``inline=False``: in a worker even for one job)
    and cache them for every language asked. Returns the results by clip id and the failures as
    (track id, title, reason); it touches no catalog, so it may run in a thread of its own."""
    results: dict[str, dict] = {}
    failures: list[tuple[str, str, str]] = []
    if not todo:
        return results, failures
    keys = {t.clip_id: k for t, k in todo}
    for o in run_map(song_job, [t for t, _ in todo], jobs=jobs, desc="report: songs", show_progress=show_progress,
                     inline=inline):
        if o.error:
            failures.append((o.item.track_id, o.item.title, o.error))
            continue
        results[o.item.clip_id] = o.result
        key = keys.get(o.item.clip_id)
        if key:
            cache.mkdir(parents=True, exist_ok=True)
            for lang, png in o.result.get("cards_png", {o.item.lang: o.result["card_png"]}).items():
                k = key if lang == o.item.lang else song_cache_key(replace(o.item, lang=lang, also=()))
                if k:
                    atomic_write_bytes(cache / f"{k}.png", png)
                    atomic_write_bytes(cache / f"{k}.ogg", o.result["audio_ogg"])
    return results, failures


def _songs_frame(clips: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """One row per song (chart order): title and the features stage's tempo and key of its clip."""
    if clips.empty:
        return pd.DataFrame(columns=["clip_id", "track_id", "title", "tempo_bpm", "key"])
    df = clips[["clip_id", "track_id", "title"]].copy()
    df["tempo_bpm"] = [float(facts.at[c, "tempo_bpm"]) if c in facts.index else np.nan for c in df["clip_id"]]
    df.loc[df["tempo_bpm"] <= 0, "tempo_bpm"] = np.nan  # 0: no pulse found
    df["key"] = [str(facts.at[c, "key"]) if c in facts.index else "" for c in df["clip_id"]]
    return df


# -- writing ------------------------------------------------------------------------------------------
def _env() -> Environment:
    env = Environment(loader=PackageLoader("bgmscope.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["png_uri"] = lambda b: data_uri(b, "image/png")
    env.filters["num_attrs"] = source_attrs
    return env


def _write(out_dir: Path, secs: list[Section], omitted: list[str], w: Words, cat: Catalog) -> tuple[Path, Path, Path]:
    from ..viz.interactive import plotly_bundle

    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    has_plotly = any(isinstance(b, Plotly) for s in secs for b in s.blocks)
    # Scripts run only with this page's nonce (CSP): defence in depth behind the escaping of titles.
    nonce = secrets.token_urlsafe(18)
    for s in secs:
        for b in s.blocks:
            if isinstance(b, Plotly):  # built by plotly from escaped values; see viz.interactive
                b.html = Markup(re.sub(r"<script(?=[\s>])", f'<script nonce="{nonce}"', str(b.html)))
    page = _env().get_template("report.html.j2").render(
        w=w, lang=w.lang, nonce=nonce, sections=secs, omitted=omitted, generated=stamp, version=__version__,
        catalog=str(cat.path), plotly_js=Markup(_script_safe(plotly_bundle())) if has_plotly else "",
    )
    html_path = out_dir / "report.html"
    atomic_write_text(html_path, page)
    md_path = out_dir / "report.md"
    atomic_write_text(md_path, _markdown(secs, omitted, w, stamp, fig_dir))
    return html_path, md_path, fig_dir


def _script_safe(js: str) -> str:
    # a literal "</script" inside the bundle would end the element early
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _md(s: object) -> str:
    """Text for Markdown: HTML-escaped (Markdown renderers pass raw HTML through) and table-safe."""
    text = html_lib.escape(str(s), quote=False).replace("\n", " ")
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    return text.replace("|", "\\|")  # after the backslashes, so the pipe's own escape is not escaped again


def _save_png(fig_dir: Path, name: str, png: bytes) -> str:
    path = fig_dir / f"{name}.png"
    atomic_write_bytes(path, png)
    return f"figures/{path.name}"


def _markdown(secs: list[Section], omitted: list[str], w: Words, stamp: str, fig_dir: Path) -> str:
    L = [f"# {w('title')}", "", f"_{w('subtitle')}_", "", f"{w('generated')}: {stamp}", ""]
    for s in secs:
        L += [f"## {_md(s.heading)}", ""]
        if s.lead:
            L += [_md(s.lead), ""]
        for b in s.blocks:
            L += _md_block(b, fig_dir, w) + [""]
    if omitted:
        L += [f"## {w('omitted')}", ""] + [f"- {_md(o)}" for o in omitted] + [""]
    return "\n".join(L)


def _md_block(b, fig_dir: Path, w: Words) -> list[str]:
    if isinstance(b, Figure):
        return [f"![{_md(b.caption)}]({_save_png(fig_dir, b.name, b.png)})", "", f"*{_md(b.caption)}*"]
    if isinstance(b, Plotly):
        return _md_block(b.fallback, fig_dir, w) if b.fallback else []
    kind = b.kind
    if kind == "claim":
        out = [f"### {_md(b.heading)}", ""]
        out += [f"- {_md(''.join(p if isinstance(p, str) else p.text for p in sn))}" for sn in b.sentences]
        if b.reasons:
            out += ["", f"*{_md(w('left_out'))}:* " + " · ".join(_md(r) for r in b.reasons)]
        for f in b.evidence:
            out += [""] + _md_block(f, fig_dir, w)
        return out
    if kind == "details":
        out = [f"<details><summary>{_md(b.summary)}</summary>", ""]
        for t in b.blocks:
            out += _md_block(t, fig_dir, w) + [""]
        return out + ["</details>"]
    if kind == "table":
        out = [f"**{_md(b.caption)}**", ""] if b.caption else []
        if not b.columns:
            return out + [_md(b.note)]
        out += ["| " + " | ".join(_md(c) for c in b.columns) + " |", "|" + "---|" * len(b.columns)]
        out += ["| " + " | ".join(_md(v) for v in row) + " |" for row in b.rows]
        if b.link:
            out += ["", f"[{_md(w('csv'))}]({b.link})"]
        return out + (["", _md(b.note)] if b.note else [])
    if kind == "text":
        return [(f"**{_md(b.strong)}** " if b.strong else "") + _md(b.text)]
    if kind == "bullets":
        return [f"- {_md(i)}" for i in b.items]
    if kind == "stats":
        return [" · ".join(f"**{_md(v)}** {_md(k)}" for v, k in b.items)]
    if kind == "audio":
        return [f"{_md(b.caption)}: " + ", ".join(_md(i["label"]) for i in b.items) + " (audio in report.html)"]
    if kind == "cards":
        out = [f"*{_md(b.caption)}*", ""]
        for c in b.cards:
            facts = "; ".join(f"{_md(k)} {_md(v)}" for k, v in c.facts if v)
            out += [f"### {_md(c.rank + '. ') if c.rank else ''}{_md(c.title)} — {_md(c.author)}", "", facts, ""]
            if c.png:
                out += [f"![{_md(c.title)}]({_save_png(fig_dir, c.name, c.png)})", ""]
        return out
    return []


def figure_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
