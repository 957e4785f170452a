"""Which engine builds the models ([warehouse] engine): DuckDB in this process, or Spark over the
lake. Either way the models land in the DuckDB warehouse, so check and publish are unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from thoth.core.duck import open_warehouse
from thoth.core.platform import builds, keys
from transforms.build import ModelBuild

if TYPE_CHECKING:
    from thoth.app.context import Context


def build_models(ctx: Context) -> list[ModelBuild]:
    engine = ctx.engine
    key = ctx.pseudonym_key  # required: every student_key and tutor_key is made with it
    check_pseudonym_key(ctx.warehouse, key)
    if engine == "duckdb":
        from transforms.build import build

        return build(ctx.warehouse, pseudonym_key=key, log=ctx.log,
                     absent_sources=ctx.absent_sources)
    from transforms.spark.session import require_spark

    require_spark()  # before anything else: one line saying what to install
    target = ctx.lake
    from transforms.spark.build import build_spark
    from transforms.spark.session import spark_session

    spark = spark_session(ctx.spark)
    ctx.log(f"building on Spark ({spark.sparkContext.master}) from the lake at {target.url}")
    results = build_spark(spark, target, ctx.warehouse, pseudonym_key=key, log=ctx.log,
                          absent_sources=ctx.absent_sources)
    con = open_warehouse(ctx.warehouse)
    try:  # what DuckDB built last is no longer what the tables hold
        builds.forget_fingerprints(con)
    finally:
        con.close()
    return results


def check_pseudonym_key(warehouse: Path, key: bytes) -> None:
    """`key` must be the one the warehouse's pseudonyms were built with (recorded the first
    time)."""
    if not warehouse.exists():
        return
    con = open_warehouse(warehouse)
    try:
        keys.check(con, key)
    finally:
        con.close()
