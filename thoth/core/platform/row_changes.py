"""`platform.row_changes`: which rows each incremental load wrote or removed, per table.

A model declared `incremental` (transforms/incremental.py) applies only those rows when nothing
else it reads has moved. It trusts the log only as far as the log's sums account for the table:
each batch carries what its load added to the table's row count and to its sum of row hashes
(the numbers behind the table's fingerprint), so a change by any writer that does not log
(retention, an erasure, a whole reload, a hand edit) leaves the sums apart, and the model is made
whole again. Nothing is lost by pruning either: a reader that missed a pruned batch finds the
sums apart the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb

from thoth.core import platform
from thoth.core.duck import utc_now

# Batches older than this are pruned: an hourly run reads its batches within the hour, and one
# that comes back after a long gap rebuilds whole (cheaper than reading a week of ids anyway).
KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Sums:
    """A table's (or some of its rows') row count and sum of row hashes."""

    rows: int
    hashes: int

    def __add__(self, other: Sums) -> Sums:
        return Sums(self.rows + other.rows, self.hashes + other.hashes)

    def __sub__(self, other: Sums) -> Sums:
        return Sums(self.rows - other.rows, self.hashes - other.hashes)


def sums(con: duckdb.DuckDBPyConnection, relation: str, ids: str | None = None) -> Sums:
    """`relation`'s rows and sum of `hash(row)`, the whole row as a struct (every column counts);
    with `ids` (a query of ids) only the rows with those ids."""
    where = f" WHERE r.id IN ({ids})" if ids else ""
    rows, total = con.execute(
        f"SELECT count(*), sum(hash(r)) FROM {relation} AS r{where}").fetchone()
    return Sums(rows, int(total or 0))


def record(con: duckdb.DuckDBPyConnection, table: str, relation: str, ids: str,
           before: Sums) -> None:
    """Log one load's change to `table` (schema.table; `relation`: the same, quoted): the ids it
    wrote or removed (`ids`, a query), `before` being those ids' sums before the load. Call
    inside the load's transaction, after every change to those rows (its governance too)."""
    platform.ensure(con, "row_changes")
    delta = sums(con, relation, ids) - before
    now = utc_now()
    con.execute(
        "INSERT INTO platform.row_changes SELECT ?, "
        "(SELECT coalesce(max(seq), 0) + 1 FROM platform.row_changes), "
        f"coalesce((SELECT list(id) FROM ({ids})), []), ?, ?, ?",
        [table, delta.rows, delta.hashes, now])
    con.execute("DELETE FROM platform.row_changes WHERE changed_at < ?", [now - KEEP])


def newest(con: duckdb.DuckDBPyConnection) -> int:
    """The newest batch's place in the log (0: none)."""
    if not platform.has_table(con, "row_changes"):
        return 0
    return con.execute("SELECT coalesce(max(seq), 0) FROM platform.row_changes").fetchone()[0]


def since(con: duckdb.DuckDBPyConnection, table: str, seq: int) -> Sums:
    """What the batches logged for `table` after `seq` add up to."""
    if not platform.has_table(con, "row_changes"):
        return Sums(0, 0)
    rows, total = con.execute(
        "SELECT coalesce(sum(rows_delta), 0), coalesce(sum(hash_delta), 0) "
        "FROM platform.row_changes WHERE table_name = ? AND seq > ?", [table, seq]).fetchone()
    return Sums(int(rows), int(total))


def ids_since(table: str, seq: int) -> str:
    """A query of the ids logged for `table` after `seq`, each once."""
    literal = table.replace("'", "''")
    return (f"SELECT DISTINCT unnest(ids) AS id FROM platform.row_changes "
            f"WHERE table_name = '{literal}' AND seq > {int(seq)}")
