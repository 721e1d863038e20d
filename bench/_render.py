"""The renderers the benches share: pretty_midi's TimGM6mb, two Debian SoundFonts, and TiMidity++.

What a bench measures must hold beyond the SoundFont bgmscope renders its own tests with, so the
hook, tempo and versions benches render through each of these that is installed (`make setup-bench`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bgmscope.genre.render import FREEPATS_CFG  # TiMidity++ with its own patches

SOUNDFONTS = {
    "TimGM6mb": None,  # pretty_midi's, bgmscope.synth's default
    "FluidR3_GM": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "MuseScore_General": "/usr/share/sounds/sf3/MuseScore_General.sf3",
}


def renderers() -> tuple[list[str], list[str]]:
    """(available renderer names, notes on missing ones)."""
    have, missing = [], []
    for name, path in SOUNDFONTS.items():
        if path is None or Path(path).is_file():
            have.append(name)
        else:
            missing.append(f"{name} ({path} absent)")
    if shutil.which("timidity") and Path(FREEPATS_CFG).is_file():
        have.append("timidity")
    else:
        missing.append("timidity (timidity or freepats not installed)")
    return have, missing


def render(pm, renderer: str, sr: int) -> np.ndarray:
    """Mono float32 audio of a PrettyMIDI through one renderer (TiMidity++'s normalised to peak 0.9)."""
    if renderer != "timidity":
        from bgmscope.synth import render_midi

        return render_midi(pm, sr=sr, stereo=False, sf2_path=SOUNDFONTS[renderer])
    import soundfile as sf

    with tempfile.TemporaryDirectory() as d:
        mid, wav = os.path.join(d, "in.mid"), os.path.join(d, "out.wav")
        pm.write(mid)
        subprocess.run(["timidity", "-c", FREEPATS_CFG, "-Ow", "-s", str(sr), "--output-mono", "-o", wav, mid],
                       check=True, capture_output=True)
        y, _ = sf.read(wav, dtype="float32")
    y = y.mean(axis=1) if y.ndim == 2 else y
    return (y / (np.max(np.abs(y)) or 1.0) * 0.9).astype(np.float32)
