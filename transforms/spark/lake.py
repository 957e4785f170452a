"""Each raw table of the lake as `schema.table` in Spark's catalog: a view over exactly the files
the manifest names (never a directory listing: files of a newer, half-written load may sit
beside them), each column cast to the manifest's type as Spark spells it."""

from __future__ import annotations

from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from thoth.core.storage import Target
from transforms.spark.dialect import CATALOG, DATABASE


def spark_url(target: Target, relative: str) -> str:
    """The URL Spark reads `relative` from: gs:// through the GCS connector, else file://."""
    if target.is_local:
        return f"file://{target.path(relative)}"
    scheme = target.url.split("://", 1)[0]
    return f"{scheme}://{target.path(relative)}"


def spark_type(duckdb_type: str) -> str | None:
    """A DuckDB type in Spark's SQL; None where Spark has none (the column is read as stored)."""
    kind = duckdb_type.strip()
    if kind.upper() in ('"NULL"', "NULL"):
        return None
    if kind.upper() in ("HUGEINT", "UBIGINT"):
        return "DECIMAL(38, 0)" if kind.upper() == "HUGEINT" else "DECIMAL(20, 0)"
    if kind.upper() == "JSON":
        return "STRING"
    try:
        return exp.DataType.build(kind, dialect="duckdb").sql("spark")
    except sqlglot.errors.SqlglotError:
        return None


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def view_sql(target: Target, table: dict[str, Any]) -> str:
    """One SELECT per file, UNION ALL: a file's columns cast to the manifest's types."""
    columns = []
    for name, kind in table["columns"].items():
        spark = spark_type(kind)
        columns.append(f"CAST({_quote(name)} AS {spark}) AS {_quote(name)}" if spark
                       else _quote(name))
    select = ", ".join(columns)
    parts = [f"SELECT {select} FROM parquet.{_quote(spark_url(target, f))}"
             for f in table["files"]]
    if not parts:  # no rows loaded yet: an empty table of the right shape
        typed = ", ".join(f"CAST(NULL AS {spark_type(k) or 'STRING'}) AS {_quote(n)}"
                          for n, k in table["columns"].items())
        parts = [f"SELECT {typed} WHERE FALSE"]
    return " UNION ALL ".join(parts)


def register(spark: Any, target: Target, manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Every table of the manifest as a view named `schema.table`, and the stand-ins of DuckDB's
    catalog functions; returns each table's columns (as the build's `source_columns`)."""
    columns: dict[str, set[str]] = {}
    for name, table in sorted(manifest["tables"].items()):
        schema, _ = name.split(".", 1)
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {_quote(schema)}")
        spark.sql(f"CREATE OR REPLACE VIEW {name} AS {view_sql(target, table)}")
        columns[name] = set(table["columns"])
    _catalog(spark, manifest)
    return columns


def _catalog(spark: Any, manifest: dict[str, Any]) -> None:
    """`duckdb_columns()`: the manifest's columns, as if the lake were the DuckDB database
    `lake`; `pg_timezone_names()`: the zone names DuckDB knows (this process's DuckDB), so a
    campus's zone reads as known, or as NULL, as it does in the DuckDB build."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {CATALOG}")
    rows = [(DATABASE, name.split(".", 1)[0], name.split(".", 1)[1], column, kind)
            for name, table in sorted(manifest["tables"].items())
            for column, kind in table["columns"].items()]
    frame = spark.createDataFrame(
        rows, "database_name string, schema_name string, table_name string, "
              "column_name string, data_type string")
    _save(spark, frame, f"{CATALOG}.duckdb_columns")
    zones = [(z,) for (z,) in duckdb.sql("SELECT name FROM pg_timezone_names()").fetchall()]
    _save(spark, spark.createDataFrame(zones, "name string"), f"{CATALOG}.pg_timezone_names")


def _save(spark: Any, frame: Any, name: str) -> None:
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    frame.write.format("parquet").saveAsTable(name)
