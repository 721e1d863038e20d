"""The hop transcription tracks f0 at. The f0 contour and beat grid themselves are the features
stage's, one definition each: ``features.pitch.f0_contour`` (:class:`~bgmscope.features.pitch.F0Contour`)
and ``features.rhythm.beat_track`` (:class:`~bgmscope.features.rhythm.BeatResult`); ``beat_track``
is re-exported here for the callers that import it from this module.
"""

from __future__ import annotations

from ..features.rhythm import beat_track

HOP = 256  # 16 ms at 16 kHz: fine enough for a 50 ms onset tolerance

__all__ = ["HOP", "beat_track"]
