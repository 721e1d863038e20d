"""The tagger's tags against popularity: "are hot BGMs more often happy / danceable / female-vocal?"

Reads the ``tags`` table of the tags stage (one row per song, model and tag: the tag's mean score
over the song's clips) and tests each tag's mean score against each popularity target with the
machinery the descriptors use (:func:`.stats.spearman_table`: Spearman rho, percentile-bootstrap
95 % CI, BH q). q is recomputed over every tag of one target (all models together), so a second
tagger adds tests to the same correction instead of getting its own.

Each of the 100 musicnn tags (MSD and MTT, 50 each) has a fixed group in :data:`TAG_GROUPS`; a tag
a future model brings that is not listed is ``other``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from . import stats

COLUMNS = ["target", "tag", "tag_group", "model", "rho", "ci_low", "ci_high", "p", "q", "n"]
GROUPS = ("genre", "mood", "vocal", "instrument", "other")

_GENRE = ("rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz", "metal",
          "classic rock", "soul", "indie rock", "electronica", "folk", "punk", "blues", "hard rock", "ambient",
          "experimental", "Hip-Hop", "country", "funk", "electro", "heavy metal", "Progressive rock", "rnb",
          "indie pop", "House", "easy listening", "chillout",  # MSD (last.fm genres and styles)
          "classical", "techno", "indian", "opera", "new age", "classic")  # MTT ('classic' = classical)
_MOOD = ("beautiful", "Mellow", "chill", "party", "sexy", "catchy", "sad", "happy",  # MSD
         "soft", "weird")  # MTT
_VOCAL = ("female vocalists", "male vocalists", "female vocalist", "instrumental",  # MSD
          "vocal", "female", "male", "singing", "vocals", "no vocals", "woman", "male vocal", "no vocal",
          "man", "choir", "voice", "male voice", "female vocal", "no voice", "female voice", "choral")  # MTT
_INSTRUMENT = ("guitar", "acoustic",  # MSD
               "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute", "sitar", "harp",
               "cello")  # MTT
# other: decades and eras (MSD: 00s 60s 70s 80s 90s oldies), tempo, loudness and texture (MTT:
# slow fast loud quiet beat beats solo) -- descriptions, not genre, mood, voice or instrument
_OTHER = ("00s", "60s", "70s", "80s", "90s", "oldies", "slow", "fast", "loud", "quiet", "beat", "beats", "solo")

TAG_GROUPS: dict[str, str] = {
    **{t: "genre" for t in _GENRE}, **{t: "mood" for t in _MOOD}, **{t: "vocal" for t in _VOCAL},
    **{t: "instrument" for t in _INSTRUMENT}, **{t: "other" for t in _OTHER}}


def tag_group(tag: str) -> str:
    """The fixed group of a musicnn tag (``other`` for a tag no listed model has)."""
    return TAG_GROUPS.get(tag, "other")


def tag_matrix(tags: pd.DataFrame, model: str) -> pd.DataFrame:
    """Songs × tags of one model: each song's mean score per tag (index track_id)."""
    need = {"track_id", "model", "tag", "mean"}
    if not need <= set(tags.columns):
        raise ParameterError(f"the tags table lacks columns {sorted(need - set(tags.columns))}")
    t = tags[tags["model"] == model]
    return t.pivot_table(index="track_id", columns="tag", values="mean", aggfunc="mean")


def tag_correlations(songs: pd.DataFrame, tags: pd.DataFrame, targets: tuple[str, ...], *,
                     n_boot: int = 1000, random_state: int = 0,
                     notes: list[str] | None = None) -> pd.DataFrame:
    """Every tag's mean score against every target (rows of :data:`COLUMNS`).

    ``songs`` has ``track_id`` and the target columns (one row per song, edits already folded);
    a song without tags is left out of the tag tests. A target or model with fewer than
    :data:`.stats.MIN_SONGS` tagged songs is skipped with a note.
    """
    notes = notes if notes is not None else []
    parts = []
    for model in sorted(tags["model"].dropna().unique()):
        M = tag_matrix(tags, model)
        joined = songs.merge(M, left_on="track_id", right_index=True, how="inner")
        cols = list(M.columns)
        for target in targets:
            if target not in joined.columns:
                continue
            y = pd.to_numeric(joined[target], errors="coerce")
            if y.notna().sum() < stats.MIN_SONGS or y.nunique() < 3:
                notes.append(f"tags ({model}) vs {target}: {int(y.notna().sum())} tagged songs with varying "
                             f"values; need >= {stats.MIN_SONGS}, not tested")
                continue
            try:
                tab = stats.spearman_table(joined[cols], y, n_boot=n_boot, random_state=random_state)
            except ParameterError as exc:  # e.g. every tag constant over these songs
                notes.append(f"tags ({model}) vs {target}: not tested ({exc})")
                continue
            parts.append(tab.rename(columns={"feature": "tag"}).assign(target=target, model=model))
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["tag_group"] = out["tag"].map(tag_group)
    out["q"] = np.nan
    for _, idx in out.groupby("target", sort=False).groups.items():  # BH within target, over every tag
        out.loc[idx, "q"] = stats.bh_qvalues(out.loc[idx, "p"])
    out = out.sort_values(["target", "p", "model", "tag"], kind="stable", na_position="last")
    return out[COLUMNS].reset_index(drop=True)


def _more_often(target: str, rho: float) -> str:
    # rank 1 is the top of the chart: a negative rho with rank means hotter songs score higher
    hotter_higher = rho < 0 if target == "rank" else rho > 0
    return "more" if hotter_higher else "less"


def tag_findings(table: pd.DataFrame, *, alpha: float = 0.05, per_target: int = 10) -> list[tuple[str, str]]:
    """``hits_summary`` rows: one per FDR-significant tag effect (at most ``per_target`` per
    target, then a count of the rest), or one line saying none passed."""
    lines: list[tuple[str, str]] = []
    for target, g in table.groupby("target", sort=False):
        sig = g[g["q"] < alpha].sort_values("q", kind="stable")
        if sig.empty:
            lines.append(("tags", f"{target}: no tag passes FDR {alpha:g} across {len(g)} tag tests "
                                  f"(smallest q = {g['q'].min():.2f}, n = {int(g['n'].max())})"))
            continue
        for r in sig.head(per_target).itertuples():
            lines.append(("tags", f"{target}: hot BGMs are {_more_often(target, r.rho)} often '{r.tag}' "
                                  f"({r.tag_group}, musicnn-{r.model}): ρ = {r.rho:+.2f} "
                                  f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}], q = {r.q:.3g}, n = {int(r.n)}"))
        if len(sig) > per_target:
            lines.append(("tags", f"{target}: {len(sig) - per_target} more tags pass FDR {alpha:g} "
                                  "(table hits_tags)"))
    return lines
