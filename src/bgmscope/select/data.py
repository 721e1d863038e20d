"""Reading feature matrices out of the catalog's ``features`` table for selection and clustering.

Bad rows are not fatal: a column that is mostly missing is dropped, then a song whose clips still have
a missing value is dropped, each with a one-line note that the stage records as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..errors import CatalogError, ParameterError

ID_COLUMNS = ("clip_id", "track_id", "clip_kind", "clip_index")
MAX_MISSING_SHARE = 0.2  # a column missing on more clips than this is dropped, not the clips


def stat42_names() -> list[str]:
    """The study's 42 statistics, in order (``amp1mean`` ... ``amp1000dkurt``, ``power1`` ... ``power10``)."""
    try:
        from ..features.stats42 import STAT42_NAMES
        return list(STAT42_NAMES)
    except ImportError:  # features area not in this build: the names follow the study's fixed pattern
        amp = [f"amp{w}{d}{s}" for d in ("", "d") for w in (1, 10, 100, 1000)
               for s in ("mean", "std", "skew", "kurt")]
        return amp + [f"power{i}" for i in range(1, 11)]


def descriptor_columns(df: pd.DataFrame) -> list[str]:
    """The descriptor columns of a features frame (the features area's definition when present)."""
    try:
        from ..features.extract import feature_columns
        return list(feature_columns(df))
    except ImportError:
        return [c for c in df.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(df[c])
                and not pd.api.types.is_bool_dtype(df[c])]


def resolve_feature_set(df: pd.DataFrame, feature_set: str) -> list[str]:
    """Column names for ``'stat42'`` (the study's 42), ``'all'`` or a comma-separated list of names."""
    available = descriptor_columns(df)
    if feature_set == "stat42":
        wanted = stat42_names()
    elif feature_set == "all":
        wanted = available
    else:
        wanted = [w.strip() for w in feature_set.split(",") if w.strip()]
        if not wanted:
            raise ParameterError("--features takes 'stat42', 'all' or a comma-separated list of columns")
    missing = [w for w in wanted if w not in df.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise CatalogError(f"the features table lacks {len(missing)} of the requested columns ({shown}); "
                           f"re-run 'bgmscope features' or pick another --features")
    return wanted


@dataclass
class FeatureMatrix:
    """Feature rows with their ids, after cleaning."""

    X: pd.DataFrame                      # one column per kept feature
    ids: pd.DataFrame                    # clip_id, track_id, clip_kind, clip_index (same row order)
    dropped_features: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (item, one-line reason)


def read_features(catalog: Catalog) -> pd.DataFrame:
    if not catalog.has_table("features"):
        raise CatalogError("no features table in the catalog: run 'bgmscope features' first")
    df = catalog.read_frame("features")
    if df.empty:
        raise CatalogError("the features table is empty: run 'bgmscope features' first")
    return df


def clean_matrix(df: pd.DataFrame, columns: list[str]) -> FeatureMatrix:
    """Drop mostly-missing or constant columns, then rows with any remaining non-finite value."""
    X = df[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    notes: list[tuple[str, str]] = []
    finite = np.isfinite(X.to_numpy())
    missing_share = 1.0 - finite.mean(axis=0)
    dropped = [c for c, m in zip(columns, missing_share, strict=True) if m > MAX_MISSING_SHARE]
    for c in dropped:
        notes.append((c, f"feature dropped: missing or non-finite on {missing_share[columns.index(c)]:.0%} of clips"))
    kept = [c for c in columns if c not in dropped]
    X = X[kept]
    bad_rows = ~np.isfinite(X.to_numpy()).all(axis=1)
    ids = df[[c for c in ID_COLUMNS if c in df.columns]].reset_index(drop=True)
    for i in np.flatnonzero(bad_rows):
        bad_cols = [c for c, ok in zip(kept, np.isfinite(X.iloc[i].to_numpy()), strict=True) if not ok]
        notes.append((str(ids["clip_id"].iloc[i]), f"clip skipped: non-finite {', '.join(bad_cols[:5])}"))
    X = X.loc[~bad_rows].reset_index(drop=True)
    ids = ids.loc[~bad_rows].reset_index(drop=True)
    if len(X) > 1:
        const = [c for c in kept if np.ptp(X[c].to_numpy()) <= 1e-12 * max(1.0, float(np.abs(X[c]).max()))]
        for c in const:
            notes.append((c, "feature dropped: constant over every clip"))
        if const:
            X = X.drop(columns=const)
            dropped += const
    return FeatureMatrix(X, ids, dropped, notes)


def two_clip_matrix(catalog: Catalog, feature_set: str = "stat42") -> FeatureMatrix:
    """Features of songs with both 'two' clips (clip_index 0 and 1), rows ordered song by song."""
    df = read_features(catalog)
    if "clip_kind" not in df.columns:
        raise CatalogError("the features table has no clip_kind column")
    df = df[df["clip_kind"] == "two"]
    if df.empty:
        raise CatalogError("no two-clip features: run 'bgmscope prepare --two-clips' then 'bgmscope features'")
    columns = resolve_feature_set(df, feature_set)
    df = df.sort_values(["track_id", "clip_index", "clip_id"]).drop_duplicates(["track_id", "clip_index"])
    fm = clean_matrix(df.reset_index(drop=True), columns)
    # keep songs that still have both clips
    counts = fm.ids.groupby("track_id")["clip_index"].agg(lambda s: tuple(sorted(s)))
    complete = counts[counts.apply(lambda t: t == (0, 1))].index
    for track in counts.index.difference(complete):
        fm.notes.append((str(track), "song skipped: it does not have both clips"))
    keep = fm.ids["track_id"].isin(complete).to_numpy()
    fm.X = fm.X.loc[keep].reset_index(drop=True)
    fm.ids = fm.ids.loc[keep].reset_index(drop=True)
    return fm


def one_clip_matrix(catalog: Catalog, columns_or_set: str | list[str], clip_kind: str = "first"
                    ) -> FeatureMatrix:
    """Features of one clip per song (the lowest clip_index of ``clip_kind``)."""
    df = read_features(catalog)
    if "clip_kind" not in df.columns:
        raise CatalogError("the features table has no clip_kind column")
    kinds = sorted(df["clip_kind"].dropna().unique())
    df = df[df["clip_kind"] == clip_kind]
    if df.empty:
        raise CatalogError(f"no features for clip kind {clip_kind!r} (the table has: {', '.join(kinds) or 'none'})")
    columns = columns_or_set if isinstance(columns_or_set, list) else resolve_feature_set(df, columns_or_set)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CatalogError(f"the features table lacks {', '.join(missing[:8])}")
    df = df.sort_values(["track_id", "clip_index", "clip_id"]).drop_duplicates("track_id")
    return clean_matrix(df.reset_index(drop=True), columns)


def storable(df: pd.DataFrame, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame DuckDB can store: ``text`` columns as strings, all-null object columns as float.

    (DuckDB cannot infer a type for an object column holding only None and refuses the frame.)
    """
    df = df.copy()
    for c in df.columns:
        if c in text:
            df[c] = df[c].astype("string")
        elif df[c].dtype == object and df[c].isna().all():
            df[c] = df[c].astype("float64")
    return df
