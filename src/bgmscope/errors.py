"""The exception types bgmscope raises (one per kind of failure, as librosa's ParameterError)."""


class BgmscopeError(Exception):
    """Base class of every bgmscope error."""


class ParameterError(BgmscopeError, ValueError):
    """A bad argument: fails fast with a message saying what was expected."""


class DecodeError(BgmscopeError):
    """An audio file could not be decoded (empty, not audio, truncated, non-finite samples)."""


class CatalogError(BgmscopeError):
    """The catalog is missing something a stage needs (e.g. no clips before features)."""


class NotEnoughData(CatalogError):
    """A stage has too little input to say anything (e.g. 6 songs for a correlation study).

    The pipeline reports it as skipped, not failed."""
