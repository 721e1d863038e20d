"""Pretrained models run on onnxruntime (the optional ``bgmscope[models]`` extra).

- ``runtime``: the ONNX session loader (CPU, one thread per worker) and where the weights are.
- ``transcribe``: Basic Pitch polyphonic audio -> notes / PrettyMIDI.
- ``pitch``: CREPE-tiny f0 with confidence.
- ``tagger``: musicnn MSD / MTT tag scores in [0, 1].

Nothing here downloads anything: the ONNX files are in ``weights/`` (or, for Basic Pitch, in the
``basic-pitch`` wheel). See docs/models.md.
"""
