"""`make bench`, part 2: a full rebuild of every KPI at scale 1 (≈ 5 M tasks, 3 M comments).

Generates scale-1 OnTrack data in the local PostgreSQL, loads it with the demo's GA4 and stream
samples, then times `thoth transform` (all staging, intermediate and KPI tables, one
transaction) against the 10 s target.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from pipelines.ontrack.extract import extract
from thoth.core.load_guard import guard
from thoth.demo import run_ga4_demo, run_landing_demo
from thoth.demo.ontrack import generate
from transforms.build import build

SCALE = float(os.environ.get("BENCH_SCALE", 1))
ADMIN = os.environ.get("THOTH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    key = b"bench-only-key"  # a bench's pseudonyms need no secret
    name = f"thoth_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(ADMIN)
    url = (f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host')}:"
           f"{info.get('port', 5432)}/{name}")
    work = Path(tempfile.mkdtemp(prefix="thoth-bench-kpi-"))
    warehouse = work / "warehouse.duckdb"
    now = datetime.now(UTC)  # every source's data ends here, as in the demo
    try:
        started = time.perf_counter()
        counts = generate(url, scale=SCALE, seed=42, now=now)
        print(f"generated scale {SCALE}: {counts['tasks']:,} tasks, "
              f"{counts['task_comments']:,} comments in {time.perf_counter() - started:.0f} s",
              flush=True)
        started = time.perf_counter()
        extract(ConnectionStringCredentials(url), warehouse, guard=guard(lambda: key),
                log=lambda line: None)
        load_s = time.perf_counter() - started
        run_ga4_demo(warehouse, now=now, log=lambda line: None)
        run_landing_demo(warehouse, work / "landing", now=now, log=lambda line: None)
        started = time.perf_counter()
        results = build(warehouse, pseudonym_key=key, log=lambda line: None)
        build_s = time.perf_counter() - started
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    slowest = sorted(results, key=lambda r: r.seconds, reverse=True)[:3]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kpis = con.execute("SELECT count(*) FROM duckdb_tables() "
                           "WHERE schema_name = 'marts'").fetchall()[0][0]
    print(f"\nKPI rebuild benchmark, scale {SCALE}, one run:")
    print(f"  full OnTrack load (all tables)                   {load_s:8.2f} s")
    print(f"  thoth transform: {len(results)} models, {kpis} KPI tables  {build_s:8.2f} s  "
          f"(target ≤ 10 s: {'met' if build_s <= 10 else 'MISSED'})")
    print("  slowest: " + ", ".join(f"{r.model} {r.seconds:.2f} s" for r in slowest))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
