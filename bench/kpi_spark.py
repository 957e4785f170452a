"""`make bench`, part 5: the KPI rebuild on Spark (local mode) beside DuckDB, at one scale, in one
run: the same warehouse, every model, both engines; Spark's time includes writing the marts back
into DuckDB, not the JVM's start (printed apart).

Generates OnTrack data at BENCH_SPARK_SCALE (default 0.02) in the local PostgreSQL, loads it with
the demo's GA4 and stream samples, builds with DuckDB, writes the lake, builds with Spark.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from pipelines.ontrack.extract import extract
from thoth.core.config import SparkConfig, resolve
from thoth.core.load_guard import guard
from thoth.core.storage import open_target
from thoth.demo import run_ga4_demo, run_landing_demo
from thoth.demo.ontrack import generate
from transforms.build import build
from transforms.spark.build import build_spark
from transforms.spark.session import spark_session
from warehouse.lake import write_lake

SCALE = float(os.environ.get("BENCH_SPARK_SCALE", 0.02))
ADMIN = os.environ.get("THOTH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    key = b"bench-only-key"  # a bench's pseudonyms need no secret
    name = f"thoth_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(ADMIN)
    url = (f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host')}:"
           f"{info.get('port', 5432)}/{name}")
    work = Path(tempfile.mkdtemp(prefix="thoth-bench-spark-"))
    warehouse = work / "warehouse.duckdb"
    now = datetime.now(UTC)  # every source's data ends here, as in the demo
    try:
        counts = generate(url, scale=SCALE, seed=42, now=now)
        extract(ConnectionStringCredentials(url), warehouse, guard=guard(lambda: key),
                log=lambda line: None)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    try:
        run_ga4_demo(warehouse, now=now, log=lambda line: None)
        run_landing_demo(warehouse, work / "landing", now=now, log=lambda line: None)
        started = time.perf_counter()
        results = build(warehouse, pseudonym_key=key, log=lambda line: None)
        duck_s = time.perf_counter() - started
        started = time.perf_counter()
        lake = open_target(str(work / "lake"), section="lake")
        write_lake(warehouse, lake, log=lambda line: None)
        lake_s = time.perf_counter() - started
        started = time.perf_counter()
        spark = spark_session(resolve(SparkConfig()))
        jvm_s = time.perf_counter() - started
        started = time.perf_counter()
        build_spark(spark, lake, warehouse, pseudonym_key=key, log=lambda line: None)
        spark_s = time.perf_counter() - started
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nKPI rebuild on both engines, scale {SCALE} ({counts['tasks']:,} tasks, "
          f"{counts['task_comments']:,} comments), {len(results)} models, one run:")
    print(f"  DuckDB (in process)                          {duck_s:8.2f} s")
    print(f"  lake written (Parquet + manifest)            {lake_s:8.2f} s")
    print(f"  Spark session start ({resolve(SparkConfig()).master}, JVM)        {jvm_s:8.2f} s")
    print(f"  Spark local, marts written back to DuckDB    {spark_s:8.2f} s")
    print(f"  ratio Spark / DuckDB                         {spark_s / duck_s:8.1f} ×")


if __name__ == "__main__":
    main()
