"""Loading one OnTrack table into DuckDB, all in one transaction.

Full: replace the table with a fresh copy. Incremental: re-read rows changed since the last cursor
(minus the look-back), new ids, NULL-cursor rows and rows still settling; replace them by id; then
delete rows whose id the source no longer has (hard deletes: the raw table mirrors the source;
deletions.py reads every id only when a count and sum of them say rows may be gone). A table that
gained a source column is re-read whole instead: a Rails migration that adds a column and
back-fills it leaves `updated_at` alone, so no cursor sees those values. A column the source
dropped stays (its old values kept, NULL for new rows) until `--full-refresh`. The table's
`platform.load_state` row is written in the same transaction, so a run killed at any point leaves
the table and its state as the last completed load left them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from pipelines.ontrack import deletions, settings
from pipelines.ontrack.read_ahead import ReadAhead
from pipelines.ontrack.source_db import Column, Reads, SourceDB
from thoth.core import classification, config, platform
from thoth.core.classification import shown
from thoth.core.duck import quote as _q
from thoth.core.duck import transaction, utc_now
from thoth.core.platform import load_state, row_changes
from thoth.core.platform.load_state import TableLoad

SOURCE = "ontrack"
# DuckDB's memory while a whole table streams in (MB): a few row groups in flight is all it
# needs; the rest of the load's limit would only cache the new table's written blocks, for
# nobody (~130 MB of a 5 M-row table's peak RSS, issue #25).
STREAM_MEMORY_MB = 64


@dataclass(frozen=True)
class TablePlan:
    table: str
    columns: list[Column]
    cursor: str | None  # None: reloaded whole every run

    @property
    def cursor_nullable(self) -> bool:
        return any(c.name == self.cursor and c.nullable for c in self.columns)


def plan_table(table: str, columns: list[Column]) -> TablePlan:
    names = {c.name for c in columns}
    cursor = None
    if "id" in names:
        if "updated_at" in names:
            cursor = "updated_at"
        elif table in settings.CREATED_AT_CURSOR and "created_at" in names:
            cursor = "created_at"
    return TablePlan(table, columns, cursor)



def _target(table: str) -> str:
    return f"{settings.DATASET}.{_q(table)}"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """The warehouse table's columns and their types, in order; empty when it does not exist."""
    return dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [settings.DATASET, table],
    ).fetchall())


def _is_secret(table: str, column: str) -> bool:
    cls = classification.load().classify(settings.DATASET, table, column)
    return cls is not None and cls.name == "secret"


def _names(names: list[str]) -> str:
    return ", ".join(shown(n) for n in names)


# DuckDB's spelling of the types `source_db` names, for comparing with what a reader delivers.
_DUCK_SPELLING = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def _casts(con: duckdb.DuckDBPyConnection, plan: TablePlan) -> str:
    """One warehouse type per column whichever engine it came from (tinyint(1) → BOOLEAN,
    PostgreSQL's DECIMAL or TIME as text, …); columns that already arrive as that type pass
    untouched (casting them costs ~7 %)."""
    described = con.execute("DESCRIBE SELECT * FROM _source_rows").fetchall()
    arriving = {name: dtype for name, dtype, *_ in described}

    def cast(c: Column) -> str:
        if arriving.get(c.name) == _DUCK_SPELLING.get(c.type, c.type):
            return _q(c.name)
        if c.type == "BLOB" and arriving.get(c.name) == "VARCHAR":  # PostgreSQL's bytea, as hex
            return f"unhex({_q(c.name)}) AS {_q(c.name)}"
        return f"CAST({_q(c.name)} AS {c.type}) AS {_q(c.name)}"

    return ", ".join(cast(c) for c in plan.columns)


def _literal(value: object) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat(sep=' ')}'"
    return str(int(value))


def _incremental_filter(con: duckdb.DuckDBPyConnection, src: SourceDB, plan: TablePlan,
                        lookback: timedelta) -> str | None:
    """The source-side WHERE for the rows to re-read; None when a full load is needed."""
    target = _target(plan.table)
    last_cursor, max_id = con.execute(
        f"SELECT max({_q(plan.cursor)}), max(id) FROM {target}"
    ).fetchall()[0]
    if max_id is None:
        last_cursor, max_id = _emptied(con, plan)
        if max_id is None:
            return None
    cursor = src.quote(plan.cursor)
    terms = [f"{src.quote('id')} > {max_id}"]
    if last_cursor is not None:
        terms.append(f"{cursor} >= {_literal(last_cursor - lookback)}")
    if plan.cursor_nullable:
        terms.append(f"{cursor} IS NULL")  # old rows without timestamps must not be lost
    if plan.table in settings.REREAD_UNTIL_SETTLED:
        which, settled = settings.REREAD_UNTIL_SETTLED[plan.table]
        names = {c.name for c in plan.columns}
        if {"type", "date_extension_assessed"} <= names:
            (first_pending,) = con.execute(
                f"SELECT min(id) FROM {target} WHERE {which} AND NOT ({settled})"
            ).fetchall()[0]
            if first_pending is not None:
                terms.append(f"({src.quote('id')} >= {first_pending} AND {which})")
    return " WHERE " + " OR ".join(terms)


def _emptied(con: duckdb.DuckDBPyConnection, plan: TablePlan) -> tuple[object, int | None]:
    """Where the last load of a table the guard left empty got to (retention archived every
    row, e.g. logins older than 90 days): the largest archived id and the newest cursor that
    load read. Without them every load would read the whole table again, only for the guard to
    drop it; (None, None) when unknown (a full load then)."""
    name = f"{settings.DATASET}.{plan.table}"
    if not (platform.has_table(con, "archived_ids") and platform.has_table(con, "load_state")):
        return None, None
    (max_id,) = con.execute("SELECT max(id) FROM platform.archived_ids WHERE table_name = ?",
                            [name]).fetchall()[0]
    seen = _recorded_cursor(con, plan)
    if max_id is None or seen is None:
        return None, None
    dtype = _columns(con, plan.table)[plan.cursor]
    (cursor,) = con.execute(f"SELECT CAST(? AS {dtype})", [seen]).fetchall()[0]
    return cursor, max_id


def _recorded_cursor(con: duckdb.DuckDBPyConnection, plan: TablePlan) -> str | None:
    """The newest cursor value the table's last load read, as `platform.load_state` has it."""
    seen = con.execute("SELECT cursor_value FROM platform.load_state WHERE source = ? AND "
                       "table_name = ? AND cursor_column = ?",
                       [SOURCE, plan.table, plan.cursor]).fetchall()
    return seen[0][0] if seen else None


def _evolve(con: duckdb.DuckDBPyConnection, table: str, plan: TablePlan) -> None:
    """New source columns appear; changed (e.g. widened) types follow the source."""
    have = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ?",
        [settings.DATASET, table],
    ).fetchall())
    stage = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = 'temp' AND table_name = '_stage'"
    ).fetchall())
    for name, dtype in stage.items():
        if name not in have:
            con.execute(f"ALTER TABLE {_target(table)} ADD COLUMN {_q(name)} {dtype}")
        elif have[name] != dtype:
            con.execute(f"ALTER TABLE {_target(table)} ALTER {_q(name)} SET DATA TYPE {dtype}")


# Governance applied to each table just written, inside its load's transaction: (connection,
# schema, table, relation of the ids just loaded or None for the whole table) -> a note for
# `platform.load_state.flags`, or None. The app passes thoth.core.load_guard.guard(key); the
# pipeline knows nothing of governance itself.
Guard = Callable[[duckdb.DuckDBPyConnection, str, str, str | None], str | None]


@dataclass(frozen=True)
class TableStart:
    """What a table's load decided from the warehouse before reading the source: the read can
    start at once (read_ahead.py), the load in its turn."""
    plan: TablePlan
    where: str | None  # the source-side WHERE of an incremental read; None: a full load
    notes: list[str]
    secret: list[str]  # columns now secret, removed from the warehouse
    dropped: dict[str, str]  # columns the source dropped, kept: name -> type
    archived: bool  # whether retention holds ids of it out of the table (deletions.py)
    known: deletions.Known | None  # an incremental load's: the warehouse's ids before it


def start_table(con: duckdb.DuckDBPyConnection, src: SourceDB, plan: TablePlan, *,
                full_refresh: bool, lookback: timedelta, archived: frozenset[str]) -> TableStart:
    """`archived`: the tables retention holds ids of (deletions.archived)."""
    have = {} if full_refresh else _columns(con, plan.table)
    names = [c.name for c in plan.columns]
    gained = [n for n in names if have and n not in have]
    dropped = {n: t for n, t in have.items() if n not in names}
    # Held back as secret now (a rule newer than the load that stored them): removed, not kept.
    secret = [n for n in dropped if _is_secret(plan.table, n)]
    dropped = {n: t for n, t in dropped.items() if n not in secret}
    notes = [f"secret column {_names(secret)} removed from the warehouse"] if secret else []
    where = None
    if plan.cursor and have:
        if gained:  # their back-filled values carry no newer cursor: read every row again
            notes.append(f"re-read whole: new source column {_names(gained)}")
        else:
            where = _incremental_filter(con, src, plan, lookback)
    elif gained:
        notes.append(f"new source column {_names(gained)}")
    if dropped:
        notes.append(f"dropped in the source: {_names(list(dropped))} (kept, NULL for new rows)")
    held = f"{settings.DATASET}.{plan.table}" in archived
    known = None if where is None else deletions.known(con, plan.table, held)
    return TableStart(plan, where, notes, secret, dropped, held, known)


def load_table(con: duckdb.DuckDBPyConnection, src: Reads, start: TableStart, *,
               guard: Guard) -> TableLoad:
    """Load one table as `start` decided, in one transaction; `src` reads the source (or a
    ReadAhead, which has its changed rows read already)."""
    started = time.perf_counter()
    plan, where, notes, secret, dropped = (start.plan, start.where, list(start.notes),
                                           start.secret, start.dropped)
    target = _target(plan.table)
    mode = "full" if where is None else "incremental"
    deleted = 0
    # A whole table streams in: outside the transaction, so the limit comes back after
    # a rollback too (an aborted transaction refuses SET).
    with _streaming_memory(con) if where is None else nullcontext(), transaction(con):
        if where is None and dropped:
            _keep_dropped(con, plan, dropped)
        with src.rows(plan.table, plan.columns, where or "") as reader:
            con.register("_source_rows", reader)
            if where is None:
                con.execute(f"CREATE OR REPLACE TABLE {target} AS "
                            f"SELECT {_casts(con, plan)} FROM _source_rows")
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS "
                            f"SELECT {_casts(con, plan)} FROM _source_rows")
            con.unregister("_source_rows")
        if where is None:
            if dropped:
                _restore_dropped(con, plan, dropped)
            (loaded,) = con.execute(f"SELECT count(*) FROM {target}").fetchall()[0]
        else:
            (loaded,) = con.execute("SELECT count(*) FROM _stage").fetchall()[0]
            if dropped:
                _carry_dropped(con, plan, dropped)
            for name in secret:
                con.execute(f"ALTER TABLE {target} DROP COLUMN {_q(name)}")
            _evolve(con, plan.table, plan)
            # The rows this load rewrites, as they were: for the log of changed rows.
            before = row_changes.sums(con, target, "SELECT id FROM _stage")
            con.execute(f"DELETE FROM {target} WHERE id IN (SELECT id FROM _stage)")
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _stage")
            deleted, removed = deletions.delete_missing(
                con, src, plan.table, next(c for c in plan.columns if c.name == "id"),
                start.archived, src.scanned(plan.table) if isinstance(src, ReadAhead) else None)
        # Retention cut-off and erased people, in this transaction.
        # The newest cursor read, before the guard may drop its row (an emptied table's load
        # starts from it, `_emptied`).
        newest = con.execute(f"SELECT max({_q(plan.cursor)})::VARCHAR FROM {target}"
                             ).fetchall()[0][0] if plan.cursor else None
        if newest is None and where is not None:
            newest = _recorded_cursor(con, plan)
        governed = guard(con, settings.DATASET, plan.table, None if where is None else "_stage")
        if governed:  # rows held out now, maybe unlisted (erased): ids scanned next load
            deletions.forget(con, plan.table)
        if where is not None:
            # Logged after the guard, so the log's sums hold what the table now holds.
            row_changes.record(con, f"{settings.DATASET}.{plan.table}", target,
                               "SELECT id FROM _stage UNION ALL SELECT id FROM _missing",
                               before + removed)
            con.unregister("_missing")
            con.execute("DROP TABLE _stage")
        (total,) = con.execute(f"SELECT count(*) FROM {target}").fetchall()[0]
        load = TableLoad(
            SOURCE, plan.table, mode, plan.cursor, newest, loaded, deleted, total,
            round(time.perf_counter() - started, 3), utc_now(),
            "; ".join([*notes, *([governed] if governed else [])]) or None,
        )
        load_state.record(con, load)
    return load


@contextmanager
def _streaming_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's limit lowered to STREAM_MEMORY_MB (never raised) for one table's full load."""
    (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    if (config.memory_megabytes(limit.replace(" ", "")) or 0) <= STREAM_MEMORY_MB:
        yield
        return
    con.execute(f"SET memory_limit = '{STREAM_MEMORY_MB}MiB'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{limit}'")


def _keep_dropped(con: duckdb.DuckDBPyConnection, plan: TablePlan,
                  dropped: dict[str, str]) -> None:
    """Before a whole reload replaces the table: set aside the values of the columns the
    source no longer has, by id, so the old rows keep them."""
    if "id" in dropped or not any(c.name == "id" for c in plan.columns):
        return
    cols = ", ".join(_q(n) for n in dropped)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _kept AS SELECT id, {cols} "
                f"FROM {_target(plan.table)}")


def _carry_dropped(con: duckdb.DuckDBPyConnection, plan: TablePlan,
                   dropped: dict[str, str]) -> None:
    """Rows re-read (changed, or inside the look-back) keep their values of the columns the
    source dropped; only rows new since the drop have none."""
    for name, dtype in dropped.items():
        con.execute(f"ALTER TABLE _stage ADD COLUMN {_q(name)} {dtype}")
    sets = ", ".join(f"{_q(n)} = t.{_q(n)}" for n in dropped)
    con.execute(f"UPDATE _stage s SET {sets} FROM {_target(plan.table)} t WHERE s.id = t.id")


def _restore_dropped(con: duckdb.DuckDBPyConnection, plan: TablePlan,
                     dropped: dict[str, str]) -> None:
    target = _target(plan.table)
    for name, dtype in dropped.items():
        con.execute(f"ALTER TABLE {target} ADD COLUMN {_q(name)} {dtype}")
    if platform.has_table(con, "_kept", temp=True):
        sets = ", ".join(f"{_q(n)} = k.{_q(n)}" for n in dropped)
        con.execute(f"UPDATE {target} t SET {sets} FROM _kept k WHERE t.id = k.id")
        con.execute("DROP TABLE _kept")
