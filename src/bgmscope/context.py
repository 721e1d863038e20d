"""What a pipeline stage is given: the open catalog, the settings, and where to say what it made.

Every stage package's ``stage.run_stage(ctx)`` takes a :class:`PipelineContext` and returns a dict
of what it made (shown in the run's summary). It lives below the stages so that they need not
import the pipeline that runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from .catalog import Catalog
from .config import Settings


@dataclass
class PipelineContext:
    catalog: Catalog
    settings: Settings
    jobs: int
    console: Console
    demo: bool = False
    seed: int = 0
    demo_corpus: object | None = None  # bgmscope.demo.DemoCorpus when running the demo
    outputs: dict[str, Path] = field(default_factory=dict)


Stage = Callable[[PipelineContext], dict]
