"""Decode audio once, to mono float32 at the analysis rate.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Opus, MP3 and Sun .au and can seek, so a
15 s clip of a 4 min MP3 costs a 15 s decode. What it can't read (m4a/aac, odd containers) goes
through PyAV (FFmpeg). Resampling is soxr's. Every failure becomes a one-line DecodeError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import DecodeError, ParameterError

AUDIO_EXTENSIONS = {".mp3", ".wav", ".flac", ".ogg", ".opus", ".au", ".snd", ".m4a", ".aac", ".aiff", ".aif"}


@dataclass(frozen=True)
class AudioInfo:
    format: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    backend: str  # soundfile | pyav


def probe(path: str | Path) -> AudioInfo:
    """Format, rate, channels and duration of an audio file, or DecodeError saying why not."""
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
        if info.frames <= 0 or info.samplerate <= 0:
            raise DecodeError("no audio frames")
        return AudioInfo(info.format, int(info.samplerate), int(info.channels), int(info.frames),
                         float(info.frames) / info.samplerate, "soundfile")
    except (sf.LibsndfileError, RuntimeError, DecodeError):
        return _probe_av(path)


def load(
    path: str | Path,
    *,
    sr: int | None = 16000,
    offset: float = 0.0,
    duration: float | None = None,
    mono: bool = True,
) -> tuple[np.ndarray, int]:
    """Read ``duration`` seconds from ``offset`` as float32, mono (channel mean) and resampled.

    Returns ``(y, sr)``; ``y`` has shape ``(n,)`` when mono else ``(channels, n)``.
    Raises DecodeError for unreadable, empty or non-finite audio.
    """
    if offset < 0 or (duration is not None and duration <= 0):
        raise ParameterError(f"offset must be >= 0 and duration > 0, got {offset=}, {duration=}")
    path = Path(path)
    _check_file(path)
    try:
        y, native_sr = _load_soundfile(path, offset, duration)
    except (sf.LibsndfileError, RuntimeError):
        y, native_sr = _load_av(path, offset, duration)
    if y.shape[0] == 0:
        raise DecodeError("no audio frames at the requested offset")
    if not np.isfinite(y).all():
        raise DecodeError("audio holds non-finite samples (NaN or inf)")
    if mono:
        y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
    target = sr or native_sr
    if target != native_sr:
        y = soxr.resample(y, native_sr, target, quality="HQ")
    y = np.ascontiguousarray(y.T if not mono else y, dtype=np.float32)
    return y, target


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DecodeError(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise DecodeError("empty file (0 bytes)")


def _load_soundfile(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    with sf.SoundFile(str(path)) as f:
        native_sr = f.samplerate
        start = int(round(offset * native_sr))
        if f.frames > 0 and start >= f.frames:
            raise DecodeError(f"offset {offset:.1f} s is past the end ({f.frames / native_sr:.1f} s)")
        if start:
            f.seek(start)
        n = -1 if duration is None else int(round(duration * native_sr))
        y = f.read(n, dtype="float32", always_2d=True)
    return y, native_sr


def _probe_av(path: Path) -> AudioInfo:
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise DecodeError("no audio stream")
            st = streams[0]
            sr = int(st.rate or st.codec_context.sample_rate or 0)
            channels = int(st.codec_context.channels or 0)
            dur = None
            if st.duration is not None and st.time_base is not None:
                dur = float(st.duration * st.time_base)
            elif container.duration:
                dur = container.duration / 1_000_000
            if not sr or not dur or dur <= 0:
                raise DecodeError("no decodable audio (unknown rate or duration)")
            return AudioInfo(container.format.name, sr, channels, int(dur * sr), dur, "pyav")
    except DecodeError:
        raise
    except Exception as exc:  # av raises many types (InvalidDataError, ValueError, ...)
        raise DecodeError(f"not decodable audio: {_one_line(exc)}") from None


def _load_av(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DecodeError("no audio stream")
            stream = container.streams.audio[0]
            native_sr = int(stream.rate or stream.codec_context.sample_rate)
            if offset > 0:
                container.seek(int(offset * 1_000_000), any_frame=False, backward=True)
            resampler = av.AudioResampler(format="fltp", layout=None, rate=native_sr)
            chunks: list[np.ndarray] = []
            start_t: float | None = None
            needed = None if duration is None else int(round(duration * native_sr))
            have = 0
            for frame in container.decode(stream):
                if start_t is None:
                    start_t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    have += chunks[-1].shape[1]
                if needed is not None and have >= needed + native_sr * 2:
                    break
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"not decodable audio: {_one_line(exc)}") from None
    if not chunks:
        raise DecodeError("no audio frames decoded")
    y = np.concatenate(chunks, axis=1).T.astype(np.float32, copy=False)
    skip = max(0, int(round((offset - (start_t or 0.0)) * native_sr)))
    y = y[skip:]
    if needed is not None:
        y = y[:needed]
    return y, native_sr


def _import_av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a core dependency
        raise DecodeError("PyAV is needed for this format: pip install av") from exc
    return av


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
