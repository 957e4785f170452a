"""The row-count guard: a KPI table that shrinks between two builds may have lost a load.

It fits only tables whose rows accumulate (`rows: history` in the model's YAML, the default):
weeks, days, units, task definitions do not disappear when the world moves on. A table that
measures the present (`rows: current`, e.g. the feedback backlog: a tutor's row goes when the
tutor has caught up) is not guarded by its row count; its YAML tests what cannot happen instead.

For a history table, a drop beyond `max_row_drop` (share, default 15 %) is an error, except:
- fewer rows than `min_row_drop` (default 3) were lost: a small table's noise; a warning;
- a retention apply (`platform.audit`, action `retention-archive`) deleted raw rows the table is
  built from since the previous build: the drop is explained; a warning naming the archive.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from thoth.core.platform import audit, builds
from transforms.data_tests import ERROR, WARN
from transforms.project import Model, lineage

DEFAULT_MAX_ROW_DROP = 0.15
DEFAULT_MIN_ROW_DROP = 3
HISTORY, CURRENT = "history", "current"


def guarded(model: Model) -> bool:
    return model.materialized == "table" and model.meta.get("rows", HISTORY) == HISTORY


def _retention_since(con: duckdb.DuckDBPyConnection, since: datetime,
                     raw_tables: set[str]) -> list[str]:
    """Retention applies since `since` that deleted rows of `raw_tables`, one phrase each."""
    found = []
    for acted_at, _, _, _, target, details in audit.rows(con, "retention-archive"):
        table, _, archive = target.partition(" → ")
        if acted_at > since and table in raw_tables:
            rows = json.loads(details or "{}").get("rows") or 0
            found.append(f"retention archived {rows:,} rows of {table} "
                         f"({archive}, {acted_at:%Y-%m-%d %H:%M} UTC)")
    return found


def check(con: duckdb.DuckDBPyConnection, model: Model,
          models: dict[str, Model]) -> tuple[int, str, str] | None:
    """(failures, detail, severity) for a guarded table with two builds, else None."""
    if not guarded(model):
        return None
    last_two = builds.last_two_row_counts(con, model.qualified)
    if len(last_two) < 2 or not last_two[1][0]:
        return None
    (now, _), (before, before_at) = last_two
    limit = model.meta.get("max_row_drop", DEFAULT_MAX_ROW_DROP)
    floor = model.meta.get("min_row_drop", DEFAULT_MIN_ROW_DROP)
    dropped = before - now
    if dropped / before <= limit:
        return 0, "", ERROR
    what = f"{before:,} → {now:,} rows ({dropped / before:+.0%} drop, limit {limit:.0%})"
    if dropped < floor:
        return 1, f"{what}; fewer than {floor} rows, below the guard's floor", WARN
    explained = _retention_since(con, before_at, lineage(models, model.qualified))
    if explained:
        return 1, f"{what}; explained by {'; '.join(explained)}", WARN
    return 1, f"{what}: a lost or partial load? no retention explains it", ERROR
