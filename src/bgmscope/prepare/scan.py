"""A song's scan: the whole song decoded once, one magnitude STFT, and from it the version signature
(:mod:`.signature`) and the hook start (:func:`bgmscope.prepare.hook.find_hook`).

The prepare stage's song pass (:func:`bgmscope.prepare.cutter.prepare_song`) makes the scan while it
cuts the song's clips from the same signal and stores it in the scan cache,
``<data>/cache/scan/<sha256>-v<SCAN_VERSION>-<rate>-<hook length>.npz``; the versions stage reads
that cache (and scans only songs without one, e.g. a catalog that was never prepared).

What a scan file holds: the signature's ``frames`` (float16 dB, 36 bands x 10 frames/s: 720 B per
second of song), its window embeddings (float32, 144 B per 2.5 s): measured 46 KB per minute of
song, ~180 KB a 4-min song (uncompressed .npz), the hook start and the
duration. Memory: the song is decoded block by block (downmix and resample per block), and the STFT
is taken a block of frames at a time, so a worker never holds the file's native-rate stereo samples
or the complex STFT of the whole song.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..audio.stft import N_FFT, stft_hop
from ..errors import DecodeError, ParameterError
from ..fsutil import atomic_path
from .signature import SIGNATURE_VERSION, Signature, version_signature

SCAN_VERSION = 5 * 100 + SIGNATURE_VERSION  # bump the 4 when the scan or the hook finder changes
MIN_SCAN_S = 2.0  # shorter audio (a truncated download) has no structure to compare
STFT_BLOCK = 1024  # STFT frames per block (a block's complex STFT: ~8 MB)
DECODE_BLOCK_S = 10.0


def scan_cache_path(cache_dir: Path | str, sha256: str, sample_rate: int, hook_length_s: float) -> Path:
    """Where the scan of audio ``sha256`` lives: content, rate, hook length and code version."""
    return Path(cache_dir) / f"{sha256}-v{SCAN_VERSION}-{sample_rate}-{hook_length_s:g}.npz"


def read_scan(path: Path | str) -> dict | None:
    """A stored scan (signature, hook_start_s, duration_s), or None when there is none (or it is torn)."""
    try:
        with np.load(path) as z:
            return {"signature": Signature.from_arrays(z), "hook_start_s": float(z["hook"]),
                    "duration_s": float(z["duration"])}
    except (OSError, KeyError, ValueError, EOFError):
        return None


def read_hook_start(path: Path | str) -> float | None:
    """Only the hook start of a stored scan (reads one small member of the file), or None."""
    try:
        with np.load(path) as z:
            return float(z["hook"])
    except (OSError, KeyError, ValueError, EOFError):
        return None


def known_hook(path: Path | str, duration_s: float) -> float | None:
    """The hook start the song pass will use, when known without decoding: the stored scan's, or
    0 s for a song too short to scan (:data:`MIN_SCAN_S`; its hook clip is its start)."""
    if duration_s < MIN_SCAN_S:
        return 0.0
    return read_hook_start(path) if Path(path).exists() else None


def write_scan(path: Path | str, scan: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, durable=False) as tmp:  # a regenerable cache
        with open(tmp, "wb") as fh:
            np.savez(fh, hook=scan["hook_start_s"], duration=scan["duration_s"], **scan["signature"].to_arrays())


def magnitude_stft(y: np.ndarray, sr: int) -> np.ndarray:
    """``np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=stft_hop(sr)))`` as float32 (the same frames:
    centred, zero-padded as librosa pads, periodic Hann window), a block of frames at a time so the
    complex STFT of the whole song is never in memory. Framed as a strided view and transformed by
    scipy directly: librosa's per-call checks and copies cost 87 ms against 51 ms on a 3-min song."""
    from scipy.fft import rfft
    from scipy.signal import get_window

    hop = stft_hop(sr)
    y = np.asarray(y, dtype=np.float32)
    n_frames = 1 + len(y) // hop
    yp = np.pad(y, (N_FFT // 2, N_FFT // 2 + N_FFT))  # room for the last frame's full window
    frames = np.lib.stride_tricks.sliding_window_view(yp, N_FFT)[::hop][:n_frames]
    window = get_window("hann", N_FFT, fftbins=True).astype(np.float32)
    S = np.empty((N_FFT // 2 + 1, n_frames), dtype=np.float32)
    for i in range(0, n_frames, STFT_BLOCK):
        j = min(n_frames, i + STFT_BLOCK)
        S[:, i:j] = np.abs(rfft(frames[i:j] * window, axis=1)).T
    return S


def decode_song(path: str | Path, sr: int) -> np.ndarray:
    """The whole song, mono float32 at ``sr``, decoded a block at a time (soundfile), so the native
    rate's stereo samples of the whole song are never in memory; what soundfile cannot read goes
    through :func:`bgmscope.audio.decode.load` (PyAV)."""
    import soundfile as sf
    import soxr

    from ..audio.decode import downmix, load
    from ..audio.paths import display, from_catalog, not_a_file

    p = from_catalog(path)
    if (why := not_a_file(p)) is not None:
        raise DecodeError(f"{why}: {display(p)}")
    if p.stat().st_size == 0:
        raise DecodeError("empty file (0 bytes)")
    try:
        f = sf.SoundFile(os.fsencode(p))
    except (sf.LibsndfileError, RuntimeError):
        y, _ = load(path, sr=sr)
        return y
    chunks: list[np.ndarray] = []
    with f:
        native = int(f.samplerate)
        rs = soxr.ResampleStream(native, sr, 1, dtype="float32", quality="HQ") if native != sr else None
        block = max(1, int(DECODE_BLOCK_S * native))
        while True:
            x = f.read(block, dtype="float32", always_2d=True)
            last = x.shape[0] < block
            m = np.ascontiguousarray(downmix(x), dtype=np.float32)
            if m.size and not np.isfinite(m).all():  # a NaN or inf in any channel reaches the mix
                raise DecodeError("audio holds non-finite samples (NaN or inf)")
            out = rs.resample_chunk(m, last=last) if rs is not None else m
            if out.size:
                chunks.append(out.copy())
            if last:
                break
    if not chunks:
        raise DecodeError("no audio frames decode (truncated or damaged file)")
    return np.concatenate(chunks)


def scan_signal(y: np.ndarray, sr: int, hook_length_s: float, S: np.ndarray | None = None) -> dict:
    """Signature, hook start and duration of one decoded song (one STFT for both)."""
    from .hook import find_hook

    if y.size < MIN_SCAN_S * sr:
        raise ParameterError(f"only {y.size / sr:.2f} s of audio decoded (truncated?); need >= {MIN_SCAN_S:g} s")
    S = magnitude_stft(y, sr) if S is None else S
    sig = version_signature(y, sr, S=S)
    hook = find_hook(y, sr, length_s=hook_length_s, S=S)
    return {"signature": sig, "hook_start_s": float(hook), "duration_s": y.size / sr}


def scan_file(path: str | Path, sr: int, hook_length_s: float, cache: Path | str) -> dict:
    """Decode, scan and store one song (for the versions stage's songs that were never prepared)."""
    y = decode_song(path, sr)
    scan = scan_signal(y, sr, hook_length_s)
    write_scan(cache, scan)
    return scan
