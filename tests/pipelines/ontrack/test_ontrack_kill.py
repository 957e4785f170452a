"""A run killed with SIGKILL mid-load, then run again, ends exactly where a clean run ends."""

from __future__ import annotations

import signal

import duckdb
import pytest
from ontrack_helpers import assert_mirrors_source, execute, thoth_process

from thoth.demo.ontrack import generate


def _snapshot(warehouse) -> dict:
    """Every raw table's rows, and what load_state says of each table (timings aside)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'ontrack_raw'"
        ).fetchall()]
        snap = {t: sorted(con.execute(f'SELECT * FROM ontrack_raw."{t}"').fetchall(), key=str)
                for t in tables}
        snap["_state"] = con.execute(
            "SELECT table_name, cursor_column, cursor_value, rows_total "
            "FROM platform.load_state ORDER BY 1").fetchall()
    return snap


def _run(url, warehouse, *args) -> None:
    proc = thoth_process(url, warehouse, "extract", "ontrack", *args)
    assert proc.wait(timeout=300) == 0


def _kill_after(url, warehouse, lines: int) -> None:
    """Start a run and SIGKILL it as soon as it has finished `lines` tables."""
    proc = thoth_process(url, warehouse, "extract", "ontrack", stdout=-1)
    finished = 0
    while finished < lines:  # table lines; others (what was withheld as secret) come first
        line = proc.stdout.readline()
        assert line.startswith("ontrack"), line
        finished += line.startswith("ontrack.")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    proc.stdout.close()


@pytest.mark.parametrize("finished_tables", [1, 23])
def test_killed_first_run_then_rerun_equals_clean_run(pg_url, tmp_path, finished_tables):
    generate(pg_url, scale=0.01, seed=11)
    clean, killed = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    _run(pg_url, clean)

    _kill_after(pg_url, killed, finished_tables)  # 23 finished: next is `tasks`, the largest
    _run(pg_url, killed)
    assert _snapshot(killed) == _snapshot(clean)
    assert_mirrors_source(pg_url, killed)


def test_killed_incremental_run_then_rerun_equals_clean_run(pg_url, tmp_path):
    generate(pg_url, scale=0.01, seed=11)
    clean, killed = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    _run(pg_url, killed)
    # Changes for the next run: updates and deletes in the largest tables.
    execute(
        pg_url,
        "UPDATE tasks SET task_status_id = 2, updated_at = now() WHERE id % 10 = 0",
        "DELETE FROM task_comments WHERE id % 7 = 0",
        "DELETE FROM tasks WHERE id % 13 = 0",
    )
    _kill_after(pg_url, killed, 23)
    _run(pg_url, killed)
    _run(pg_url, clean)
    assert _snapshot(killed) == _snapshot(clean)
    assert_mirrors_source(pg_url, killed)
