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

from datetime import datetime

import duckdb

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
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'platform' "
                       "AND table_name = 'audit'").fetchall():
        return []
    found = []
    for acted_at, target, rows in con.execute(
            "SELECT acted_at, target, CAST(json_extract(details, '$.rows') AS BIGINT) "
            "FROM platform.audit WHERE action = 'retention-archive' AND acted_at > ? "
            "ORDER BY acted_at", [since]).fetchall():
        table, _, archive = target.partition(" → ")
        if table in raw_tables:
            found.append(f"retention archived {rows or 0:,} rows of {table} "
                         f"({archive}, {acted_at:%Y-%m-%d %H:%M} UTC)")
    return found


def check(con: duckdb.DuckDBPyConnection, model: Model,
          models: dict[str, Model]) -> tuple[int, str, str] | None:
    """(failures, detail, severity) for a guarded table with two builds, else None."""
    if not guarded(model):
        return None
    builds = con.execute(
        "SELECT rows, built_at FROM platform.model_builds WHERE model = ? AND rows IS NOT NULL "
        "ORDER BY built_at DESC LIMIT 2", [model.qualified],
    ).fetchall()
    if len(builds) < 2 or not builds[1][0]:
        return None
    (now, _), (before, before_at) = builds
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
