"""prepare: see docs/architecture.md."""
