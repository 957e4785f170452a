"""Rows the source deleted: found exactly, and without reading every id in the hours that
deleted nothing (most of them).

A hard delete (Rails `destroy`) shows in no cursor, so the ids the source still has are compared
with the warehouse's. Reading them all (`_scan`) costs seconds for a 12 M-row table (issue #25).
So the source is first asked one aggregate row: the count and the sum of its ids up to `bound`,
the largest id the warehouse knows after this load's upsert (in the table, or archived). The
warehouse's side is the same over its ids together with those retention holds out of the table
though the source still has them (`platform.archived_ids`). Equal: nothing was deleted, the scan
is skipped. Otherwise the scan runs as it always did, deletes what the source no longer has, and
forgets archived ids the source no longer has either, so later loads match again.

Exactness. Let S be the source's ids ≤ bound when the aggregate is read and T the warehouse's ids
≤ bound with the archived ones. Every id in S was read by this load or an earlier one (ids above
the last bound, rows inside the look-back: the loader's premise that a transaction commits within
it) and is in T — except rows committed after this load read the changed rows (C), and rows held
out unlisted (E: an erased person's, below). The deleted
ids are D = T − S. So count(S) = count(T) − |D| + |C| + |E|, and the same for the sums.

- With E empty, equal counts and sums while D is not empty need rows C committed between the two
  reads, with ids at most ones already read (a transaction that took its sequence value earlier),
  as many as D and summing to the same. They are new, so the next load re-reads them (inside the
  look-back) and holds them: C is empty then, and D is found one load later. Nothing is dropped
  silently; the warehouse equals the source.
- E is not listed anywhere: the erasure ledger keeps keyed hashes, and a list of the ids of a
  person's rows would name them again (a `users` row's id is the person's id). Rows the source
  still has for them would let a deletion of as many rows with the same sum pass. So while anyone
  is erased, a table skips the scan only once a scan found E empty (every source id ≤ bound in
  T), listed in `platform.id_checks` at the ledger's size: a new erasure grows the ledger, and a
  load whose guard removes rows unlists the table (`forget`). A table that lost rows to an
  erasure is scanned every load, as before, until the source deletes those rows too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.ontrack import settings
from pipelines.ontrack.source_db import Column, Reads, as_ids
from thoth.core import platform
from thoth.core.duck import quote as _q
from thoth.core.duck import utc_now
from thoth.core.platform import row_changes

# Deleted ids are found with a bitmap while the ids span at most this many per id (see `_scan`).
BITMAP_SPREAD = 16

# The id scans run in this process, per table: what the tests read to see a scan skipped.
SCANS: Counter[str] = Counter()


def archived(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The tables (`schema.table`) retention holds ids out of, though the source may still have
    them: asked once per extract (a filter on a name scans every archived id)."""
    if not platform.has_table(con, "archived_ids"):
        return frozenset()
    return frozenset(name for (name,) in con.execute(
        "SELECT DISTINCT table_name FROM platform.archived_ids").fetchall())


def _held(name: str, archived: bool) -> tuple[str, list]:
    """The query of the ids retention holds out of `name`, and its parameters."""
    if archived:
        return "SELECT id FROM platform.archived_ids WHERE table_name = ?", [name]
    return "SELECT NULL::BIGINT AS id WHERE false", []


@dataclass(frozen=True)
class Known:
    """What the warehouse holds of a table's ids before its load: enough for a read ahead of
    the load (read_ahead.py) to tell, once it has the changed rows and the source's count and
    sum, whether the ids must be scanned, and to scan them itself."""
    bound: int | None  # the largest id, in the table or archived
    certified: bool  # whether a count and sum may rule deletions out (`_certified`)
    totals: tuple[int, int]  # the count and sum of those ids (`_totals`)
    low: int | None  # the smallest
    count: int  # ids in the table plus archived ids (`_span`'s count)


def known(con: duckdb.DuckDBPyConnection, table: str, archived: bool) -> Known:
    """`table`'s ids in the warehouse now; `archived`: whether retention holds ids of it."""
    name = f"{settings.DATASET}.{table}"
    target = f"{settings.DATASET}.{_q(table)}"
    held_sql, held_args = _held(name, archived)
    low, count, bound = _span(con, target, held_sql, held_args)
    certified = _certified(con, name, _ledger_size(con))
    return Known(bound, certified, _totals(con, target, held_sql, held_args), low, count)


def _span(con: duckdb.DuckDBPyConnection, target: str, held_sql: str,
          held_args: list) -> tuple[int | None, int, int | None]:
    """The smallest id, how many, and the largest, of the table's ids and the archived ones."""
    low, count, high = con.execute(
        f"SELECT min(id), count(id), max(id) FROM (SELECT id FROM {target} UNION ALL {held_sql})",
        held_args).fetchall()[0]
    return low, int(count), high


def dense(low: int, bound: int, count: int) -> bool:
    """Whether the ids are marked in a bitmap over [low, bound], else sorted (`_scan`)."""
    return bound - low + 1 <= BITMAP_SPREAD * count


@dataclass(frozen=True)
class SourceIds:
    """The source's ids as a scan read them: over [low, bound] a flag per id (dense), else its
    ids up to bound, sorted; `below`: how many under low (dense only)."""
    low: int
    bound: int
    dense: bool
    present: np.ndarray
    below: int


def read_source_ids(src: Reads, table: str, id_column: Column, low: int, bound: int,
                    is_dense: bool) -> SourceIds:
    """Every id of the source's table, as `_scan` compares them with the warehouse's."""
    below = 0
    with src.ids(table, id_column) as batches:
        if is_dense:
            present = np.zeros(bound - low + 1, dtype=bool)
            for ids in batches:
                below += int(np.count_nonzero(ids < low))
                present[ids[(ids >= low) & (ids <= bound)] - low] = True
        else:
            present = np.sort(np.concatenate([np.empty(0, np.int64), *batches]))
            present = present[present <= bound]
    return SourceIds(low, bound, is_dense, present, below)


def delete_missing(con: duckdb.DuckDBPyConnection, src: Reads, table: str, id_column: Column,
                   archived: bool,
                   scanned: SourceIds | None = None) -> tuple[int, row_changes.Sums]:
    """Remove the rows of `table` (just upserted) whose id the source no longer has; returns how
    many, and their sums as they were (for the log of changed rows), their ids left registered
    as `_missing`. `archived`: whether retention holds ids of it (`archived`); `scanned`: the
    source's ids as a read ahead scanned them, after the changed rows (used when its range is
    the one needed now). Inside the load's transaction, before the guard."""
    name = f"{settings.DATASET}.{table}"
    target = f"{settings.DATASET}.{_q(table)}"
    held_sql, held_args = _held(name, archived)
    low, count, bound = _span(con, target, held_sql, held_args)
    nothing = (0, row_changes.Sums(0, 0))
    con.register("_missing", pa.table({"id": pa.array([], pa.int64())}))
    if bound is None:
        return nothing
    erasures = _ledger_size(con)
    if _certified(con, name, erasures) and src.id_totals(table, bound) == _totals(
            con, target, held_sql, held_args):
        return nothing
    SCANS[table] += 1
    is_dense = dense(low, bound, count)
    if scanned is None or (scanned.low, scanned.bound, scanned.dense) != (low, bound, is_dense):
        scanned = read_source_ids(src, table, id_column, low, bound, is_dense)
    missing, unlisted = _scan(con, scanned, held_sql, held_args, target)
    deleted, removed = nothing
    if len(missing):
        con.register("_missing", pa.table({"id": missing}))
        removed = row_changes.sums(con, target, "SELECT id FROM _missing")
        (deleted,) = con.execute(
            f"DELETE FROM {target} WHERE id IN (SELECT id FROM _missing)").fetchall()[0]
    if unlisted:
        forget(con, table)
    elif erasures:
        platform.ensure(con, "id_checks")
        con.execute("INSERT OR REPLACE INTO platform.id_checks VALUES (?, ?, ?)",
                    [name, erasures, utc_now()])
    return deleted, removed


def forget(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The guard removed rows of `table`: they may be held out unlisted (an erased person's), so
    its next load scans the ids again before it trusts counts and sums."""
    if platform.has_table(con, "id_checks"):
        con.execute("DELETE FROM platform.id_checks WHERE table_name = ?",
                    [f"{settings.DATASET}.{table}"])


def _ledger_size(con: duckdb.DuckDBPyConnection) -> int:
    if not platform.has_table(con, "erasures"):
        return 0
    return con.execute("SELECT count(*) FROM platform.erasures").fetchall()[0][0]


def _certified(con: duckdb.DuckDBPyConnection, name: str, erasures: int) -> bool:
    """Whether counts and sums are enough for `name`: nobody is erased, or the last scan found
    nothing held out unlisted while the ledger had the rows it has now."""
    if not erasures:
        return True
    if not platform.has_table(con, "id_checks"):
        return False
    return bool(con.execute("SELECT 1 FROM platform.id_checks WHERE table_name = ? AND "
                            "erasures = ?", [name, erasures]).fetchall())


def _totals(con: duckdb.DuckDBPyConnection, target: str, held_sql: str,
            held_args: list) -> tuple[int, int]:
    """Count and sum of the table's ids with the archived ones (an id in both counts once, e.g. a
    restored row)."""
    count, total = con.execute(
        f"SELECT count(id), coalesce(sum(id), 0) FROM {target}").fetchall()[0]
    if held_args:
        # All archived ids, less those in the table too: a semi-join, 0.05 s for 3 M archived
        # ids where NOT EXISTS took 0.9 s.
        more, extra = con.execute(
            f"SELECT count(*), coalesce(sum(id), 0) FROM ({held_sql})", held_args).fetchall()[0]
        both, twice = con.execute(
            f"SELECT count(*), coalesce(sum(id), 0) FROM ({held_sql}) "
            f"WHERE id IN (SELECT id FROM {target})", held_args).fetchall()[0]
        count, total = count + more - both, total + extra - twice
    return int(count), int(total)


def _scan(con: duckdb.DuckDBPyConnection, scanned: SourceIds, held_sql: str, held_args: list,
          target: str) -> tuple[np.ndarray, bool]:
    """Compare the source's ids (`scanned`, read after the changed rows: a row inserted in
    between is kept, never deleted) with the warehouse's; forget the archived ids the source no
    longer has. Returns (the table's ids the source no longer has, whether the source has ids ≤
    bound the warehouse holds neither in the table nor archived).

    The source's ids are marked in a bitmap over the warehouse's id range, a byte per id (5 MB
    for 5 M tasks, where DuckDB's hash anti-join held ~250 MB and was the peak of an hourly
    load, issue #25); ids spread wider than that are sorted and searched, 8 bytes each."""
    low, dense, present, source = scanned.low, scanned.dense, scanned.present, scanned.present
    held = np.zeros_like(present, dtype=bool)

    def absent(relation: str, args: list) -> np.ndarray:
        """Ids of `relation` the source lacks; marks those it has as held."""
        gone = [np.empty(0, np.int64)]
        for batch in con.sql(f"SELECT id FROM ({relation}) WHERE id IS NOT NULL",
                             params=args).to_arrow_reader():
            ids = as_ids(batch.column(0))
            if dense:
                hit = present[ids - low]
                held[ids[hit] - low] = True
            elif len(source):
                at = np.minimum(np.searchsorted(source, ids), len(source) - 1)
                hit = source[at] == ids
                held[at[hit]] = True
            else:
                hit = np.zeros(len(ids), dtype=bool)
            gone.append(ids[~hit])
        return np.concatenate(gone)

    missing = absent(f"SELECT id FROM {target}", [])
    pruned = absent(held_sql, held_args) if held_args else np.empty(0, np.int64)
    # Only ids the source has are marked held: the rest of the source's are held nowhere.
    unlisted = scanned.below + int((np.count_nonzero(present) if dense else len(held))
                                   - np.count_nonzero(held))
    if len(pruned):
        con.register("_pruned", pa.table({"id": pruned}))
        con.execute("DELETE FROM platform.archived_ids WHERE table_name = ? AND id IN "
                    "(SELECT id FROM _pruned)", held_args)
        con.unregister("_pruned")
    return missing, unlisted > 0
