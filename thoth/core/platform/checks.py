"""`platform.check_results`: the readers of the last `thoth check` (status, docs, publish, run
alerts all ask the same questions of it, through here)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from thoth.core import platform

WARN = "warn"
# A failed test blocks publishing unless it is a warning; rows from before `severity` existed
# count as errors, as they did then.
BLOCKING = "NOT passed AND coalesce(severity, 'error') <> 'warn'"
LAST_RUN = ("(SELECT check_run_id FROM platform.check_results ORDER BY checked_at DESC "
            "LIMIT 1)")


def _blocking(con: duckdb.DuckDBPyConnection) -> str:
    return BLOCKING if platform.has_column(con, "check_results", "severity") else "NOT passed"


def last_check(con: duckdb.DuckDBPyConnection) -> tuple[str, datetime, int, int, int] | None:
    """The most recent `thoth check`: (run id, when, tests, errors, warnings); None if none ran.
    Errors are the failed tests that block publishing; warnings never do."""
    if not platform.has_table(con, "check_results"):
        return None
    blocking = _blocking(con)
    return con.execute(
        f"SELECT check_run_id, max(checked_at), count(*), count(*) FILTER ({blocking}), "
        f"count(*) FILTER (NOT passed AND NOT ({blocking})) "
        f"FROM platform.check_results WHERE check_run_id = {LAST_RUN} GROUP BY check_run_id"
    ).fetchone()


def last_check_passed(con: duckdb.DuckDBPyConnection) -> bool | None:
    """Whether the most recent `thoth check` had no failed error-severity test; None when none
    has run."""
    last = last_check(con)
    return None if last is None else last[3] == 0


def last_results(con: duckdb.DuckDBPyConnection, *, failed_only: bool = False) -> list[tuple]:
    """The tests of the most recent `thoth check`: (model, test, column, failures, passed,
    detail, severity) each, severity 'error' or 'warn'; ordered by model and test."""
    if not platform.has_table(con, "check_results"):
        return []
    severity = ("coalesce(severity, 'error')"
                if platform.has_column(con, "check_results", "severity") else "'error'")
    where = " AND NOT passed" if failed_only else ""
    return con.execute(
        f"SELECT model, test, column_name, failures, passed, detail, {severity} "
        f"FROM platform.check_results "
        f"WHERE check_run_id = {LAST_RUN}{where} ORDER BY model, test, column_name"
    ).fetchall()
