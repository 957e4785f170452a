"""Which engine builds the models ([warehouse] engine): DuckDB in this process, or Spark over the
lake. Either way the models land in the DuckDB warehouse, so check and publish are unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from thoth.core import config
from thoth.core.duck import open_warehouse
from thoth.core.errors import ThothError
from thoth.core.platform import builds, keys
from thoth.core.storage import configured_lake
from transforms.build import ModelBuild


def build_models(warehouse: Path, *, log: Callable[[str], None],
                 absent_sources: frozenset[str] = frozenset()) -> list[ModelBuild]:
    engine = config.resolve(config.WarehouseConfig()).engine
    check_pseudonym_key(warehouse)
    if engine == "duckdb":
        from transforms.build import build

        return build(warehouse, log=log, absent_sources=absent_sources)
    from transforms.spark.session import require_spark

    require_spark()  # before anything else: one line saying what to install
    target = configured_lake()
    from transforms.spark.build import build_spark
    from transforms.spark.session import spark_session

    spark = spark_session(config.resolve(config.SparkConfig()))
    log(f"building on Spark ({spark.sparkContext.master}) from the lake at {target.url}")
    results = build_spark(spark, target, warehouse, log=log, absent_sources=absent_sources)
    con = open_warehouse(warehouse)
    try:  # what DuckDB built last is no longer what the tables hold
        builds.forget_fingerprints(con)
    finally:
        con.close()
    return results


def check_pseudonym_key(warehouse: Path, key: bytes | None = None) -> None:
    """The configured key (or `key`) must be the one the warehouse's pseudonyms were built with
    (recorded the first time). Not set: nothing to check here — a model needing it says so."""
    if key is None:
        try:
            key = config.pseudonym_key()
        except ThothError:
            return
    if not warehouse.exists():
        return
    con = open_warehouse(warehouse)
    try:
        keys.check(con, key)
    finally:
        con.close()
