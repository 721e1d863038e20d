"""Audio and images for the report: clips encoded small (Opus in Ogg) so they can be embedded."""

from __future__ import annotations

import base64
import io

import numpy as np

from ..errors import ParameterError


def encode_opus(y: np.ndarray, sr: int, *, bit_rate: int = 24000) -> bytes:
    """Mono float audio as an Ogg/Opus file in memory (a 15 s clip is about 45 kB).

    Opus takes 8, 12, 16, 24 or 48 kHz input; other rates are resampled by FFmpeg on the way in.
    """
    import av

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"encode_opus takes non-empty mono audio, got shape {y.shape}")
    rate = sr if sr in (8000, 12000, 16000, 24000, 48000) else 48000
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(np.clip(y, -1, 1)[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


AUDIO_MIME = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg", ".wav": "audio/wav",
              ".flac": "audio/flac", ".m4a": "audio/mp4"}
