"""similar: see docs/architecture.md."""
