"""Decoding, resampling and clip selection."""

from .decode import AudioInfo, load, probe

__all__ = ["AudioInfo", "load", "probe"]
