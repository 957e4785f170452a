"""KPIs that agree with each other and with OnTrack, and data tests whose severity fits the data.

Hand-built rows with exact answers (kpi_fixtures); `thoth check` and publishing run for real on
the DuckDB file the build wrote.
"""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import datetime, timedelta

import duckdb
import pytest
from kpi_fixtures import Raw, build_kpis, rows

from thoth.cli import main
from thoth.core.duck import utc_now
from thoth.core.errors import ThothError
from thoth.core.platform.checks import last_check, last_check_passed
from thoth.core.storage import open_target
from transforms.checks import run_checks
from transforms.data_tests import data_tests
from transforms.project import discover
from warehouse.governance import retention
from warehouse.publish import publish

D = datetime


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE__PATH", str(tmp_path / "warehouse.duckdb"))
    return tmp_path / "warehouse.duckdb"


def _build(raw: Raw, warehouse, monkeypatch) -> duckdb.DuckDBPyConnection:
    return build_kpis(raw, warehouse, monkeypatch)


def _check(warehouse) -> tuple[bool, list[str]]:
    lines: list[str] = []
    return run_checks(warehouse, log=lines.append), lines


# --- OnTrack's deadline, to the microsecond ------------------------------------------------

def test_on_time_is_115959_000000_utc_next_day_and_one_microsecond_later_is_late(
        warehouse, monkeypatch):
    raw = Raw().student(11, 101).student(12, 102).student(13, 103)
    raw.task_definition(1, target_date=D(2024, 3, 10), due_date=D(2024, 3, 20))
    # 23:59:59.000000 AoE on Sunday 10 March = 11:59:59.000000 UTC on Monday 11 March.
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 11, 11, 59, 59))
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=12,
            submission_date=D(2024, 3, 11, 11, 59, 59, 1))
    # Before 12:00 UTC, yet late: the old `< due day + 36 h` rule called this on time.
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, task_status_id=12,
            submission_date=D(2024, 3, 11, 11, 59, 59, 999999))
    con = _build(raw, warehouse, monkeypatch)
    assert rows(con, "SELECT task_id, due_day, deadline, submitted_on_time "
                     "FROM intermediate.int_task_deadlines ORDER BY 1") == [
        (1, D(2024, 3, 10).date(), D(2024, 3, 11, 11, 59, 59), True),
        (2, D(2024, 3, 10).date(), D(2024, 3, 11, 11, 59, 59), False),
        (3, D(2024, 3, 10).date(), D(2024, 3, 11, 11, 59, 59), False)]
    assert rows(con, "SELECT on_time, late FROM marts.kpi_on_time") == [(1, 2)]


def test_extension_past_unit_end_on_task_definition_without_due_date_is_capped_at_unit_end(
        warehouse, monkeypatch):
    # The unit ends Friday 21 June 2024 (kpi_fixtures); the task definition has no due date,
    # so OnTrack's TaskDefinition#due_date is the unit's end date.
    raw = Raw().student(11, 101).student(12, 102).student(13, 103).student(14, 104)
    raw.task_definition(1, target_date=D(2024, 6, 14), no_due_date=True)
    # Two weeks would make it 28 June: capped at 21 June, so due 11:59:59 UTC on 22 June.
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, extensions=2,
            submission_date=D(2024, 6, 22, 11, 59, 59))  # on time
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, extensions=2,
            submission_date=D(2024, 6, 25, 9))  # within two weeks, past the cap: late
    # One week lands exactly on the end date: not capped, due 21 June.
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, extensions=1,
            submission_date=D(2024, 6, 22, 12))  # late
    raw.add("tasks", id=4, project_id=104, task_definition_id=1, extensions=0,
            submission_date=D(2024, 6, 15, 11, 59, 59))  # target date, on time
    con = _build(raw, warehouse, monkeypatch)
    assert rows(con, "SELECT task_id, due_day, extension_capped, submitted_on_time "
                     "FROM intermediate.int_task_deadlines ORDER BY 1") == [
        (1, D(2024, 6, 21).date(), True, True), (2, D(2024, 6, 21).date(), True, False),
        (3, D(2024, 6, 21).date(), False, False), (4, D(2024, 6, 14).date(), False, True)]
    assert rows(con, "SELECT on_time, late FROM marts.kpi_on_time") == [(2, 2)]
    assert rows(con, "SELECT extended_tasks, capped_at_due_date FROM marts.kpi_extensions") == [
        (3, 2)]


# --- one population per fact -----------------------------------------------------------------

def test_withdrawn_student_and_above_target_grade_task_count_in_neither_on_time_nor_submitted(
        warehouse, monkeypatch):
    raw = (Raw().student(11, 101, target_grade=0).student(12, 102, target_grade=1)
           .student(13, 103, enrolled=False, target_grade=3))
    raw.task_definition(1, target_date=D(2024, 3, 10), target_grade=0)
    raw.task_definition(2, target_date=D(2024, 3, 10), target_grade=1)  # Credit task
    on_time, late = D(2024, 3, 9), D(2024, 3, 13)
    for task, project, td, when in [
            (1, 101, 1, on_time), (2, 102, 1, late), (3, 102, 2, on_time),
            (4, 101, 2, late),     # above 101's target grade (Pass): not assigned to it
            (5, 103, 1, on_time),  # withdrawn
            (6, 103, 2, late)]:    # withdrawn
        raw.add("tasks", id=task, project_id=project, task_definition_id=td, task_status_id=9,
                submission_date=when)
    con = _build(raw, warehouse, monkeypatch)
    assert rows(con, "SELECT s.task_definition_id, s.expected, s.submitted, o.on_time, o.late "
                     "FROM marts.kpi_task_submission s JOIN marts.kpi_on_time o "
                     "USING (task_definition_id) ORDER BY 1") == [(1, 2, 2, 1, 1), (2, 1, 1, 1, 0)]
    # The backlog counts the same tasks: three waiting, not six.
    assert rows(con, "SELECT sum(awaiting_feedback) FROM marts.kpi_feedback_backlog") == [(3,)]
    con.close()
    ok, lines = _check(warehouse)
    assert ok, lines


def test_assessments_in_turnaround_equal_assessed_in_resubmission(warehouse, monkeypatch):
    raw = Raw().student(11, 101).student(12, 102, enrolled=False)
    raw.task_definition(1, target_date=D(2024, 3, 24))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=5)
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=5)
    for sid, task, outcome in [(1, 1, "Fix and Resubmit"), (2, 1, None),
                               (3, 2, "Fix and Resubmit")]:  # 3: a withdrawn student's
        raw.add("task_submissions", id=sid, task_id=task, submission_time=D(2024, 3, 11, 9),
                assessment_time=D(2024, 3, 11, 13) if outcome else None, outcome=outcome)
    con = _build(raw, warehouse, monkeypatch)
    assert rows(con, "SELECT assessments, median_hours FROM marts.kpi_feedback_turnaround") == [
        (1, 4.0)]
    assert rows(con, "SELECT submissions, assessed, sent_back FROM marts.kpi_resubmission") == [
        (2, 1, 1)]


# --- identities between marts ----------------------------------------------------------------

def _two_submissions() -> Raw:
    raw = Raw().student(11, 101).student(12, 102)
    raw.task_definition(1, target_date=D(2024, 3, 10))
    raw.task_definition(2, target_date=D(2024, 3, 17))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 9))
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 12))
    return raw


def test_broken_identity_fails_check_naming_it(warehouse, monkeypatch, capsys):
    _build(_two_submissions(), warehouse, monkeypatch).close()
    assert main(["check"]) == 0
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_on_time SET late = late + 1 WHERE task_definition_id = 1")
        con.execute("DELETE FROM marts.kpi_on_time WHERE task_definition_id = 2")
    capsys.readouterr()
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert ("FAIL identity marts.kpi_on_time [on_time + late = submitted]: 2 keys disagree, "
            "e.g. task_definition_id=1: 3 vs 2; task_definition_id=2: no row vs 0") in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT failures, severity FROM platform.check_results WHERE "
                           "test = 'identity' AND column_name = 'on_time + late = submitted' "
                           "ORDER BY checked_at DESC LIMIT 1").fetchall() == [(2, "error")]
        assert last_check_passed(con) is False


def test_at_most_identity_passes_a_key_missing_on_its_left_only(warehouse, monkeypatch):
    con = _build(_two_submissions(), warehouse, monkeypatch)
    # Task definition 2 has no waiting task: no backlog row, nothing to compare.
    assert rows(con, "SELECT unit_id, awaiting_feedback FROM marts.kpi_feedback_backlog") == [
        (1, 2)]
    con.close()
    ok, lines = _check(warehouse)
    assert ok, lines
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_feedback_backlog SET awaiting_feedback = 3")
    ok, lines = _check(warehouse)
    assert not ok
    assert ("FAIL identity marts.kpi_feedback_backlog [awaiting feedback <= "
            "kpi_task_submission.submitted]: 1 keys disagree, e.g. unit_id=1: 3 vs 2") in lines


# --- guards that fit the data ----------------------------------------------------------------

def _backlog(waiting: dict[int, int]) -> Raw:
    """Two tutors, each with one tutorial of two students; `waiting`: project → days waiting."""
    raw = Raw()
    raw.add("users", id=3, email="tom.tutor@uni.example", first_name="Tom", last_name="Tutor")
    raw.add("unit_roles", id=3, unit_id=1, user_id=3, role_id=2)
    raw.add("tutorials", id=2, unit_id=1, unit_role_id=3, capacity=25)
    for user, project, tutorial in [(11, 101, 1), (12, 102, 1), (13, 103, 2), (14, 104, 2)]:
        raw.student(user, project, tutorial=tutorial)
    raw.task_definition(1, target_date=D(2024, 3, 10))
    now = utc_now()
    for project in (101, 102, 103, 104):
        days = waiting.get(project)
        raw.add("tasks", id=project, project_id=project, task_definition_id=1,
                task_status_id=9 if days else 2, submission_date=now - timedelta(days=days or 9))
    return raw


def test_backlog_shrinking_from_two_rows_to_one_does_not_block(warehouse, monkeypatch):
    con = _build(_backlog({101: 3, 103: 5}), warehouse, monkeypatch)
    assert rows(con, "SELECT count(*) FROM marts.kpi_feedback_backlog") == [(2,)]
    con.close()
    assert _check(warehouse)[0]
    # Tom assessed his student's task: his row goes. An ordinary change, not a lost load.
    con = _build(_backlog({101: 3}), warehouse, monkeypatch)
    assert rows(con, "SELECT count(*) FROM marts.kpi_feedback_backlog") == [(1,)]
    con.close()
    ok, lines = _check(warehouse)
    assert ok, lines
    assert not [line for line in lines if "kpi_feedback_backlog" in line]


def test_backlog_row_without_waiting_work_fails(warehouse, monkeypatch):
    _build(_backlog({101: 3}), warehouse, monkeypatch).close()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_feedback_backlog SET awaiting_feedback = 0")
    ok, lines = _check(warehouse)
    assert not ok
    assert "FAIL range marts.kpi_feedback_backlog.awaiting_feedback: 1 rows" in lines


def _definitions(n: int) -> Raw:
    raw = Raw().student(11, 101)
    for i in range(1, n + 1):
        raw.task_definition(i, target_date=D(2024, 4, 1))
    return raw


def test_history_kpi_losing_rows_blocks(warehouse, monkeypatch):
    _build(_definitions(10), warehouse, monkeypatch).close()
    _build(_definitions(7), warehouse, monkeypatch).close()
    ok, lines = _check(warehouse)
    assert not ok
    assert ("FAIL max_row_drop marts.kpi_task_submission: 10 → 7 rows (+30% drop, limit 15%): "
            "a lost or partial load? no retention explains it") in lines
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT DISTINCT severity FROM platform.check_results WHERE "
                           "test = 'max_row_drop' AND NOT passed").fetchall() == [("error",)]


def test_history_kpi_losing_fewer_rows_than_the_floor_warns(warehouse, monkeypatch):
    _build(_definitions(2), warehouse, monkeypatch).close()
    _build(_definitions(1), warehouse, monkeypatch).close()
    ok, lines = _check(warehouse)
    assert ok
    assert ("WARN max_row_drop marts.kpi_on_time: 2 → 1 rows (+50% drop, limit 15%); fewer "
            "than 3 rows, below the guard's floor (not blocking)") in lines
    assert re.fullmatch(r"\d+ checks, \d+ passed, 0 failed, [1-9]\d* warnings \(not blocking\)",
                        lines[-1])


def _comments_over_weeks() -> Raw:
    """Student comments in six weeks of 2024 and one this week: seven comment-activity rows."""
    raw = Raw().student(11, 101)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    for week in range(6):
        raw.add("task_comments", id=week + 1, task_id=1, user_id=11, content_type="text",
                created_at=D(2024, 3, 4) + timedelta(weeks=week))
    raw.add("task_comments", id=7, task_id=1, user_id=11, content_type="text",
            created_at=utc_now() - timedelta(hours=1))
    return raw


def _rebuild(warehouse, monkeypatch) -> None:
    from transforms.build import build

    build(warehouse, pseudonym_key=b"test-pseudonym-key", log=lambda line: None)


def test_retention_apply_explains_a_drop_and_warns(warehouse, monkeypatch, tmp_path):
    _build(_comments_over_weeks(), warehouse, monkeypatch).close()
    policy = next(p for p in retention.load_policies() if p.table == "ontrack_raw.task_comments")
    moved = retention.archive(warehouse, open_target(str(tmp_path / "archive")), apply=True,
                              policies=[policy], log=lambda line: None)
    assert [m.rows for m in moved] == [6]
    _rebuild(warehouse, monkeypatch)
    ok, lines = _check(warehouse)
    assert ok, lines
    warning = next(line for line in lines if "max_row_drop marts.kpi_comment_activity" in line)
    assert warning.startswith("WARN max_row_drop marts.kpi_comment_activity: 7 → 1 rows (+86% "
                              "drop, limit 15%); explained by retention archived 6 rows of "
                              "ontrack_raw.task_comments (")


def test_same_drop_without_a_retention_apply_blocks(warehouse, monkeypatch):
    _build(_comments_over_weeks(), warehouse, monkeypatch).close()
    with duckdb.connect(str(warehouse)) as con:  # rows gone, and nothing says why
        con.execute("DELETE FROM ontrack_raw.task_comments WHERE id <= 6")
    _rebuild(warehouse, monkeypatch)
    ok, lines = _check(warehouse)
    assert not ok
    assert ("FAIL max_row_drop marts.kpi_comment_activity: 7 → 1 rows (+86% drop, limit 15%): "
            "a lost or partial load? no retention explains it") in lines


# --- severity: warnings report, errors block publishing --------------------------------------

def test_warning_never_blocks_publish_and_an_error_does(warehouse, monkeypatch, tmp_path):
    raw = _two_submissions()
    raw.rows["ontrack_raw.projects"][0]["grade"] = 7  # not a grade OnTrack knows: a warning
    _build(raw, warehouse, monkeypatch).close()
    ok, lines = _check(warehouse)
    assert ok
    assert ("WARN identity marts.kpi_grade_distribution [final grade students = "
            "kpi_enrolment.enrolled]: 1 keys disagree, e.g. unit_id=1: 1 vs 2 (not blocking)"
            ) in lines
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _, _, tests, errors, warnings = last_check(con)
        assert (errors, warnings) == (0, 1) and tests > 100
        assert last_check_passed(con) is True
    target = open_target(str(tmp_path / "publish"))
    report = publish(warehouse, target, dataset="thoth_kpi", log=lambda line: None)
    assert report.tables >= 15
    assert (tmp_path / "publish" / "_control" / "manifest.json").exists()

    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_on_time SET late = late + 1")
    assert not _check(warehouse)[0]
    with pytest.raises(ThothError, match=r"the last `thoth check` \(.*\) failed 1 of \d+ data "
                                         "tests"):
        publish(warehouse, target, dataset="thoth_kpi", log=lambda line: None)


def test_check_results_from_before_severity_still_decide(warehouse, monkeypatch):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA platform")
        con.execute("CREATE TABLE platform.check_results (check_run_id VARCHAR NOT NULL, "
                    "checked_at TIMESTAMP NOT NULL, model VARCHAR NOT NULL, test VARCHAR NOT "
                    "NULL, column_name VARCHAR, failures BIGINT NOT NULL, passed BOOLEAN NOT "
                    "NULL, detail VARCHAR)")
        con.execute("INSERT INTO platform.check_results VALUES ('old', TIMESTAMP '2026-01-01', "
                    "'marts.kpi_on_time', 'not_null', 'late', 1, FALSE, NULL)")
        assert last_check_passed(con) is False  # no severity column: a failure is an error
    _build(_two_submissions(), warehouse, monkeypatch).close()
    assert _check(warehouse)[0]  # adds the column, keeps the old rows
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT severity FROM platform.check_results "
                           "WHERE check_run_id = 'old'").fetchall() == [(None,)]
        assert last_check_passed(con) is True


# --- test declarations -----------------------------------------------------------------------

def _model(tmp_path, yml: str):
    (tmp_path / "marts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "marts" / "kpi_x.sql").write_text("SELECT * FROM staging.parent")
    (tmp_path / "marts" / "kpi_x.yml").write_text(yml)
    return discover(tmp_path)["marts.kpi_x"]


def test_relationships_catches_an_orphan_when_the_parent_column_holds_a_null(tmp_path):
    model = _model(tmp_path, "description: x\ncolumns:\n  unit_id:\n    tests:\n"
                             "    - relationships: staging.units.unit_id\n")
    (test,) = list(data_tests(model))
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.units AS SELECT * FROM (VALUES (1), (NULL)) t(unit_id)")
        con.execute("CREATE TABLE marts.kpi_x AS SELECT * FROM (VALUES (1), (2), (NULL)) "
                    "t(unit_id)")
        # `2 NOT IN (1, NULL)` is NULL, which the old test read as "no orphan".
        assert con.execute("SELECT count(*) FROM marts.kpi_x WHERE unit_id IS NOT NULL AND "
                           "unit_id NOT IN (SELECT unit_id FROM staging.units)").fetchall() == [
            (0,)]
        assert con.execute(test.sql).fetchall() == [(1,)]


def test_severity_is_declared_beside_each_test(tmp_path):
    model = _model(tmp_path, "description: x\ncolumns:\n  n:\n    tests:\n    - not_null\n"
                             "    - {range: {min: 0}, severity: warn}\n"
                             "tests:\n- {expression: n < 10, severity: warn}\n"
                             "- expression: n > 0\n")
    assert [(t.test, t.column, t.severity) for t in data_tests(model)] == [
        ("not_null", "n", "error"), ("range", "n", "warn"), ("expression", "n < 10", "warn"),
        ("expression", "n > 0", "error")]
    bad = _model(tmp_path, "description: x\ncolumns:\n  n:\n    tests:\n"
                           "    - {not_null: null, severity: fatal}\n")
    with pytest.raises(ThothError, match=r"kpi_x.yml: n: severity 'fatal' is not one of "
                                         "error, warn"):
        list(data_tests(bad))


def test_every_ontrack_kpi_says_which_population_it_counts_and_how_rows_behave():
    models = discover()
    ontrack = [m for name, m in models.items() if name.startswith("marts.kpi_")
               and any(t.startswith("ontrack_raw.") for t in _raw(models, name))]
    assert len(ontrack) == 13
    for model in ontrack:
        assert model.meta.get("population"), model.qualified
        assert model.meta.get("rows") in ("history", "current"), model.qualified
    assert models["marts.kpi_feedback_backlog"].meta["rows"] == "current"


def _raw(models, name) -> set[str]:
    from transforms.project import lineage

    return lineage(models, name)


def test_kpis_command_prints_the_tested_grain(warehouse, monkeypatch, capsys):
    _build(_two_submissions(), warehouse, monkeypatch).close()
    assert main(["kpis"]) == 0
    out = capsys.readouterr().out
    assert "kpi_on_time  [task_definition_id]" in out
    assert "kpi_grade_distribution  [unit_id, grade]" in out
    assert not [line for line in out.splitlines()
                if line.startswith("problem:") and "grain" in line]


def test_thoth_run_alerts_a_warning_and_still_publishes(warehouse, monkeypatch, tmp_path):
    from thoth.app.progress import Progress
    from thoth.app.run import run
    from thoth.app.steps import CHECK, TRANSFORM, publish_step

    raw = _two_submissions()
    raw.rows["ontrack_raw.projects"][0]["grade"] = 7
    raw.write(warehouse)
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", "test-pseudonym-key")
    record, script = tmp_path / "alert.json", tmp_path / "alert.py"
    script.write_text(f"import json, sys\njson.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    monkeypatch.setenv("ALERTS__COMMAND", f"{sys.executable} {script}")
    out = io.StringIO()
    code = run(warehouse, steps=[TRANSFORM, CHECK, publish_step(str(tmp_path / "publish"))],
               progress=Progress(3, stream=out, live=False))
    assert code == 0, out.getvalue()
    assert (tmp_path / "publish" / "_control" / "manifest.json").exists()
    (text,) = json.loads(record.read_text())
    assert re.fullmatch(r"thoth run \w+ succeeded on .+ with 1 warning\(s\): "
                        r"identity marts\.kpi_grade_distribution \[final grade students = "
                        r"kpi_enrolment\.enrolled\]: .*", text)


def test_student_activity_ignores_a_tutors_assessment_of_a_students_task(warehouse, monkeypatch):
    raw = Raw().student(11, 101).student(12, 102)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=2)
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=2)
    raw.add("task_engagements", id=1, task_id=1, engagement_time=D(2024, 3, 12),
            engagement="Ready for Feedback")  # student 11 submits
    raw.add("task_engagements", id=2, task_id=1, engagement_time=D(2024, 3, 13),
            engagement="Complete")  # the tutor assesses
    raw.add("task_engagements", id=3, task_id=2, engagement_time=D(2024, 3, 14),
            engagement="Complete")  # student 12 did nothing this week
    con = _build(raw, warehouse, monkeypatch)
    assert rows(con, "SELECT week_start, active_students, inactive_students "
                     "FROM marts.kpi_student_activity") == [(D(2024, 3, 11).date(), 1, 1)]
