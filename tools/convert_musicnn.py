"""Convert musicnn's MSD/MTT taggers (TF1 checkpoints in the musicnn wheel) to ONNX, once, offline.

Run in a THROWAWAY venv (TensorFlow 2.15 needs numpy < 2; never in the project venv)::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.15.*" "numpy<2" tf2onnx==1.17.0 onnx==1.16.2 librosa==0.10.1
    /tmp/tfvenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfvenv/bin/python tools/convert_musicnn.py src/bgmscope/models/weights

(onnx 1.16.2: newer onnx needs an ml_dtypes newer than TensorFlow 2.15 allows; musicnn --no-deps
because its metadata pins numpy<1.17.)

Writes ``musicnn_MSD.onnx``, ``musicnn_MTT.onnx``, their tag lists (``musicnn_*_tags.txt``), the
licence (``musicnn_LICENSE.md``) and ``musicnn_reference.npz``: the fixed synthetic clip of
``reference_clip()`` (16 kHz), the log-mel patches musicnn's own code computes from it (in float32:
its float16 cast overflows under numpy 2) and the sigmoid tag scores the TensorFlow original gives on
them, per patch. ``tests/test_models.py`` checks bgmscope's mel and the ONNX models against these.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np


def reference_clip(sr: int = 16000, seconds: float = 9.0) -> np.ndarray:
    """A deterministic clip (no RNG): a plucked-ish arpeggio over a bass and a ticking pulse."""
    t = np.arange(int(sr * seconds)) / sr
    y = np.zeros_like(t)
    notes = [60, 64, 67, 72, 67, 64]
    step = 0.25
    for k in range(int(seconds / step)):
        m = notes[k % len(notes)]
        f = 440.0 * 2 ** ((m - 69) / 12)
        start = k * step
        env = np.where(t >= start, np.exp(-(t - start) * 6.0), 0.0)
        for h in range(1, 6):
            y += env * np.sin(2 * np.pi * f * h * (t - start)) / h * 0.2
    y += 0.15 * np.sin(2 * np.pi * 65.41 * t)
    tick = (np.mod(t, 0.5) < 0.01) * np.sin(2 * np.pi * 3000 * t) * 0.3
    y = (y + tick) / np.max(np.abs(y + tick)) * 0.8
    return y.astype(np.float32)


def main(out_dir: str) -> None:
    import librosa
    import musicnn
    import tensorflow as tf
    import tf2onnx
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pkg = Path(musicnn.__file__).parent
    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    y = reference_clip()
    mel = librosa.feature.melspectrogram(y=y, sr=config.SR, hop_length=config.FFT_HOP,
                                         n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
    logmel = np.log10(10000 * mel.astype(np.float32) + 1).astype(np.float32)
    starts = range(0, logmel.shape[0] - n_frames + 1, n_frames)
    patches = np.stack([logmel[s:s + n_frames] for s in starts]).astype(np.float32)
    ref = {"clip": y, "sr": np.int64(config.SR), "logmel": logmel, "patches": patches}
    provenance = {}
    for name, labels in (("MSD", config.MSD_LABELS), ("MTT", config.MTT_LABELS)):
        model = f"{name}_musicnn"
        tf.compat.v1.reset_default_graph()
        g = tf.compat.v1.Graph()
        with g.as_default():
            with tf.name_scope("model"):
                x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS], name="melspec")
                logits = models.define_model(x, False, model, len(labels))[0]
                tf.identity(tf.nn.sigmoid(logits), name="tags")
            sess = tf.compat.v1.Session(graph=g)
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().restore(sess, str(pkg / model) + "/")
            scores = sess.run("model/tags:0", {"model/melspec:0": patches})
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, g.as_graph_def(), ["model/tags"])
        onnx_path = out / f"musicnn_{name}.onnx"
        tf2onnx.convert.from_graph_def(frozen, input_names=["model/melspec:0"], output_names=["model/tags:0"],
                                       opset=13, output_path=str(onnx_path))
        (out / f"musicnn_{name}_tags.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
        ref[f"{name}_scores"] = scores.astype(np.float32)
        ckpt = sorted((pkg / model).glob("*"))
        provenance[name] = {
            "source": f"musicnn==0.1.0 wheel, musicnn/{model}/",
            "files_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ckpt if p.is_file()},
            "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__, "opset": 13,
            "input": f"model/melspec:0 float32 (batch, {n_frames}, {config.N_MELS}) log10(10000*mel+1)",
            "output": "model/tags:0 float32 (batch, 50) sigmoid scores",
        }
        print(name, "top tags on the reference clip:",
              [labels[i] for i in np.argsort(-scores.mean(0))[:5]])
    np.savez_compressed(out / "musicnn_reference.npz", **ref)
    lic = next(Path(musicnn.__file__).parent.parent.glob("musicnn-*.dist-info")) / "LICENSE.md"
    shutil.copy(lic, out / "musicnn_LICENSE.md")
    (out / "musicnn_provenance.json").write_text(json.dumps(provenance, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/bgmscope/models/weights")
