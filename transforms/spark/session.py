"""The SparkSession the spark engine builds with, from [spark] (thoth/core/config.py)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

from thoth.core.config import SparkConfig
from thoth.core.errors import ThothError

# Local defaults: no UI server, few shuffle partitions (the default 200 means 200 tiny tasks per
# join on two cores), UTC so timestamps read and compare as DuckDB's (kept in UTC, naive). A
# setting in [spark] conf overrides any of these.
DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Catalog tables of models live here for one build only (marts are copied to DuckDB).
    "spark.sql.catalogImplementation": "in-memory",
    # A failing model is reported in one line naming it; the JVM's stack traces would bury it.
    "spark.log.level": "FATAL",
    "spark.ui.showConsoleProgress": "false",
}


def require_spark() -> None:
    """One line naming what to install when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ThothError("WAREHOUSE__ENGINE=spark needs PySpark: pip install '.[spark]' "
                         "(or set WAREHOUSE__ENGINE=duckdb)") from None
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java") or (java_home and shutil.which("java", path=f"{java_home}/bin"))
    if not java:
        raise ThothError("WAREHOUSE__ENGINE=spark needs Java 17 or newer: install it (e.g. "
                         "apt-get install openjdk-17-jre-headless) or set JAVA_HOME")


def spark_session(config: SparkConfig, **extra: str) -> Any:
    """A SparkSession for `config` (the running one if there is one: a JVM starts once per
    process). `extra`: settings of the caller's, overridden by [spark] conf."""
    require_spark()
    from pyspark.sql import SparkSession

    if config.master.startswith("local"):
        # Workers run this interpreter, whose packages (polars, this project) the Polars models
        # need (PySpark reads it from the environment only); on a cluster the image provides
        # them (docs/spark.md).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    scratch = tempfile.mkdtemp(prefix="thoth-spark-warehouse-")
    atexit.register(shutil.rmtree, scratch, True)
    settings = {**DEFAULTS, "spark.sql.warehouse.dir": scratch,
                **extra, **config.conf}
    builder = SparkSession.builder.master(config.master).appName(config.app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    # PySpark logs a failing query's context as a JSON line on stderr; the build reports the
    # failure itself, in one line naming the model.
    from pyspark.logger import PySparkLogger

    PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM's failures arrive as several exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ThothError(f"Spark did not start (master {config.master}): {first}") from None
