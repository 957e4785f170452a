"""The ground every layer stands on, importing nothing else of the platform: errors, the DuckDB
warehouse file, configuration, storage targets (a directory or `gs://`), the `platform.*`
tables, the column classification, and secret redaction."""
