"""Fonts for figures: pick a CJK font and an emoji-capable outline font automatically.

Chart titles are Chinese and often carry emoji. Matplotlib (>= 3.6) falls back along a list of
families glyph by glyph, so the figures use ``[Latin, CJK, emoji]``. Colour-bitmap emoji fonts
(Noto Color Emoji) cannot be drawn by Agg at arbitrary sizes, so the emoji slot takes an outline
font (Symbola, Noto Emoji). ``make setup`` installs fonts-noto-cjk and fonts-symbola.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window

from matplotlib import font_manager as fm  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

LATIN = ["DejaVu Sans"]
CJK_CANDIDATES = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                  "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "SimHei",
                  "Microsoft YaHei", "PingFang SC", "Noto Serif CJK SC"]
EMOJI_CANDIDATES = ["Symbola", "Noto Emoji", "Segoe UI Emoji", "Segoe UI Symbol", "DejaVu Sans"]
# file-name fragments to register when the font cache predates an install
_FILE_HINTS = ("NotoSansCJK", "NotoSansSC", "SourceHanSans", "wqy", "Symbola", "NotoEmoji-",
               "DroidSansFallback")
# characters that only steer rendering (variation selectors, joiners): drawn by no outline font
_INVISIBLE = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}


@lru_cache(maxsize=1)
def _register_system_fonts() -> None:
    known = {Path(f.fname).name for f in fm.fontManager.ttflist}
    for path in fm.findSystemFonts():
        name = Path(path).name
        if name not in known and any(h.lower() in name.lower() for h in _FILE_HINTS):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable font file is not our problem
                continue


def _available(candidates: list[str]) -> list[str]:
    _register_system_fonts()
    names = {f.name for f in fm.fontManager.ttflist}
    return [c for c in candidates if c in names]


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """The fallback chain used for every figure: Latin, then the first CJK and emoji fonts found."""
    chain = list(_available(LATIN))
    for group in (CJK_CANDIDATES, EMOJI_CANDIDATES):
        found = _available(group)
        if found and found[0] not in chain:
            chain.append(found[0])
    return tuple(chain or ["sans-serif"])


def configure() -> tuple[str, ...]:
    """Set matplotlib's rcParams for bgmscope figures and return the font chain."""
    import logging

    import matplotlib.pyplot as plt

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "no bold Symbola" is noise
    chain = font_families()
    plt.rcParams["font.family"] = list(chain)
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    plt.rcParams["svg.fonttype"] = "path"  # SVGs render the same without the fonts installed
    return chain


@lru_cache(maxsize=16)
def _charmap(family: str) -> frozenset[int]:
    path = fm.findfont(fm.FontProperties(family=family), fallback_to_default=False)
    return frozenset(FT2Font(path).get_charmap())


def font_for(ch: str, chain: tuple[str, ...] | None = None) -> str | None:
    """The first family in ``chain`` whose character map holds ``ch`` (None: a box would be drawn)."""
    for family in chain or font_families():
        try:
            if ord(ch) in _charmap(family):
                return family
        except (ValueError, RuntimeError, OSError):
            continue
    return None


def missing_glyphs(text: str, chain: tuple[str, ...] | None = None) -> list[str]:
    """Characters of ``text`` (after :func:`figure_text`) that no font in the chain can draw."""
    return [ch for ch in dict.fromkeys(figure_text(text)) if not ch.isspace() and font_for(ch, chain) is None]


def figure_text(text: object) -> str:
    """Text made safe for a figure: drop emoji joiners/variation selectors and control characters.

    Mathtext is not parsed from titles either: a ``$`` in a song title stays a dollar sign.
    """
    s = "" if text is None else str(text)
    out = []
    for ch in s:
        if ord(ch) in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        out.append("\\$" if ch == "$" else ch)
    return "".join(out)
