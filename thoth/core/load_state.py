"""`platform.load_state`: one row per loaded table. OnTrack writes it in the same transaction as
the table's data; GA4 right after dlt's load of that report has committed. Either way it
describes what the warehouse holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

DDL = """
CREATE SCHEMA IF NOT EXISTS platform;
CREATE TABLE IF NOT EXISTS platform.load_state (
    source        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    mode          VARCHAR NOT NULL,   -- full | incremental
    cursor_column VARCHAR,
    cursor_value  VARCHAR,            -- the newest value loaded, ISO text whatever its type
    rows_loaded   BIGINT NOT NULL,    -- read from the source in the last load
    rows_deleted  BIGINT NOT NULL,    -- removed because the source no longer has them
    rows_total    BIGINT NOT NULL,
    seconds       DOUBLE NOT NULL,
    loaded_at     TIMESTAMP NOT NULL, -- UTC, end of the last successful load
    PRIMARY KEY (source, table_name)
);
-- Caveats on the loaded data, e.g. GA4's "sampled 2d, thresholded 30d"; NULL when none.
ALTER TABLE platform.load_state ADD COLUMN IF NOT EXISTS flags VARCHAR;
"""


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
    con.execute(DDL)


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
    if not con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'platform' AND table_name = 'load_state'"
    ).fetchall():
        return []
    rows = con.execute(
        "SELECT * FROM platform.load_state ORDER BY source, table_name"
    ).fetchall()
    return [TableLoad(*row) for row in rows]
