"""`thoth transform` on Spark: every model built by Spark over the lake, in the DuckDB build's
order, then written into the DuckDB warehouse in one transaction, so `thoth check` and `thoth
publish` read Spark-built tables exactly as they read DuckDB-built ones.

On Spark: the raw tables are views over the manifest's files (transforms.spark.lake); a SQL model
is its file translated (transforms.spark.dialect) and created as a view or a table as in DuckDB;
a Polars model runs through its Spark path (transforms.spark.polars_models).

Back in DuckDB, in one transaction: every table model (the marts, and the Polars
stg_ontrack__user_keys) is replaced by Spark's rows, cast to the types DuckDB's own build gives
(`DESCRIBE` of the same SQL, or the Polars function's output types), so published files have the
same schema whichever engine built them. View models (staging, intermediate) are DuckDB views of
the same SQL over the same raw tables the lake was written from: they cost nothing, and the data
tests that compare a mart with an intermediate model (identities) then hold Spark's marts to
DuckDB's reading of the raw data. A Spark failure stops before that transaction: the previous
marts stay as they were. `platform.model_builds` records engine 'spark' and the lake's
snapshot time.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from thoth.core.duck import open_warehouse, transaction, utc_now
from thoth.core.errors import ThothError
from thoth.core.lake import parse_iso, read_manifest
from thoth.core.platform import builds
from thoth.core.storage import Target
from transforms.build import ModelBuild, source_columns
from transforms.project import (
    MODEL_SCHEMAS,
    Model,
    build_order,
    discover,
    resolved_sql,
    unavailable,
)
from transforms.spark import lake, polars_models
from transforms.spark.dialect import to_spark


def _first_line(exc: BaseException) -> str:
    """The line that says what went wrong: a Python worker's exception is the last line of its
    traceback; the JVM's the first line of its message."""
    text = str(getattr(exc, "desc", None) or exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Traceback" in text:
        raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        if raised:
            return raised[-1]
    return lines[0] if lines else type(exc).__name__


def _spark_errors() -> tuple[type[BaseException], ...]:
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _snapshot(manifest: dict[str, Any]) -> datetime | None:
    return parse_iso(manifest.get("snapshot_at"))


def _build_on_spark(spark: Any, model: Model, columns: dict[str, set[str]],
                    pseudonym_key: bytes) -> pa.Schema | None:
    """Builds the model in Spark's catalog; the Arrow schema of a Polars model's rows."""
    spark.sql(f"DROP TABLE IF EXISTS {model.qualified}")  # the previous build's, this session
    if model.sql is not None:
        sql = to_spark(resolved_sql(model, columns), model.qualified)
        # Every model is a table on Spark, views included: a mart reading views of views
        # would be planned (and the CTEs it repeats, computed) from the raw files each time.
        spark.sql(f"CREATE TABLE {model.qualified} USING parquet AS {sql}")
        return None
    frame, schema = polars_models.spark_frame(spark, model, pseudonym_key)
    frame.write.format("parquet").saveAsTable(model.qualified)
    return schema


def build_spark(spark: Any, target: Target, warehouse: Path, *, pseudonym_key: bytes,
                log: Callable[[str], None] = print,
                absent_sources: frozenset[str] = frozenset()) -> list[ModelBuild]:
    """Every model, on `spark`, from the lake at `target`; the tables into `warehouse`.
    `pseudonym_key`: as `transforms.build.build`'s."""
    manifest = read_manifest(target)
    if manifest is None:
        raise ThothError(f"no lake at {target.url} (no _manifest.json): write it with "
                         "`thoth lake` first")
    models, sources = discover(), set(manifest["tables"])
    for name, missing in unavailable(models, sources, absent_sources).items():
        log(f"{name}: skipped, {', '.join(missing)} not loaded (source not configured)")
        del models[name]
    order = build_order(models, sources)
    errors = _spark_errors()
    try:
        columns = lake.register(spark, target, manifest)
    except errors as exc:
        raise ThothError(f"the lake at {target.url} does not read on Spark: {_first_line(exc)}"
                         ) from None
    for schema in MODEL_SCHEMAS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    timings: dict[str, float] = {}
    polars_schemas: dict[str, pa.Schema] = {}
    for model in order:
        started = time.perf_counter()
        try:
            schema = _build_on_spark(spark, model, columns, pseudonym_key)
        except errors as exc:
            raise ThothError(f"model {model.qualified} failed on Spark: {_first_line(exc)}"
                             ) from None
        if schema is not None:
            polars_schemas[model.qualified] = schema
        timings[model.qualified] = time.perf_counter() - started
        log(f"{model.qualified}: built on spark, {timings[model.qualified]:.2f} s")
    try:
        return _write_back(spark, order, warehouse, timings, polars_schemas,
                           _snapshot(manifest), log)
    finally:
        spark.catalog.clearCache()


def _duckdb_types(con: duckdb.DuckDBPyConnection, model: Model, columns: dict[str, set[str]],
                  polars_schema: pa.Schema | None) -> list[tuple[str, str]]:
    """The column types DuckDB's own build gives this model."""
    if polars_schema is not None:
        con.register("_thoth_types", polars_schema.empty_table())
        try:
            return [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM _thoth_types")
                    .fetchall()]
        finally:
            con.unregister("_thoth_types")
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {resolved_sql(model, columns)}")
            .fetchall()]


def _naive(table: pa.Table) -> pa.Table:
    """Spark's zoned timestamps (UTC session) as the warehouse keeps them: UTC, naive."""
    fields = [pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type)
              and f.type.tz else f for f in table.schema]
    return table.cast(pa.schema(fields))


def _write_back(spark: Any, order: list[Model], warehouse: Path, timings: dict[str, float],
                polars_schemas: dict[str, pa.Schema], snapshot_at: datetime | None,
                log: Callable[[str], None]) -> list[ModelBuild]:
    started = time.perf_counter()
    # Spark's rows are fetched before the warehouse is opened: a failure leaves it untouched.
    tables: dict[str, pa.Table] = {}
    errors = _spark_errors()
    for model in order:
        if model.materialized == "table" or model.sql is None:
            try:
                tables[model.qualified] = _naive(spark.table(model.qualified).toArrow())
            except errors as exc:
                raise ThothError(f"model {model.qualified} failed on Spark: "
                                 f"{_first_line(exc)}") from None
    con = open_warehouse(warehouse)
    results: list[ModelBuild] = []
    try:
        columns = source_columns(con)
        with transaction(con):
            for schema in MODEL_SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for model in order:
                try:
                    if model.qualified not in tables:
                        con.execute(f"CREATE OR REPLACE VIEW {model.qualified} AS "
                                    f"{resolved_sql(model, columns)}")
                        results.append(ModelBuild(model.qualified, None,
                                                  round(timings[model.qualified], 3)))
                        continue
                    types = _duckdb_types(con, model, columns,
                                          polars_schemas.get(model.qualified))
                    rows = tables.pop(model.qualified)
                    cast = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"'
                                     for name, kind in types)
                    con.register("_thoth_spark_rows", rows)
                    con.execute(f"CREATE OR REPLACE TABLE {model.qualified} AS SELECT {cast} "
                                "FROM _thoth_spark_rows")
                    con.unregister("_thoth_spark_rows")
                except duckdb.Error as exc:
                    raise ThothError(f"model {model.qualified}: Spark's rows do not go into the "
                                     f"warehouse: {str(exc).splitlines()[0]}") from None
                results.append(ModelBuild(model.qualified, rows.num_rows,
                                          round(timings[model.qualified], 3)))
            now = utc_now()
            builds.record(con, uuid.uuid4().hex[:12],
                          [(r.model, r.rows, r.seconds, now) for r in results],
                          snapshot_at=snapshot_at, engine="spark")
    finally:
        con.close()
    log(f"{sum(r.rows is not None for r in results)} tables written to {warehouse} in "
        f"{time.perf_counter() - started:.2f} s")
    return results
