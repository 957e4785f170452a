"""`platform.runs`: the audit log of `thoth run`, one row per run, written as it starts (status
`running`) and again as it ends, so a run killed midway still shows up."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from thoth.core import platform
from thoth.core.duck import open_warehouse
from thoth.core.platform import audit


@dataclass
class StepResult:
    step: str
    status: str  # ok | skipped | failed
    rows: int | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    steps: list[dict]
    failed_step: str | None
    error: str | None


def start(warehouse: Path, run_id: str, started_at: datetime) -> None:
    con = open_warehouse(warehouse)
    try:
        platform.ensure(con, "runs")
        con.execute("INSERT INTO platform.runs (run_id, started_at, status, steps) "
                    "VALUES (?, ?, 'running', '[]')", [run_id, started_at])
    finally:
        con.close()


def finish(warehouse: Path, run_id: str, *, ended_at: datetime, status: str,
           steps: list[StepResult], failed_step: str | None, error: str | None) -> None:
    con = open_warehouse(warehouse)
    try:
        platform.ensure(con, "runs")
        con.execute(
            "UPDATE platform.runs SET ended_at = ?, status = ?, steps = ?, failed_step = ?, "
            "error = ? WHERE run_id = ?",
            [ended_at, status, json.dumps([asdict(s) for s in steps]), failed_step, error,
             run_id],
        )
        # Who ran it; platform.runs says what and when.
        audit.record(con, "run", run_id, {"status": status, "failed_step": failed_step,
                                          "steps": [s.step for s in steps]})
    finally:
        con.close()


def last(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[RunRecord]:
    if not platform.has_table(con, "runs"):
        return []
    rows = con.execute(
        "SELECT run_id, started_at, ended_at, status, CAST(steps AS VARCHAR), failed_step, "
        "error FROM platform.runs ORDER BY started_at DESC LIMIT ?", [limit],
    ).fetchall()
    return [RunRecord(r[0], r[1], r[2], r[3], json.loads(r[4] or "[]"), r[5], r[6])
            for r in rows]
