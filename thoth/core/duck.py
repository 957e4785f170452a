"""Opening the DuckDB warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from thoth.core.errors import ThothError

# DuckDB spills to disk past its limit. Transforms get room to join millions of rows in memory;
# the loaders stream, and a small limit keeps their memory flat whatever the table size.
MEMORY_LIMIT = "4GB"
STREAMING_MEMORY_LIMIT = "256MB"


def open_warehouse(path: Path, read_only: bool = False,
                   memory_limit: str = MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise ThothError(f"no warehouse at {path}: run `thoth extract ontrack` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise ThothError(
                f"the warehouse {path} is in use by another process: wait for it to finish"
            ) from None
        raise ThothError(f"cannot open the warehouse {path}: {str(exc).splitlines()[0]}") from None
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")  # OnTrack writes UTC; current_timestamp must agree
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any exception (a kill leaves the last commit)."""
    con.execute("BEGIN")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def quote(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def utc_now() -> datetime:
    """Now in UTC, naive: how every timestamp in the warehouse is kept."""
    return datetime.now(UTC).replace(tzinfo=None)


def age(delta: timedelta) -> str:
    """How old a warehouse timestamp is, for people: `45 s`, `12 min`, `3 h`, `2 d`."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
