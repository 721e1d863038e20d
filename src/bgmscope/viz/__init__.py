"""Figures: matplotlib (PNG + SVG) for every plot the study shows, plotly where hovering helps.

Importing this package configures matplotlib for headless use with a CJK + emoji font chain.
"""

from . import fonts
from .common import FORMATS, png_bytes, save_figure

__all__ = ["FORMATS", "fonts", "png_bytes", "save_figure"]
