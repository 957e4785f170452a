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
    config.conf = {}
    session = spark_session(config)
    try:
        yield session
    finally:
        session.stop()
