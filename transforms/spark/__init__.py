"""The spark engine (WAREHOUSE__ENGINE=spark): the same models, built by Spark over the lake.

- `session`: a SparkSession from [spark] (local by default; a cluster's master in production).
- `lake`: each raw table of the lake's manifest as `schema.table` in Spark's catalog.
- `dialect`: a model's DuckDB SQL as Spark SQL (sqlglot, plus the fixes where meaning differs).
- `polars_models`: each Polars model's Spark path (the same function, through Arrow).
- `build`: every model in dependency order; the marts back into the DuckDB warehouse.
"""
