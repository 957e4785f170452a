"""What is done with the stored data, above pipelines and transforms: governance/ (retention,
erasure, the governance handed to each loader), the lake, the data products and publishing for
Looker."""
