"""Genre and style classification: labelled datasets, the seed's per-genre HMMs, stronger models,
honest (grouped, stratified) evaluation, and prediction on the chart's songs.

Modules: ``dataset`` (folder-per-label loader, GTZAN layout, patches), ``download`` (fetch and
unpack an archive), ``styles`` (the offline styles corpus rendered from music21 scores),
``features`` (MFCC frames, clip summaries, log-mel patches), ``models`` (HMM, SVM, CNN behind one
interface), ``evaluate`` (k-fold by piece), ``predict`` (the catalog's chart songs), ``stage``.
"""

MODEL_KINDS = ("hmm", "svm", "cnn")
