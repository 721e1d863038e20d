"""The version signature now lives in :mod:`bgmscope.prepare.signature` (the prepare stage's song
pass computes it from the STFT it takes anyway); re-exported here for the versions stage's callers."""

from ..prepare.signature import *  # noqa: F401,F403
from ..prepare.signature import (  # noqa: F401
    BANDS_PER_OCTAVE,
    COARSE,
    HOP_S,
    N_BANDS,
    SIGNATURE_VERSION,
    Signature,
    band_matrix,
    version_signature,
)
