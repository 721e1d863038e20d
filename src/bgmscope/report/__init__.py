"""The report: one self-contained HTML file and a Markdown twin, drawn from the catalog."""

from .builder import DEFAULT_CARDS, ReportResult, build_report

__all__ = ["DEFAULT_CARDS", "ReportResult", "build_report"]
