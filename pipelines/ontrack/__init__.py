"""OnTrack (Doubtfire) → DuckDB schema `ontrack_raw`, one table per source table.

Works on PostgreSQL and MariaDB, with either the 8.0.x or the 2024-01 schema: tables and columns
come from the source's own catalog, minus the secrets in `settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from dlt.common.configuration.specs import ConnectionStringCredentials

from pipelines.ontrack import settings
from pipelines.ontrack.load import TablePlan, load_table, plan_table
from pipelines.ontrack.source_db import SourceDB
from thoth import load_state
from thoth.duck import STREAMING_MEMORY_LIMIT, open_warehouse
from thoth.errors import ThothError
from thoth.load_state import TableLoad


def _plans(src: SourceDB, only: list[str] | None) -> list[TablePlan]:
    catalog = src.catalog()
    if not catalog:
        raise ThothError(f"the OnTrack {src} has no tables: is it the right database?")
    for table in list(catalog):
        if table in settings.SECRET_TABLES or table in settings.INTERNAL_TABLES:
            del catalog[table]
            continue
        secret = settings.SECRET_COLUMNS.get(table, frozenset())
        catalog[table] = [c for c in catalog[table] if c.name not in secret]
    if only:
        for table in only:
            if table in settings.SECRET_TABLES:
                raise ThothError(f"{table} holds secrets and is never extracted")
            if table not in catalog:
                raise ThothError(
                    f"no table {table!r} in the OnTrack {src}; tables: {', '.join(sorted(catalog))}"
                )
        catalog = {t: catalog[t] for t in only}
    return [plan_table(table, columns) for table, columns in sorted(catalog.items())]


def extract(
    credentials: ConnectionStringCredentials,
    warehouse: Path,
    *,
    full_refresh: bool = False,
    tables: list[str] | None = None,
    lookback_minutes: int = settings.DEFAULT_LOOKBACK_MINUTES,
    schema: str | None = None,
    log: Callable[[str], None] = print,
) -> list[TableLoad]:
    """Load the OnTrack tables (all, or `tables`) into the warehouse; one result per table."""
    src = SourceDB(credentials, schema)
    plans = _plans(src, tables)  # the source is reachable before the warehouse is touched
    con = open_warehouse(warehouse, memory_limit=STREAMING_MEMORY_LIMIT)
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {settings.DATASET}")
        load_state.ensure(con)
        results = []
        for plan in plans:
            result = load_table(con, src, plan, full_refresh=full_refresh,
                                lookback=timedelta(minutes=lookback_minutes))
            log(
                f"ontrack.{plan.table}: {result.mode}, {result.rows_loaded:,} rows read, "
                f"{result.rows_deleted:,} deleted, {result.rows_total:,} in warehouse, "
                f"{result.seconds:.1f} s" + (f"; {result.flags}" if result.flags else "")
            )
            results.append(result)
        con.execute("CHECKPOINT")
        return results
    finally:
        con.close()
