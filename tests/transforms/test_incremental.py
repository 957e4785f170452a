"""An hourly build after a change batch redoes only the tables the change reaches, and leaves
every model table equal, row for row, to a full rebuild from scratch; the check re-runs only the
tests whose inputs moved and reports what a full check reports (issue #25)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from kpi_fixtures import PSEUDONYM_KEY
from ontrack_helpers import execute, thoth

from thoth.demo.ontrack import generate
from transforms.build import build
from transforms.checks import run_checks

ABSENT = frozenset({"ga4_raw", "landing_raw", "metrics_raw"})
NOW = "now() AT TIME ZONE 'UTC'"
KEY = PSEUDONYM_KEY.encode()


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every model table, every row, in a stable order."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN "
            "('staging', 'intermediate', 'marts') ORDER BY 1").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}


def _checks(warehouse: Path) -> list[tuple]:
    """The last check's results, fingerprints aside."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT model, test, column_name, failures, passed, detail, severity "
            "FROM platform.check_results WHERE check_run_id = (SELECT check_run_id FROM "
            "platform.check_results ORDER BY checked_at DESC LIMIT 1) ORDER BY ALL").fetchall()


def _extract(monkeypatch, capsys, url: str, warehouse: Path) -> None:
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert (code, err) == (0, ""), out + err


def test_an_hourly_build_equals_a_full_rebuild(pg_url, warehouse_path, tmp_path, monkeypatch,
                                               capsys):
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    key = PSEUDONYM_KEY.encode()
    generate(pg_url, scale=0.002, seed=7)
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    first = build(warehouse_path, pseudonym_key=key, log=lambda line: None,
                  absent_sources=ABSENT)
    assert first and not any(r.kept for r in first)
    assert run_checks(warehouse_path, log=lambda line: None, absent_sources=ABSENT)

    # Nothing changed in the source: a load, then every table is kept (the snapshot, "now" of
    # the backlog, moved with the load: that one is made again).
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    again = {r.model: r.kept for r in build(warehouse_path, pseudonym_key=key,
                                            log=lambda line: None, absent_sources=ABSENT)
             if r.rows is not None}
    assert [m for m, kept in again.items() if not kept] == ["marts.kpi_feedback_backlog"]

    # The hour's batch: tasks submitted, comments deleted with their read receipts, new
    # engagements, a project's target grade changed.
    execute(pg_url,
            f"UPDATE tasks SET updated_at = {NOW}, submission_date = {NOW}, task_status_id = 9 "
            "WHERE id % 7 = 3",
            "DELETE FROM comments_read_receipts WHERE task_comment_id IN "
            "(SELECT id FROM task_comments WHERE id % 9 = 1)",
            "DELETE FROM task_comments WHERE id % 9 = 1",
            "INSERT INTO task_engagements (engagement_time, engagement, task_id, created_at, "
            "updated_at) SELECT engagement_time, engagement, task_id, created_at, updated_at "
            "FROM task_engagements WHERE id % 5 = 2",
            f"UPDATE projects SET target_grade = 3 - target_grade, updated_at = {NOW} "
            "WHERE id % 11 = 4")
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    hourly = {r.model: r.kept for r in build(warehouse_path, pseudonym_key=key,
                                             log=lambda line: None, absent_sources=ABSENT)
             if r.rows is not None}
    # What no changed table reaches is kept; what one does is made again.
    assert hourly["marts.dim_units"] and hourly["marts.dim_weeks"]
    assert not hourly["marts.kpi_task_submission"] and not hourly["marts.kpi_help_requests"]
    assert run_checks(warehouse_path, log=lambda line: None, absent_sources=ABSENT)

    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse_path, full)
    rebuilt = build(full, pseudonym_key=key, log=lambda line: None, absent_sources=ABSENT,
                    full=True)
    assert not any(r.kept for r in rebuilt)
    assert _tables(warehouse_path) == _tables(full)
    with duckdb.connect(str(full)) as con:  # the full check: no result to reuse
        con.execute("UPDATE platform.check_results SET fingerprint = NULL")
    assert run_checks(full, log=lambda line: None, absent_sources=ABSENT)
    assert _checks(warehouse_path) == _checks(full)


def test_an_hour_that_changed_only_tasks_applies_their_rows(pg_url, warehouse_path, tmp_path,
                                                            monkeypatch, capsys):
    """int_expected_tasks (incremental on ontrack_raw.tasks) makes again only the keys of the
    tasks the loads changed, and equals a whole rebuild; a change the log does not explain (an
    erasure-like edit of the raw table) makes it whole again."""
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    generate(pg_url, scale=0.002, seed=11)
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    build(warehouse_path, pseudonym_key=KEY, log=lambda line: None, absent_sources=ABSENT)
    model = "intermediate.int_expected_tasks"

    # Tasks submitted, tasks deleted (their rows become "not started"), a task moved to another
    # project of the same unit (both keys change).
    execute(pg_url,
            f"UPDATE tasks SET updated_at = {NOW}, submission_date = {NOW}, task_status_id = 9 "
            "WHERE id % 13 = 5",
            *(f"DELETE FROM {table} WHERE task_id IN (SELECT id FROM tasks WHERE id % 17 = 6)"
              for table in ("task_engagements", "task_submissions")),
            "DELETE FROM comments_read_receipts WHERE task_comment_id IN (SELECT c.id FROM "
            "task_comments c JOIN tasks t ON t.id = c.task_id WHERE t.id % 17 = 6)",
            "DELETE FROM task_comments WHERE task_id IN (SELECT id FROM tasks WHERE id % 17 = 6)",
            "DELETE FROM tasks WHERE id % 17 = 6")
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    results = {r.model: r for r in build(warehouse_path, pseudonym_key=KEY, log=lambda line: None,
                                         absent_sources=ABSENT)}
    assert results[model].applied and not results[model].kept
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        total = con.execute(f"SELECT count(*) FROM {model}").fetchone()[0]
    assert 0 < results[model].applied < total / 5  # a share, not the whole table

    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse_path, full)
    build(full, pseudonym_key=KEY, log=lambda line: None, absent_sources=ABSENT, full=True)
    assert _tables(warehouse_path) == _tables(full)

    # A change no load logged: the sums disagree, so the table is made whole, and is right.
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM ontrack_raw.tasks WHERE id % 19 = 2")
    results = {r.model: r for r in build(warehouse_path, pseudonym_key=KEY, log=lambda line: None,
                                         absent_sources=ABSENT)}
    assert results[model].applied is None and not results[model].kept
    shutil.copy(warehouse_path, full)
    build(full, pseudonym_key=KEY, log=lambda line: None, absent_sources=ABSENT, full=True)
    assert _tables(warehouse_path) == _tables(full)


def test_a_change_to_columns_no_model_reads_rebuilds_nothing(pg_url, warehouse_path, tmp_path,
                                                             monkeypatch, capsys):
    """A stored model's fingerprint takes only the columns its plan reads: Rails touching
    `updated_at` reaches no KPI; a column a model does read rebuilds that model, right."""
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    generate(pg_url, scale=0.002, seed=13)
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    build(warehouse_path, pseudonym_key=KEY, log=lambda line: None, absent_sources=ABSENT)

    execute(pg_url, f"UPDATE projects SET updated_at = {NOW} WHERE id % 3 = 1")
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    touched = {r.model: r.kept for r in build(warehouse_path, pseudonym_key=KEY,
                                              log=lambda line: None, absent_sources=ABSENT)
               if r.rows is not None}
    # Only the backlog, whose "now" is the snapshot that moved with the load, is made again.
    assert [m for m, kept in touched.items() if not kept] == ["marts.kpi_feedback_backlog"]

    execute(pg_url, f"UPDATE projects SET grade = 3 - grade, updated_at = {NOW} "
                    "WHERE id % 3 = 1")
    _extract(monkeypatch, capsys, pg_url, warehouse_path)
    graded = {r.model: r.kept for r in build(warehouse_path, pseudonym_key=KEY,
                                             log=lambda line: None, absent_sources=ABSENT)
              if r.rows is not None}
    assert not graded["marts.kpi_grade_distribution"]
    assert graded["marts.kpi_task_completion"] and graded["intermediate.int_expected_tasks"]
    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse_path, full)
    build(full, pseudonym_key=KEY, log=lambda line: None, absent_sources=ABSENT, full=True)
    assert _tables(warehouse_path) == _tables(full)
