"""Each Polars model's Spark path: the same Polars function, run by Spark's Python workers on
Arrow batches, over a split of its input that cannot change its answer.

- `stg_ontrack__user_keys` and `int_unit_grades` are row by row (one HMAC per user id, a unit's
  grades from its own row): `mapInArrow` runs the function on each batch as it comes.
- `kpi_comment_activity` is per task (the next staff reply, `join_asof` by task) and its output per
  unit (every group key holds unit_id): `groupBy(unit_id).applyInArrow` gives the function one
  unit's comments, tasks and projects at a time, and all of the (small) units and periods.
  Exact because tasks are unique by task_id and projects by project_id (their data tests), so
  the inner joins done here to find each comment's unit are the function's own joins.
- `stg_rails__time_zones` reads no table (Rails' zone names, as data): run once on the driver.

A new Polars model needs an entry in SPARK_PATHS: a build without one fails, naming the model.
The pseudonym key comes from the command (the driver) and is handed to the workers bound to the
function (a worker on a cluster has neither the driver's environment nor its
`.dlt/secrets.toml`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from thoth.core.errors import ThothError
from transforms.project import Model, polars_function


def _plain(schema: pa.Schema) -> pa.Schema:
    """Polars' Arrow (large/view strings) in the types Spark's Arrow bridge reads."""
    fields = []
    for f in schema:
        kind = f.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        elif pa.types.is_large_list(kind):
            kind = pa.list_(kind.value_type)
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def _arrow(frame: pl.DataFrame | pl.LazyFrame, schema: pa.Schema) -> pa.Table:
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    return frame.to_arrow().cast(schema)


def _empty(spark_frame: Any) -> pl.DataFrame:
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(spark_frame.schema, timezone="UTC")
    return pl.from_arrow(schema.empty_table())


def _inputs(spark: Any, model: Model) -> list[Any]:
    return [spark.table(name).select(*columns) if columns else spark.table(name)
            for name, columns in model.func.polars_inputs.items()]


def output_schema(func: Callable, inputs: list[Any]) -> pa.Schema:
    """The function's output types, from running it on empty inputs of the right types."""
    result = func(*[_empty(frame) for frame in inputs])
    if isinstance(result, pl.LazyFrame):
        result = result.collect()
    return _plain(result.to_arrow().schema)


def _row_by_row(spark: Any, model: Model, func: Callable) -> tuple[Any, pa.Schema]:
    (source,) = _inputs(spark, model)
    schema = output_schema(func, [source])

    def batches(stream: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in stream:
            yield from _arrow(func(pl.from_arrow(pa.Table.from_batches([batch]))),
                              schema).to_batches()

    from pyspark.sql.pandas.types import from_arrow_schema

    return source.mapInArrow(batches, from_arrow_schema(schema)), schema


def _comment_activity(spark: Any, model: Model, func: Callable) -> tuple[Any, pa.Schema]:
    comments, tasks, projects, units, periods = _inputs(spark, model)
    schema = output_schema(func, [comments, tasks, projects, units, periods])
    # Units and teaching periods: one row per unit, shipped whole to every group.
    small = [pl.from_arrow(frame.toArrow()) for frame in (units, periods)]
    comment_cols, task_cols, project_cols = comments.columns, tasks.columns, projects.columns

    def per_unit(table: pa.Table) -> pa.Table:
        joined = pl.from_arrow(table)
        return _arrow(func(joined.select(comment_cols), joined.select(task_cols).unique(),
                           joined.select(project_cols).unique(), *small), schema)

    joined = comments.join(tasks, "task_id").join(projects, "project_id")
    from pyspark.sql.pandas.types import from_arrow_schema

    return joined.groupBy("unit_id").applyInArrow(per_unit, from_arrow_schema(schema)), schema


def _reference(spark: Any, model: Model, func: Callable) -> tuple[Any, pa.Schema]:
    """A model that reads no table (reference data shipped with the code, e.g. Rails' time
    zone names): run once, on the driver; its few rows handed to Spark as Arrow."""
    schema = output_schema(func, [])
    return spark.createDataFrame(_arrow(func(), schema)), schema


# Each path gets the model and its function as the build calls it (the key bound, when keyed).
SPARK_PATHS: dict[str, Callable[[Any, Model, Callable], tuple[Any, pa.Schema]]] = {
    "staging.stg_ontrack__user_keys": _row_by_row,
    "marts.kpi_comment_activity": _comment_activity,
    "staging.stg_rails__time_zones": _reference,
    "intermediate.int_unit_grades": _row_by_row,
}


def spark_frame(spark: Any, model: Model, pseudonym_key: bytes) -> tuple[Any, pa.Schema]:
    """The model's table as a Spark DataFrame (lazy), with the Arrow schema of its rows."""
    path = SPARK_PATHS.get(model.qualified)
    if path is None:
        raise ThothError(f"Polars model {model.qualified} has no Spark path: add one to "
                         "SPARK_PATHS in transforms/spark/polars_models.py")
    return path(spark, model, polars_function(model, pseudonym_key))
