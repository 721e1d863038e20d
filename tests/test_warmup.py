"""Cold start: numba's cache is written by one process, so pooled stages never load a mixed cache.

Each test starts from an empty NUMBA_CACHE_DIR, as a user's fresh machine does (numba issue 10128:
two processes compiling one cached function at once leave a cache that segfaults every later call).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def numba_env(cache: Path) -> dict:
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache)}


def cache_files(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns
            for p in cache.rglob("*") if p.suffix in (".nbi", ".nbc")}


WARM = "from bgmscope.warmup import warm_up; warm_up()"
USE = """
import numpy as np, librosa
from bgmscope.engine import run_map
from bgmscope.features.extract import extract_clip
x = np.random.default_rng(0).random(1000).astype(np.float32)
librosa.util.peak_pick(x, pre_max=3, post_max=3, pre_avg=3, post_avg=5, delta=0.1, wait=10)
import test_warmup
outs = list(run_map(test_warmup.describe_noise, range(4), jobs=2, show_progress=False))
assert all(o.ok for o in outs), [o.error for o in outs]
print("ok")
"""


def describe_noise(seed: int) -> int:
    import numpy as np

    from bgmscope.features.extract import extract_clip

    y = np.random.default_rng(seed).standard_normal(16000 * 3).astype(np.float32) * 0.1
    return len(extract_clip(y, 16000))


@pytest.mark.slow
def test_processes_starting_at_once_on_a_cold_cache_do_not_corrupt_it(tmp_path):
    cache = tmp_path / "numba"
    cache.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", WARM], env=numba_env(cache)) for _ in range(3)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0, 0]
    r = subprocess.run([sys.executable, "-c", USE], env=numba_env(cache), cwd=Path(__file__).parent,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
