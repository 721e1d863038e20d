"""The chart log file (``<data_dir>/logs/chart.log``): retries and failures, with secrets scrubbed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .auth import RedactingFilter, Redactor


@contextmanager
def chart_log(path: Path, redactor: Redactor, level: int = logging.INFO) -> Iterator[Path]:
    """Send the 'bgmscope.acquire' logger to ``path`` (UTF-8, appended) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("bgmscope.acquire")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, old_level) if old_level else level)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
