"""OnTrack (Doubtfire) → DuckDB schema `ontrack_raw`, one table per source table.

Works on PostgreSQL and MariaDB, with the 2024-01, 8.0.x or 10.x schema: tables and columns come
from the source's own catalog, minus what thoth/core/classification.yml calls secret (by list or
by name); which generation it is (generation.py) is recorded for `thoth status`. Each table loads
in its own transaction: one that fails is rolled back and reported, the others still load, and
the extract fails at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import chain
from pathlib import Path

import duckdb
from dlt.common.configuration.specs import ConnectionStringCredentials

from pipelines.ontrack import deletions, generation, settings
from pipelines.ontrack.read_ahead import LARGE_ROWS, ReadAhead
from pipelines.ontrack.source_db import Column, SourceDB
from pipelines.ontrack.table_load import (
    Guard,
    TablePlan,
    TableStart,
    load_table,
    plan_table,
    start_table,
)
from thoth.core import classification, platform
from thoth.core.classification import shown
from thoth.core.duck import limits, open_warehouse, quote, transaction
from thoth.core.errors import ThothError, UsageError, did_you_mean
from thoth.core.platform import load_state, source_schema
from thoth.core.platform.load_state import TableLoad
from thoth.core.platform.source_schema import Generation

# Rows changed (read or deleted) per MB of the loaders' memory limit between two checkpoints:
# 8 k at 256 MB, so what earlier tables' changes carry into the next table's load stays under
# 1/8 of the limit even at 4 KB a row; an hour that changes a few rows pays for no checkpoint.
ROWS_PER_MB = 32


@dataclass
class Catalog:
    """What will be read, and what is held back and why."""
    tables: dict[str, list[Column]]
    secret_tables: list[str] = field(default_factory=list)
    secret_columns: list[str] = field(default_factory=list)  # table.column
    by_name: list[str] = field(default_factory=list)  # of those, caught by the name rule only
    refused: dict[str, str] = field(default_factory=dict)  # table → why it cannot load
    generation: Generation | None = None  # of the whole source, not only `tables`


def _without_secrets(catalog: dict[str, list[Column]]) -> Catalog:
    rules = classification.load()
    out = Catalog({})
    for table, columns in catalog.items():
        if table in settings.INTERNAL_TABLES:
            continue
        why = rules.secret_table(settings.DATASET, table)
        if why:
            out.secret_tables.append(table)
            if not why.startswith("listed"):
                out.by_name.append(f"table {shown(table)}")
            continue
        kept = []
        for column in columns:
            cls = rules.classify(settings.DATASET, table, column.name)
            if cls is not None and cls.name == "secret":
                out.secret_columns.append(f"{shown(table)}.{shown(column.name)}")
                if not cls.why.startswith("listed"):
                    out.by_name.append(f"column {shown(table)}.{shown(column.name)}")
            else:
                kept.append(column)
        out.tables[table] = kept
    _refuse_case_twins(out)
    return out


def _refuse_case_twins(catalog: Catalog) -> None:
    """DuckDB's identifiers ignore case, PostgreSQL's (and MariaDB's table names) do not: two
    names that differ only by case would land on one warehouse table or column."""
    seen: dict[str, str] = {}
    for table in sorted(catalog.tables):
        twin = seen.setdefault(table.lower(), table)
        if twin != table:
            catalog.refused[table] = (f"its name differs from table {shown(twin)} only by case, "
                                      "and the warehouse's names ignore case: rename one")
            continue
        columns: dict[str, str] = {}
        for column in catalog.tables[table]:
            other = columns.setdefault(column.name.lower(), column.name)
            if other != column.name:
                catalog.refused[table] = (
                    f"columns {shown(other)} and {shown(column.name)} differ only by case, and "
                    "the warehouse's names ignore case: rename one")
    for table in catalog.refused:
        del catalog.tables[table]


def _plans(src: SourceDB, only: list[str] | None) -> tuple[list[TablePlan], Catalog]:
    found = src.catalog()
    if not found:
        raise ThothError(f"the OnTrack {src} has no tables: is it the right database?")
    catalog = _without_secrets(found)
    migrations = src.newest_migration() if "schema_migrations" in found else None
    catalog.generation = generation.detect(
        {t: {c.name for c in cols} for t, cols in found.items()},
        generation.version_text(migrations))
    if only:
        for table in only:
            if table in catalog.secret_tables:
                raise ThothError(f"{table} holds secrets and is never extracted")
            if table not in catalog.tables and table not in catalog.refused:
                close = did_you_mean(table, catalog.tables)
                raise UsageError(f"no table {table!r} in the OnTrack {src}: " + (
                    f"did you mean {close}?" if close else
                    f"tables: {', '.join(sorted(catalog.tables))}"))
        catalog.refused = {t: why for t, why in catalog.refused.items() if t in only}
        catalog.tables = {t: catalog.tables[t] for t in only if t in catalog.tables}
    return [plan_table(t, cols) for t, cols in sorted(catalog.tables.items())], catalog


def _log_withheld(catalog: Catalog, log: Callable[[str], None]) -> None:
    if catalog.secret_tables or catalog.secret_columns:
        log(f"ontrack: kept out by design, secrets are never read: "
            f"{len(catalog.secret_tables)} tables, {len(catalog.secret_columns)} columns "
            "(thoth/core/classification.yml)")
    if catalog.by_name:
        log(f"ontrack: withheld because the name marks a credential: {', '.join(catalog.by_name)}"
            "; if one is not a secret, give it a class in thoth/core/classification.yml")


def _drop_stored_secret_tables(con: duckdb.DuckDBPyConnection,
                               log: Callable[[str], None]) -> None:
    """A table the rules call secret now, loaded before they did: it goes, with its state."""
    rules = classification.load()
    for table in platform.tables(con, settings.DATASET):
        why = rules.secret_table(settings.DATASET, table)
        if why:
            with transaction(con):
                con.execute(f"DROP TABLE {settings.DATASET}.{quote(table)}")
                con.execute("DELETE FROM platform.load_state WHERE source = 'ontrack' "
                            "AND table_name = ?", [table])
            log(f"ontrack.{shown(table)}: removed from the warehouse: secret ({why})")


def _start(con: duckdb.DuckDBPyConnection, ahead: ReadAhead, plans: list[TablePlan], *,
           full_refresh: bool, lookback: timedelta) -> dict[str, TableStart | Exception]:
    """What each table's load will do, decided before any loads (a table's load changes no
    other's), in the order they load; every incremental read starts now (read_ahead.py). A
    table whose start failed fails in its turn, as its load would have.

    The order lets the source read the large tables while the warehouse loads the rest: whole
    tables first (they stream, read by nobody ahead), then the small incremental ones, by name,
    then the large ones (`LARGE_ROWS`), whose reads start largest first, as they finish
    (`_load`)."""
    starts: dict[str, TableStart | Exception] = {}
    archived = deletions.archived(con)
    for plan in plans:
        try:
            starts[plan.table] = start_table(con, ahead.src, plan, archived=archived,
                                             full_refresh=full_refresh, lookback=lookback)
        except (duckdb.FatalException, duckdb.IOException):
            raise
        except Exception as exc:  # noqa: BLE001 - raised again in the table's turn
            starts[plan.table] = exc

    def size(start: TableStart | Exception) -> int:
        """The ids the warehouse holds of an incremental table; -1: loaded whole (or failed)."""
        if not isinstance(start, TableStart) or start.where is None:
            return -1
        return start.known.count if start.known else 0

    def order(table: str) -> tuple[int, int, str]:
        rows = size(starts[table])
        if rows < 0:
            return (0, 0, table)
        return (1, 0, table) if rows < LARGE_ROWS else (2, -rows, table)

    ordered = {table: starts[table] for table in sorted(starts, key=order)}
    for start in ordered.values():
        if size(start) >= 0:
            ahead.start(start.plan.table, start.plan.columns, start.where, start.known)
    return ordered


def _load(con: duckdb.DuckDBPyConnection, ahead: ReadAhead,
          starts: dict[str, TableStart | Exception], guard: Guard, failed: dict[str, str],
          log: Callable[[str], None]) -> list[TableLoad]:
    """Each table in its own transaction, in turn (the large ones as their reads finish: the
    order of their lines varies); one that fails is named in `failed`."""
    results = []
    unwritten, checkpoint_rows = 0, limits().load_memory_mb * ROWS_PER_MB
    large = [t for t, s in starts.items() if isinstance(s, TableStart) and s.known
             and s.where is not None and s.known.count >= LARGE_ROWS]
    turns = [t for t in starts if t not in large]
    for table in chain(turns, ahead.as_read(large)):
        start = starts[table]
        try:
            if isinstance(start, Exception):
                raise start
            result = load_table(con, ahead, start, guard=guard)
        except (duckdb.FatalException, duckdb.IOException):
            raise  # the warehouse itself is in trouble, not this table
        except Exception as exc:  # noqa: BLE001 - isolated: rolled back, named, counted
            ahead.src.connect()  # the whole server gone: stop here, with its own one line
            failed[table] = _one_line(ahead.src, exc)
            log(f"ontrack.{shown(table)}: FAILED, rolled back (keeps its last load): "
                f"{failed[table]}")
            continue
        # What a table's change leaves in memory once committed (its new rows, the versions of
        # those it deleted) stays there until a checkpoint writes it: left, it adds up across
        # tables until a later table finds no room (issue #25). A checkpoint costs ~0.1 s even
        # for a small change: taken once the changes since the last one could fill a share of
        # the limit, not after every table.
        unwritten += result.rows_loaded + result.rows_deleted
        if unwritten >= checkpoint_rows:
            con.execute("CHECKPOINT")
            unwritten = 0
        log(f"ontrack.{shown(table)}: {result.mode}, {result.rows_loaded:,} rows read, "
            f"{result.rows_deleted:,} deleted, {result.rows_total:,} in warehouse, "
            f"{result.seconds:.1f} s" + (f"; {result.flags}" if result.flags else ""))
        results.append(result)
    con.execute("CHECKPOINT")
    return results


def _one_line(src: SourceDB, exc: Exception) -> str:
    text = str(exc).split(". Detail: Python exception")[0]  # DuckDB appends a traceback
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else ""
    if not isinstance(exc, ThothError | duckdb.Error):
        line = f"{type(exc).__name__}: {line}"
    return src.scrub(line)


def extract(
    credentials: ConnectionStringCredentials,
    warehouse: Path,
    *,
    guard: Guard,
    full_refresh: bool = False,
    tables: list[str] | None = None,
    lookback_minutes: int = settings.DEFAULT_LOOKBACK_MINUTES,
    schema: str | None = None,
    log: Callable[[str], None] = print,
) -> list[TableLoad]:
    """Load the OnTrack tables (all, or `tables`) into the warehouse; one result per table.
    A table that fails is rolled back (it keeps its last load) and named in one line; the others
    still load; then a ThothError says which failed. A source that stops answering altogether
    ends the extract at once (every table would fail the same way)."""
    src = SourceDB(credentials, schema)
    plans, catalog = _plans(src, tables)  # the source is reachable before the warehouse opens
    generation.log_detected(catalog.generation, log)
    _log_withheld(catalog, log)
    failed = dict(catalog.refused)
    for table, why in catalog.refused.items():
        log(f"ontrack.{shown(table)}: refused, not loaded: {why}")
    # One connection throughout: it holds the file, so no other process slips in between two
    # tables (a read-only `thoth status` would then make the next table's open fail).
    con = open_warehouse(warehouse, streaming=True)
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {settings.DATASET}")
        load_state.ensure(con)
        source_schema.record(con, catalog.generation)
        _drop_stored_secret_tables(con, log)
        ahead = ReadAhead(src, warehouse.with_name(warehouse.name + ".read-ahead"))
        try:
            starts = _start(con, ahead, plans, full_refresh=full_refresh,
                            lookback=timedelta(minutes=lookback_minutes))
            results = _load(con, ahead, starts, guard, failed, log)
        finally:
            ahead.close()
    finally:
        con.close()
    if failed:
        raise ThothError(
            f"{len(failed)} of {len(plans) + len(catalog.refused)} OnTrack tables not loaded "
            f"({', '.join(shown(t) for t in failed)}), each keeps its last load; the other "
            f"{len(results)} loaded. First: {shown(next(iter(failed)))}: "
            f"{next(iter(failed.values()))}")
    return results
