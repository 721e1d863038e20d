"""bgmscope: what makes a short-video background song a hit."""

__version__ = "0.1.0"
