"""generate(): create the OnTrack schema and fill every table with deterministic synthetic data.

Phases, each with its own seeded random stream: lookups; units, staff and task definitions;
users, enrolments and logins; then tasks and everything hanging off them, a fixed number of
projects at a time so memory stays flat at any scale. Ids are explicit (1..n), so every
relation is known before a row is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thoth.demo.ontrack.academic import build_academic, sizes_for
from thoth.demo.ontrack.comments import write_comments
from thoth.demo.ontrack.db import (
    connect,
    execute_all,
    parse_url,
    quote,
    to_arrow,
    write_mysql,
    write_pg,
)
from thoth.demo.ontrack.ddl import drop_sql, index_sql, schema_sql
from thoth.demo.ontrack.extras import automated, pins_and_similarities, tii_actions
from thoth.demo.ontrack.fake import NOW, reorder, stream
from thoth.demo.ontrack.people import build_people
from thoth.demo.ontrack.reference import write_reference
from thoth.demo.ontrack.tables import BY_NAME, tables_for
from thoth.demo.ontrack.tasks import make_tasks, task_stats, write_tasks
from thoth.demo.ontrack.upgrade10 import Upgrade10

# Projects per chunk. Fixed (not derived from memory or scale) because the random streams are
# per chunk: changing it changes the data. ~270k tasks, well under 1 GB at a time.
CHUNK_PROJECTS = 8_000


REFERENCE_NOW = NOW.astype(datetime).replace(tzinfo=UTC)  # where the generated world ends


def _shift(data: pa.Table, offset: timedelta) -> pa.Table:
    """Every datetime and date column moved by `offset` (whole days)."""
    if not offset:
        return data
    moved = pa.scalar(offset, pa.duration("us"))
    whole_days = pa.scalar(round(offset / timedelta(days=1)), pa.int32())
    for i, field in enumerate(data.schema):
        column = data.column(i)
        if pa.types.is_timestamp(field.type):
            column = pc.add(column, moved)
        elif pa.types.is_date32(field.type):
            column = pc.add(column.cast(pa.int32()), whole_days).cast(pa.date32())
        else:
            continue
        data = data.set_column(i, field, column)
    return data


class _Writer:
    """emit(table, columns): converts, moves in time, bulk-writes and counts; skips tables the
    variant lacks. For 10.x the rows pass through Upgrade10 first (upgrade10.py)."""

    def __init__(self, conn: Any, engine: str, variant: str, seed: int,
                 offset: timedelta = timedelta(0)) -> None:
        self.conn, self.engine, self.variant, self.offset = conn, engine, variant, offset
        self.counts = {t.name: 0 for t in tables_for(variant)}
        self.upgrade = Upgrade10(self.write, self.next_id, seed) if variant == "10.x" else None

    def __call__(self, table: str, columns: dict) -> None:
        if table not in self.counts:
            return
        self.write(table, self.upgrade(table, columns) if self.upgrade else columns)

    def write(self, table: str, columns: dict) -> None:
        data = _shift(to_arrow(BY_NAME[table], self.variant, self.engine, columns), self.offset)
        if data.num_rows:
            (write_pg if self.engine == "postgresql" else write_mysql)(self.conn, table, data)
        self.counts[table] += data.num_rows

    def next_id(self, table: str) -> int:
        return self.counts.get(table, 0) + 1


def _fill(emit: _Writer, scale: float, seed: int, variant: str) -> None:
    sizes = sizes_for(scale)
    # Trimester labels follow the move: a year on, 2025 T2 is 2026 T2.
    year_shift = round(emit.offset / timedelta(days=365.25))
    write_reference(emit, year_shift)
    ac = build_academic(emit, sizes, stream(seed, 1), variant, year_shift)
    pe = build_people(emit, sizes, ac, stream(seed, 2), len(ac.td_grade))
    tii: list = []
    n_projects = len(pe.proj_unit)
    for chunk, lo in enumerate(range(0, n_projects, CHUNK_PROJECTS)):
        hi = min(lo + CHUNK_PROJECTS, n_projects)
        rng = stream(seed, 3, chunk)
        t = make_tasks(rng, ac, pe, lo, hi, emit.next_id("tasks"))
        # A project's updated_at moves with its tasks (task_stats is recomputed on each change).
        updated = pe.projects["updated_at"][lo:hi].copy()
        np.maximum.at(updated, t.project - lo, t.updated)
        emit("projects", {**reorder(pe.projects, np.arange(lo, hi)), "updated_at": updated,
                          "task_stats": task_stats(t, hi - lo, lo)})
        write_tasks(emit, rng, ac, pe, t, emit.next_id("task_submissions"),
                    emit.next_id("task_engagements"))
        auto = automated(emit, rng, ac, pe, t, emit.next_id("overseer_assessments"),
                         emit.next_id("test_attempts"))
        write_comments(emit, rng, ac, t, auto, emit.counts)
        tii += pins_and_similarities(emit, rng, ac, pe, t, emit.counts, chunk == 0)
    tii_actions(emit, stream(seed, 4), tii)


def generate(url: str, scale: float = 0.001, seed: int = 42, variant: str = "8.0",
             now: datetime | None = None) -> dict[str, int]:
    """create_schema, then fill every table; returns rows written per table.

    `now` (timezone-aware) is when the data ends: every time the generator writes is moved by
    the whole days from REFERENCE_NOW to `now`, so the last activity is within a day before
    `now` and the running trimester is the one around it. None keeps the reference instant.
    The caller reads the clock, never the generator: the same seed and `now` always give the
    same rows.
    """
    tables_for(variant)  # validates the variant
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if now is not None and now.utcoffset() is None:
        raise ValueError(f"now must carry a time zone, got {now!r}")
    # Whole days: OnTrack judges deadlines by calendar day, so moving by hours would move
    # submissions across deadlines; the data ends at the last 09:00 UTC up to `now`.
    offset = timedelta(0) if now is None else timedelta(days=(now - REFERENCE_NOW).days)
    target = parse_url(url)
    engine = target.engine
    conn = connect(target)
    try:
        # Unique indexes come after the load: faster, and they double-check the generator.
        execute_all(conn, drop_sql(engine) + schema_sql(engine, variant, indexes=False))
        emit = _Writer(conn, engine, variant, seed, offset)
        _fill(emit, scale, seed, variant)
        execute_all(conn, [s for t in tables_for(variant)
                           for s in index_sql(engine, t, variant)])
        if engine == "postgresql":  # explicit ids don't advance the identity sequences
            execute_all(conn, [
                f"SELECT setval(pg_get_serial_sequence('{quote(engine, t.name)}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {quote(engine, t.name)}), false)"
                for t in tables_for(variant)
            ])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return dict(emit.counts)
