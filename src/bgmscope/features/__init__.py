"""Feature extraction: the seed's descriptors, the 42 statistics and a modern MIR set, computed
from one decode and one STFT per clip. See docs/features.md for every column."""

from .extract import FEATURE_VERSION, extract_clip, feature_columns, feature_names
from .pitch import F0Contour, f0_contour
from .rhythm import BeatResult, beat_track
from .stats42 import STAT42_NAMES, stats42

__all__ = ["FEATURE_VERSION", "extract_clip", "feature_columns", "feature_names", "F0Contour",
           "f0_contour", "BeatResult", "beat_track", "STAT42_NAMES", "stats42"]
