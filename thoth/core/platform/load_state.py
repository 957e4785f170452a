"""`platform.load_state`: one row per loaded table. OnTrack writes it in the same transaction as
the table's data; GA4 right after dlt's load of that report has committed. Either way it
describes what the warehouse holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from thoth.core import platform


@dataclass(frozen=True)
class TableLoad:
    source: str
    table: str
    mode: str
    cursor_column: str | None
    cursor_value: str | None
    rows_loaded: int
    rows_deleted: int
    rows_total: int
    seconds: float
    loaded_at: datetime
    flags: str | None = None  # last, so existing positional constructions keep working


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    platform.ensure(con, "load_state")


def record(con: duckdb.DuckDBPyConnection, load: TableLoad) -> None:
    con.execute(
        "INSERT OR REPLACE INTO platform.load_state (source, table_name, mode, cursor_column, "
        "cursor_value, rows_loaded, rows_deleted, rows_total, seconds, loaded_at, flags) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load.source, load.table, load.mode, load.cursor_column, load.cursor_value,
         load.rows_loaded, load.rows_deleted, load.rows_total, load.seconds, load.loaded_at,
         load.flags],
    )


def read_all(con: duckdb.DuckDBPyConnection) -> list[TableLoad]:
    if not platform.has_table(con, "load_state"):
        return []
    rows = con.execute(
        "SELECT * FROM platform.load_state ORDER BY source, table_name"
    ).fetchall()
    return [TableLoad(*row) for row in rows]
