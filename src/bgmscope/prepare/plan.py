"""Where clips are cut: the seed's first 15 s, a fixed offset, two clips per song, or the hook."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ParameterError

CLIP_KINDS = ("first", "offset", "two", "hook")


@dataclass(frozen=True)
class ClipSpec:
    kind: str
    index: int
    offset_s: float
    length_s: float


def plan_clips(duration_s: float, *, kind: str = "first", length_s: float = 15.0,
               offset_s: float = 0.0) -> list[ClipSpec]:
    """Clip positions for a song of ``duration_s`` seconds.

    ``first``: 0..length. ``offset``: offset..offset+length (clamped so a clip is never empty).
    ``two``: two non-overlapping clips, centred at 1/3 and 2/3 of the song when it is long
    enough; a shorter song is split in halves (kept, marked short by the caller).
    ``hook`` positions come from :func:`bgmscope.prepare.hook.find_hook` on the decoded song.
    """
    if not (0 < length_s < math.inf):  # NaN fails this too
        raise ParameterError(f"clip length must be a finite number of seconds > 0, got {length_s}")
    if kind not in CLIP_KINDS:
        raise ParameterError(f"clip kind must be one of {CLIP_KINDS}, got {kind!r}")
    if kind == "first":
        return [ClipSpec("first", 0, 0.0, length_s)]
    if kind == "offset":
        off = max(0.0, min(offset_s, max(0.0, duration_s - 0.5)))
        return [ClipSpec("offset", 0, round(off, 3), length_s)]
    if kind == "two":
        if duration_s >= 2 * length_s:
            a = min(max(0.0, duration_s / 3 - length_s / 2), duration_s - 2 * length_s)
            b = max(a + length_s, min(2 * duration_s / 3 - length_s / 2, duration_s - length_s))
            return [ClipSpec("two", 0, round(a, 3), length_s), ClipSpec("two", 1, round(b, 3), length_s)]
        half = duration_s / 2
        return [ClipSpec("two", 0, 0.0, half), ClipSpec("two", 1, round(half, 3), half)]
    raise ParameterError("hook clips are planned from the audio: use prepare(..., kind='hook')")
