"""One SparkSession for every spark test of a worker (a JVM starts in ~10 s on two cores); the
spark tests share one xdist group, so one worker runs them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from thoth.core.config import SparkConfig
    from transforms.spark.session import spark_session

    config = SparkConfig()
    # The JIT's first tier only: the tests' JVM lives minutes over tiny data, where compiling
    # hot code fully costs more than it saves (the one Spark build: ~25% faster here). Its code
    # cache made room for: at the default 48 MB the JIT filled it and stopped, and Catalyst,
    # interpreted, failed a build (seen once in CI).
    config.conf = {"spark.driver.extraJavaOptions":
                   "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"}
    session = spark_session(config)
    try:
        yield session
    finally:
        session.stop()
