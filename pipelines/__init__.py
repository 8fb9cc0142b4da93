"""Dagster layer of perception: thin assets over the library in ``src/perception``."""
