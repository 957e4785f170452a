"""What is done with the stored data, above pipelines and transforms: governance/ (retention,
erasure and its steps; the guard each loader applies is thoth/core/load_guard.py), the lake,
the data products and publishing for Looker."""
