"""CSV cells that a spreadsheet will not run: text starting with ``= + - @`` (or a tab / carriage
return, which some spreadsheets skip before such a character) gets a leading apostrophe, the
OWASP advice against CSV formula injection. Numbers are untouched, so ``-5`` stays a number.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula.

    >>> neutralize_cell("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> neutralize_cell(-5), neutralize_cell("学猫叫")
    (-5, '学猫叫')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text columns are neutralised (for CSV output only; Parquet keeps data)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralize_cell, na_action="ignore")
    return out
