"""Analyses over the catalog: clustering, popularity statistics, hooks, versions and similarity."""
