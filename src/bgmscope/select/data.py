"""Reading feature matrices out of the catalog's ``features`` table for selection and clustering.

Which columns are descriptors, and which of them are categorical, is the features room's one rule
(:func:`bgmscope.features.extract.descriptor_columns`). Bad values are not fatal: a column missing
(NaN) on most clips is dropped, and so is a constant one, each with a one-line note that the stage
records. Other missing values stay NaN in :func:`one_clip_matrix` (the clustering imputes inside its
pipeline); :func:`two_clip_matrix`, which feeds the GA, encodes the categorical key columns and
imputes the column median, so every song with two clips takes part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer

from ..catalog import Catalog
from ..errors import CatalogError, ParameterError
from ..features.extract import ID_COLUMNS, descriptor_columns, encode_categorical
from ..features.stats42 import STAT42_NAMES

MAX_MISSING_SHARE = 0.2  # a column missing on more clips than this is dropped, not imputed


def stat42_names() -> list[str]:
    """The study's 42 statistics, in order (``amp1mean`` ... ``amp1000dkurt``, ``power1`` ... ``power10``)."""
    return list(STAT42_NAMES)


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
    """Drop mostly-missing or constant columns; keep the rows, missing values as NaN (infinities too)."""
    X = df[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    X = X.where(np.isfinite(X.to_numpy()))
    notes: list[tuple[str, str]] = []
    missing_share = X.isna().mean(axis=0)
    dropped = [c for c in columns if missing_share[c] > MAX_MISSING_SHARE]
    for c in dropped:
        notes.append((c, f"feature dropped: missing or non-finite on {missing_share[c]:.0%} of clips"))
    kept = [c for c in columns if c not in dropped]
    X = X[kept].reset_index(drop=True)
    ids = df[[c for c in ID_COLUMNS if c in df.columns]].reset_index(drop=True)
    if len(X) > 1:
        span = X.max() - X.min()
        const = [c for c in kept if not span[c] > 1e-12 * max(1.0, float(X[c].abs().max()))]
        for c in const:
            notes.append((c, "feature dropped: constant over every clip"))
        if const:
            X = X.drop(columns=const)
            dropped += const
    return FeatureMatrix(X, ids, dropped, notes)


def complete_matrix(X: pd.DataFrame) -> pd.DataFrame:
    """The categorical key columns encoded (:func:`~bgmscope.features.extract.encode_categorical`) and
    every remaining NaN replaced by its column's median (``SimpleImputer``): what a model needing
    finite numbers gets. The encoding is fixed and the imputer sees no labels."""
    E = encode_categorical(X)
    if E.empty or not E.isna().to_numpy().any():
        return E
    imp = SimpleImputer(strategy="median", keep_empty_features=True)
    return pd.DataFrame(imp.fit_transform(E), columns=E.columns, index=E.index)


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
    fm.X = complete_matrix(fm.X.loc[keep].reset_index(drop=True))
    fm.ids = fm.ids.loc[keep].reset_index(drop=True)
    return fm


def one_clip_matrix(catalog: Catalog, columns_or_set: str | list[str], clip_kind: str = "first"
                    ) -> FeatureMatrix:
    """Features of one clip per song (the lowest clip_index of ``clip_kind``); missing values stay NaN
    and the categorical key columns as stored (the model encodes and imputes)."""
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
