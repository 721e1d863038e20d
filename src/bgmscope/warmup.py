"""Compile numba's cached code in one process before any worker runs it.

librosa's ``@guvectorize(cache=True)`` functions compile when their module is imported, and numba
``cache=True`` functions (librosa's and ours in ``features/_kernels.py``) compile on first call.
When two processes do either at once on a cold cache, numba writes one function's index and data
files from both (numba issue 10128) and the cache is left mixed: every later call segfaults until
the files are deleted. So before a pool or a Dask worker starts, :func:`warm_up` imports every
librosa module and runs bgmscope's analysis on a short synthetic song, holding a machine-wide file
lock; workers then only load compiled code. ``tests/test_warmup.py`` checks, on an empty
``NUMBA_CACHE_DIR``, that running the stages after the warm-up compiles nothing new, so a library
upgrade that adds a cached function the warm-up misses fails a test instead of a user's run.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import pkgutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_done = False  # per process: the warm-up runs once


def _lock_path() -> Path:
    """One lock per cache location: numba's own (NUMBA_CACHE_DIR) or the user's cache folder."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "bgmscope")
    for folder in (Path(base), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "bgmscope-numba-warmup.lock"
            path.touch(exist_ok=True)
            return path
        except OSError:
            continue
    raise OSError("no writable folder for the numba warm-up lock")


@contextmanager
def machine_lock() -> Iterator[None]:
    """Hold an exclusive lock shared by every bgmscope process on this machine."""
    with open(_lock_path(), "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def import_librosa() -> list[str]:
    """Import every librosa module (their cached gufuncs compile or load at import). Returns names."""
    import librosa

    names = []
    for info in pkgutil.walk_packages(librosa.__path__, prefix="librosa."):
        if info.name.startswith(("librosa.display", "librosa._")) or ".tests" in info.name:
            continue  # display pulls matplotlib and defines no compiled code
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def _synthetic_song(sr: int, seconds: float = 8.0) -> np.ndarray:
    """A short song with a melody, a chord and a beat, so every analysis path has work to do."""
    t = np.arange(int(seconds * sr)) / sr
    melody_hz = 440.0 * 2 ** (np.array([0, 2, 4, 5, 7, 5, 4, 2]) / 12)
    note = np.minimum((t / 0.5).astype(int), len(melody_hz) - 1) % len(melody_hz)
    y = 0.3 * np.sin(2 * np.pi * np.cumsum(melody_hz[note]) / sr)
    y += sum(0.1 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    clicks = (np.arange(t.size) % int(0.5 * sr)) < int(0.01 * sr)
    y += 0.5 * clicks * np.random.default_rng(0).standard_normal(t.size)
    return (y / np.max(np.abs(y)) * 0.8).astype(np.float32)


def exercise(sr: int = 16000) -> None:
    """Run the analysis the stages' workers run (features, hook, versions, tempo, melody, SSM,
    genre inputs) once on a synthetic song, compiling whatever it reaches."""
    import librosa

    from .audio.stft import N_FFT, stft_hop
    from .features.extract import extract_clip
    from .features.rhythm import beat_track
    from .genre.features import FeatureParams, clip_inputs
    from .midi.melody import notes_to_midi, transcribe_melody
    from .midi.poly import transcribe_poly
    from .midi.ssm import audio_beat_features, midi_beat_features, self_similarity
    from .prepare.hook import find_hook
    from .versions.grouping import version_signature

    genre_sr = FeatureParams().sr
    for rate in sorted({sr, 16000, genre_sr}):  # the analysis rate, and the genre models' rate
        y = _synthetic_song(rate)
        extract_clip(y, rate)
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=stft_hop(rate)))  # shared, as the scan does
        version_signature(y, rate, S=S)
        find_hook(y, rate, length_s=3.0, S=S)
        beats = beat_track(y, rate)
        notes = transcribe_melody(y, rate)
        transcribe_poly(y, rate)
        pm = notes_to_midi(notes, tempo_bpm=120.0)
        bt = np.asarray(beats.beat_times, float)
        if len(bt) >= 3:
            feats = audio_beat_features(y, rate, bt)
            self_similarity(feats["chroma"])
            self_similarity(feats["mfcc"], standardize=True)
            if notes:
                self_similarity(midi_beat_features(pm, bt)[0])
        if rate == genre_sr:
            clip_inputs(y, rate)


def _cache_roots() -> list[Path]:
    """Where numba keeps the cache files of librosa's and bgmscope's functions."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"])]
    import librosa

    return [Path(librosa.__file__).parent, Path(__file__).parent, Path.home() / ".cache" / "numba"]


def _cache_state() -> list[tuple[str, int, int]]:
    """Every numba index file under the cache roots, with its size and mtime."""
    files = []
    for root in _cache_roots():
        if root.is_dir():
            for f in root.rglob("*.nbi"):
                st = f.stat()
                files.append((str(f), st.st_size, st.st_mtime_ns))
    return sorted(files)


def _stamp_path(sr: int) -> Path:
    """A stamp per (library versions, cache location, rate): what a finished warm-up left."""
    import librosa
    import numba

    from . import __version__

    key = json.dumps([sys.version, numba.__version__, librosa.__version__, __version__, sr,
                      [str(r) for r in _cache_roots()]])
    return _lock_path().with_name(f"bgmscope-warmup-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json")


def _is_warm(stamp: Path) -> bool:
    try:
        return json.loads(stamp.read_text()) == [list(f) for f in _cache_state()]
    except (OSError, ValueError):
        return False


def warm_up(sr: int = 16000) -> None:
    """Compile (or load) every cached numba function the stages reach, once per process, under
    the machine-wide lock so no two processes write numba's cache at the same time.

    A stamp of the cache files a finished warm-up left lets later processes skip it (~5 s) while
    those files are unchanged; a deleted or rewritten cache makes it run again.
    """
    global _done
    if _done:
        return
    stamp = _stamp_path(sr)
    with machine_lock():
        if not _is_warm(stamp):
            import_librosa()
            with np.errstate(all="ignore"):
                exercise(sr)
            from .fsutil import atomic_write_bytes

            atomic_write_bytes(stamp, json.dumps(_cache_state()).encode())
    _done = True
