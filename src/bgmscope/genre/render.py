"""Several MIDI renderers for the styles corpus, so genre models meet more than one sound.

A renderer is a FluidSynth SoundFont or the TiMidity++ program (with its own patch set, freepats on
Debian). Names (:data:`RENDERERS`):

- ``timgm6mb``: pretty_midi's TimGM6mb.sf2 (bgmscope's default SoundFont, always present)
- ``fluidr3``: FluidR3_GM.sf2 (Debian ``fluid-soundfont-gm``)
- ``musescore``: MuseScore_General (Debian ``musescore-general-soundfont-small``; .sf3 or .sf2)
- ``timidity``: ``timidity -Ow`` (Debian ``timidity`` + ``freepats``), a different synthesizer too

Loading a large SoundFont costs seconds (MuseScore's compressed .sf3: ~10 s), so each process keeps
one FluidSynth synthesizer per SoundFont and rate, reset between renders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

from ..errors import ParameterError

# TiMidity++ with the FreePats patches, named explicitly: Debian's default timidity.cfg sources
# FluidR3's config, which exists only where fluid-soundfont-gm is installed (the benches' extra)
FREEPATS_CFG = "/etc/timidity/freepats.cfg"
_SF_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"), Path("/usr/share/soundfonts"))


@dataclass(frozen=True)
class Renderer:
    """A way to turn MIDI into audio: ``kind`` 'fluidsynth' (with ``path``, a SoundFont) or 'timidity'."""

    name: str
    kind: str
    path: str | None
    install: str  # how to get it when absent

    @property
    def available(self) -> bool:
        if self.kind == "timidity":
            return shutil.which("timidity") is not None and Path(FREEPATS_CFG).is_file()
        return self.path is not None and Path(self.path).is_file()


def _find(names: tuple[str, ...]) -> str | None:
    for d in _SF_DIRS:
        for n in names:
            if (d / n).is_file():
                return str((d / n).resolve())
    return None


def renderers() -> dict[str, Renderer]:
    """Every renderer bgmscope knows, present or not (see :attr:`Renderer.available`)."""
    tim = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return {
        "timgm6mb": Renderer("timgm6mb", "fluidsynth", str(tim), "pip install pretty_midi"),
        "fluidr3": Renderer("fluidr3", "fluidsynth", _find(("FluidR3_GM.sf2",)),
                            "apt-get install fluid-soundfont-gm"),
        "musescore": Renderer("musescore", "fluidsynth",
                              _find(("MuseScore_General.sf2", "MuseScore_General.sf3",
                                     "MuseScore_General_Lite.sf3")),
                              "apt-get install musescore-general-soundfont-small"),
        "timidity": Renderer("timidity", "timidity", None, "apt-get install timidity freepats"),
    }


RENDERERS = ("timgm6mb", "fluidr3", "musescore", "timidity")


def get_renderer(name: str) -> Renderer:
    """The named renderer; ParameterError naming the install command when it is unknown or absent."""
    known = renderers()
    if name not in known:
        raise ParameterError(f"unknown renderer {name!r}; known: {', '.join(RENDERERS)}")
    r = known[name]
    if not r.available:
        raise ParameterError(f"renderer {name!r} is not installed: {r.install}")
    return r


def available_renderers() -> list[str]:
    return [n for n, r in renderers().items() if r.available]


_SYNTHS: dict[tuple[str, int], tuple[object, int]] = {}


def _synth(path: str, sr: int):
    """This process's synthesizer for (SoundFont, rate), loaded once."""
    key = (path, sr)
    if key not in _SYNTHS:
        import fluidsynth

        s = fluidsynth.Synth(samplerate=float(sr))
        sfid = s.sfload(path)
        if sfid < 0:
            s.delete()
            raise ParameterError(f"FluidSynth could not load the SoundFont {path}")
        _SYNTHS[key] = (s, sfid)
    return _SYNTHS[key]


def _fluidsynth(pm: pretty_midi.PrettyMIDI, path: str, sr: int) -> np.ndarray:
    synth, sfid = _synth(path, sr)
    tracks = []
    for inst in pm.instruments:
        synth.system_reset()  # no notes, controllers or program left over from the previous render
        synth.get_samples(int(0.05 * sr))  # flush what the reset released (reverb/chorus tails)
        tracks.append(inst.fluidsynth(fs=sr, synthesizer=synth, sfid=sfid))
    n = max((len(t) for t in tracks), default=0)
    out = np.zeros(n)
    for t in tracks:
        out[: len(t)] += t
    return out


def _timidity(pm: pretty_midi.PrettyMIDI, sr: int) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="bgmscope-timidity-") as d:
        mid, wav = os.path.join(d, "in.mid"), os.path.join(d, "out.wav")
        pm.write(mid)
        p = subprocess.run(["timidity", "-c", FREEPATS_CFG, "-Ow", "--output-mono", "-s", str(sr), "-o", wav, mid],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0 or not os.path.isfile(wav):
            raise RuntimeError(f"timidity failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-200:]}")
        y, got = sf.read(wav, dtype="float64", always_2d=True)
    if got != sr:
        raise RuntimeError(f"timidity wrote {got} Hz, asked for {sr}")
    return y.mean(axis=1)


def render(pm: pretty_midi.PrettyMIDI, renderer: str | Renderer, *, sr: int = 16000) -> np.ndarray:
    """Mono float32 rendering of ``pm`` (peak 0.99) through ``renderer`` (a name or a Renderer)."""
    r = get_renderer(renderer) if isinstance(renderer, str) else renderer
    if not pm.instruments:
        raise ParameterError("the MIDI has no instruments to render")
    y = _timidity(pm, sr) if r.kind == "timidity" else _fluidsynth(pm, str(r.path), sr)
    peak = float(np.max(np.abs(y), initial=0.0))
    if peak > 0:
        y = y * (0.99 / peak)
    return y.astype(np.float32)
