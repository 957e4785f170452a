"""Opening the DuckDB warehouse file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from thoth.core import config
from thoth.core.errors import ThothError


@dataclass(frozen=True)
class Limits:
    """What DuckDB may use: `[warehouse] memory_limit`, `load_memory_limit`, `threads`."""
    memory_mb: int
    load_memory_mb: int
    threads: int


_limits: dict[tuple[str | None, ...], Limits] = {}


def limits() -> Limits:
    """`[warehouse]`'s limits, resolved once per process (again only when their environment
    variables change, as a test's do)."""
    key = tuple(os.environ.get(f"WAREHOUSE__{k}")
                for k in ("MEMORY_LIMIT", "LOAD_MEMORY_LIMIT", "THREADS"))
    if key not in _limits:
        spec = config.resolve(config.WarehouseConfig())
        _limits[key] = Limits(config.memory_megabytes(spec.memory_limit),
                              config.memory_megabytes(spec.load_memory_limit), spec.threads)
    return _limits[key]


def _literal(text: str) -> str:
    return text.replace("'", "''")


def spill_directory(path: Path) -> Path:
    """Where DuckDB spills past its limit: beside the warehouse, on its disk, never /tmp."""
    return path.with_name(path.name + ".tmp")


def open_warehouse(path: Path, read_only: bool = False, *, streaming: bool = False,
                   memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse, its memory bounded (`streaming`: a loader's limit; `memory_limit`
    overrides both), spilling to `spill_directory(path)`. One process holds one DuckDB
    instance per file: the limit covers all of its connections together."""
    if read_only and not path.exists():
        raise ThothError(f"no warehouse at {path}: run `thoth extract ontrack` first")
    bounds = limits()
    memory_limit = memory_limit or f"{bounds.load_memory_mb if streaming else bounds.memory_mb}MiB"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise ThothError(
                f"the warehouse {path} is in use by another process: wait for it to finish"
            ) from None
        raise ThothError(f"cannot open the warehouse {path}: {str(exc).splitlines()[0]}") from None
    # SET, not connect(config=…): a second connection to an instance this process holds must
    # not differ in its config; these apply to the whole instance.
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {bounds.threads}")
    # DuckDB's own default for a file, made explicit; it creates the directory when it first
    # spills and removes it on close. Switching it once used is refused: only when it differs.
    spill = str(spill_directory(path))
    if con.execute("SELECT current_setting('temp_directory')").fetchone()[0] != spill:
        con.execute(f"SET temp_directory = '{_literal(spill)}'")
    # Nothing here relies on the order rows were inserted in; keeping it costs memory.
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
