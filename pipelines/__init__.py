"""Pipelines: each pulls one source into the DuckDB warehouse's raw schema for it."""
