"""Record models for chart API responses (pydantic): what an item must hold to be kept.

An item with a missing or ill-typed field is rejected with a one-line reason; unknown extra fields
(cover_image, use_trend, hot_awemes, is_fav, ...) are ignored, as the seed drops them.
``music_id`` names files on disk, so it is held to a strict id pattern (no '/', '..' or spaces).
Counts must fit the catalog's BIGINT columns (int64) and durations must be finite: a value out of
range rejects that item here, rather than failing the whole snapshot when it is stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MUSIC_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # DuckDB BIGINT
MAX_DURATION_S = 7 * 24 * 3600.0  # no chart song lasts a week; beyond is a unit error or garbage


class ChartItem(BaseModel):
    """One song of a chart page (``data.list[i]``)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, allow_inf_nan=False)

    music_id: str = Field(pattern=MUSIC_ID_PATTERN)
    title: str
    author: str | None
    audition_duration: float = Field(ge=0, le=MAX_DURATION_S)     # seconds (歌曲时间)
    user_count: int = Field(ge=0, le=INT64_MAX)                    # videos using the song (使用人数)
    user_incr: int = Field(ge=INT64_MIN, le=INT64_MAX)             # growth over the window; may be < 0
    is_demo: bool = False                    # carried by the demo server, absent on real charts

    @field_validator("music_id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        # real charts send ids as numbers or strings; bools are ints in Python, refuse them
        if isinstance(v, bool):
            raise ValueError("music_id must be a string or integer")
        return str(v) if isinstance(v, int) else v


def reject_reason(exc: ValidationError) -> str:
    """A one-line reason from a pydantic ValidationError: 'user_count: Input should be ...; ...'."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "item"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def validate_item(raw: Any) -> tuple[ChartItem | None, str | None]:
    """(item, None) when ``raw`` is a valid chart item, else (None, reason)."""
    if not isinstance(raw, dict):
        return None, f"item is {type(raw).__name__}, not an object"
    try:
        return ChartItem.model_validate(raw), None
    except ValidationError as exc:
        return None, reject_reason(exc)
