"""What is done with the stored data, above pipelines and transforms: governance (retention,
erasure, the governance handed to each loader) and publishing for Looker."""
