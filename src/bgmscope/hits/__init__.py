"""hits: see docs/architecture.md."""
