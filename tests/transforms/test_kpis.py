"""Every KPI on hand-built rows with known answers, edge cases named in the test names."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY, Raw, build_kpis, rows, user_key

from transforms.build import build

D = datetime


@pytest.fixture
def kpis(tmp_path, monkeypatch):
    def run(raw: Raw):
        return build_kpis(raw, tmp_path / "warehouse.duckdb", monkeypatch)

    return run


def test_enrolment_counts_withdrawn_staff_and_ratio(kpis):
    raw = Raw().student(11, 101).student(12, 102).student(13, 103, enrolled=False)
    raw.add("unit_roles", id=3, unit_id=1, user_id=3, role_id=2)  # a second tutor
    raw.add("unit_roles", id=4, unit_id=1, user_id=3, role_id=2)  # same tutor twice: counts once
    con = kpis(raw)
    assert rows(con, "SELECT unit_id, unit_code, teaching_period, enrolled, withdrawn, tutors, "
                     "convenors, students_per_tutor FROM marts.kpi_enrolment") == [
        (1, "SIT101", "2024 T1", 2, 1, 2, 1, 1.0)]


def test_task_submission_counts_untouched_tasks_and_respects_target_grade(kpis):
    raw = (Raw().student(11, 101, target_grade=0).student(12, 102, target_grade=2)
           .student(13, 103, enrolled=False, target_grade=3))
    raw.task_definition(1, target_date=D(2024, 3, 10), target_grade=0)
    raw.task_definition(2, target_date=D(2024, 3, 17), target_grade=2)
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 9, 10))
    # Project 102 never touched task 1: no row, counted as expected and not submitted.
    raw.add("tasks", id=2, project_id=102, task_definition_id=2, task_status_id=4)
    # A withdrawn student's submission does not count.
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 9, 11))
    con = kpis(raw)
    assert rows(con, "SELECT task_definition_id, expected, submitted, submission_rate "
                     "FROM marts.kpi_task_submission ORDER BY 1") == [
        (1, 2, 1, 0.5), (2, 1, 0, 0.0)]


def _on_time_raw() -> Raw:
    raw = Raw()
    for n in range(1, 5):
        raw.student(10 + n, 100 + n)
    # Target Sunday 10 March; hard due date 20 March.
    raw.task_definition(1, target_date=D(2024, 3, 10), due_date=D(2024, 3, 20))
    return raw


def test_on_time_submission_at_2359_aoe_is_on_time_and_one_minute_later_late(kpis):
    raw = _on_time_raw()
    # 23:59 AoE on 10 March is 11:59 UTC on 11 March.
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, extensions=0,
            submission_date=D(2024, 3, 11, 11, 59, 59))
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, extensions=0,
            submission_date=D(2024, 3, 11, 12, 0, 59))
    con = kpis(raw)
    assert rows(con, "SELECT on_time, late, on_time_rate FROM marts.kpi_on_time") == [(1, 1, 0.5)]


def test_on_time_extension_is_capped_by_the_hard_due_date(kpis):
    raw = _on_time_raw()
    # Two weeks' extension would move the due day to 24 March; the hard due date caps it at 20.
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, extensions=2,
            submission_date=D(2024, 3, 21, 11, 0))  # 20 March 23:00 AoE: on time
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, extensions=2,
            submission_date=D(2024, 3, 22, 9, 0))  # 21 March AoE: late, though within 2 weeks
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, extensions=1,
            submission_date=D(2024, 3, 18, 11, 0))  # 17 March AoE, one week's extension: on time
    raw.add("tasks", id=4, project_id=104, task_definition_id=1, extensions=0)  # not submitted
    con = kpis(raw)
    assert rows(con, "SELECT on_time, late, on_time_rate FROM marts.kpi_on_time") == [
        (2, 1, pytest.approx(2 / 3))]


def test_feedback_turnaround_median_and_p90_by_submission_week(kpis):
    raw = Raw().student(11, 101)
    raw.task_definition(1, target_date=D(2024, 3, 24))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    # Week of Monday 11 March: turnarounds 1, 2, 3 and 10 hours; one not yet assessed.
    for i, (sub, hours) in enumerate([(D(2024, 3, 11, 9), 1), (D(2024, 3, 13, 9), 2),
                                      (D(2024, 3, 17, 23), 3), (D(2024, 3, 12), 10)], start=1):
        raw.add("task_submissions", id=i, task_id=1, submission_time=sub,
                assessment_time=sub + timedelta(hours=hours), outcome="Fix and Resubmit")
    raw.add("task_submissions", id=5, task_id=1, submission_time=D(2024, 3, 14))
    # Monday 18 March 00:30 starts the next ISO week.
    raw.add("task_submissions", id=6, task_id=1, submission_time=D(2024, 3, 18, 0, 30),
            assessment_time=D(2024, 3, 18, 6, 30), outcome="Complete")
    con = kpis(raw)
    assert rows(con, "SELECT week_start, assessments, median_hours, p90_hours "
                     "FROM marts.kpi_feedback_turnaround ORDER BY 1") == [
        (D(2024, 3, 11).date(), 4, 2.5, pytest.approx(7.9)),
        (D(2024, 3, 18).date(), 1, 6.0, 6.0)]


def test_feedback_backlog_per_tutor_with_pseudonymous_key(kpis):
    # Ages are measured at the OnTrack snapshot (its newest load), not the wall clock.
    now = D(2024, 3, 20, 9, 30)
    raw = Raw(loaded_at=now).student(11, 101).student(12, 102).student(13, 103, tutorial=None)
    raw.student(14, 104, enrolled=False)
    raw.task_definition(1, target_date=D(2024, 3, 10))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=now - timedelta(days=5))
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=9,
            submission_date=now - timedelta(days=2))
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, task_status_id=9,
            submission_date=now - timedelta(days=1))  # no tutorial: no tutor
    raw.add("tasks", id=4, project_id=104, task_definition_id=1, task_status_id=9,
            submission_date=now - timedelta(days=30))  # withdrawn: not waiting on anyone
    raw.add("tasks", id=5, project_id=101, task_definition_id=1, task_status_id=2)
    con = kpis(raw)
    got = rows(con, "SELECT tutor_key, awaiting_feedback, oldest_waiting_days "
                    "FROM marts.kpi_feedback_backlog ORDER BY awaiting_feedback DESC")
    assert [(k, n) for k, n, _ in got] == [(user_key(1), 2), (None, 1)]
    assert got[0][2] == 5.0
    assert got[1][2] == 1.0
    assert rows(con, "SELECT DISTINCT as_of FROM marts.kpi_feedback_backlog") == [(now,)]


def test_feedback_backlog_age_is_measured_at_the_newest_ontrack_load(tmp_path, monkeypatch):
    """The snapshot is the newest load among OnTrack's tables; another source's later load (GA4
    here) does not move OnTrack's clock, and neither does the hour of the build."""
    raw = Raw(loaded_at=D(2024, 3, 20, 12)).student(11, 101)
    raw.task_definition(1, target_date=D(2024, 3, 10))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 18, 0))
    warehouse = tmp_path / "warehouse.duckdb"
    build_kpis(raw, warehouse, monkeypatch).close()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE platform.load_state SET loaded_at = TIMESTAMP '2024-03-20 18:00' "
                    "WHERE table_name = 'tasks'")
        con.execute("INSERT INTO platform.load_state (source, table_name, mode, rows_loaded, "
                    "rows_deleted, rows_total, seconds, loaded_at) "
                    "VALUES ('ga4', 'traffic', 'full', 0, 0, 0, 0, TIMESTAMP '2024-03-25 00:00')")
    build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert rows(con, "SELECT oldest_waiting_days, as_of FROM marts.kpi_feedback_backlog") == [
            (2.75, D(2024, 3, 20, 18))]
        assert rows(con, "SELECT source, snapshot_at FROM staging.stg_platform__snapshots "
                         "ORDER BY 1") == [("ga4", D(2024, 3, 25)), ("ontrack", D(2024, 3, 20, 18))]
        # Each build records the newest load of any source as its snapshot.
        assert rows(con, "SELECT DISTINCT snapshot_at, engine FROM platform.model_builds "
                         "ORDER BY 1") == [(D(2024, 3, 20, 12), "duckdb"),
                                           (D(2024, 3, 25), "duckdb")]


def test_task_completion_rate_and_median_days(kpis):
    raw = Raw().student(11, 101).student(12, 102).student(13, 103).student(14, 104)
    raw.task_definition(1, target_date=D(2024, 3, 24), start_date=D(2024, 3, 4, 9))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=2,
            completion_date=D(2024, 3, 8).date())  # 4 days
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=2,
            completion_date=D(2024, 3, 14).date())  # 10 days
    raw.add("tasks", id=3, project_id=103, task_definition_id=1, task_status_id=5)
    con = kpis(raw)
    assert rows(con, "SELECT expected, completed, completion_rate, median_days_to_complete "
                     "FROM marts.kpi_task_completion") == [(4, 2, 0.5, 7.0)]


def test_grade_distribution_final_and_target(kpis):
    raw = (Raw().student(11, 101, grade=1, target_grade=2).student(12, 102, grade=1, target_grade=3)
           .student(13, 103, grade=3, target_grade=3).student(14, 104, enrolled=False, grade=2))
    con = kpis(raw)
    assert rows(con, "SELECT grade, grade_name, final_grade_students, target_grade_students "
                     "FROM marts.kpi_grade_distribution ORDER BY grade") == [
        (0, "Pass", 0, 0), (1, "Credit", 2, 0), (2, "Distinction", 0, 1),
        (3, "High Distinction", 1, 2)]


def test_student_activity_active_and_inactive_for_14_days(kpis):
    raw = Raw().student(11, 101).student(12, 102).student(13, 103)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    raw.add("tasks", id=2, project_id=102, task_definition_id=1)
    # Student 11 active in weeks of 4 and 25 March; student 12 only by a comment on 5 March;
    # student 13 never. A staff comment on 12's task is not 12's activity.
    raw.add("task_engagements", id=1, task_id=1, engagement_time=D(2024, 3, 5),
            engagement="Working On It")
    raw.add("task_submissions", id=1, task_id=1, submission_time=D(2024, 3, 27))
    raw.add("task_comments", id=1, task_id=2, user_id=12, created_at=D(2024, 3, 5),
            content_type="text")
    raw.add("task_comments", id=2, task_id=2, user_id=1, created_at=D(2024, 3, 27),
            content_type="text")
    con = kpis(raw)
    # Week of 4 March: 11 and 12 active; 13 never active → inactive.
    # Week of 25 March (ends 31 March): 11 active; 12 last active 5 March → inactive; 13 too.
    assert rows(con, "SELECT week_start, active_students, inactive_students "
                     "FROM marts.kpi_student_activity ORDER BY 1") == [
        (D(2024, 3, 4).date(), 2, 1), (D(2024, 3, 25).date(), 1, 2)]


def test_comment_activity_by_author_content_type_and_staff_reply_time(kpis):
    raw = Raw().student(11, 101)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    raw.add("tasks", id=2, project_id=101, task_definition_id=1)
    comments = [  # (id, task, author, when, content type)
        (1, 1, 11, D(2024, 3, 11, 9), "text"),
        (2, 1, 1, D(2024, 3, 11, 12), "text"),    # staff reply after 3 h
        (3, 1, 11, D(2024, 3, 12, 9), "text"),
        (4, 2, 1, D(2024, 3, 12, 10), "audio"),   # on another task: not a reply to 3
        (5, 1, 1, D(2024, 3, 13, 9), "audio"),    # reply to 3 after 24 h
        (6, 1, 11, D(2024, 3, 13, 10), "image"),  # never answered
    ]
    for cid, task, author, when, kind in comments:
        raw.add("task_comments", id=cid, task_id=task, user_id=author, created_at=when,
                content_type=kind, comment="secret words")
    con = kpis(raw)
    assert rows(con, "SELECT week_start, content_type, student_comments, staff_comments, "
                     "median_staff_reply_hours FROM marts.kpi_comment_activity ORDER BY 2") == [
        (D(2024, 3, 11).date(), "audio", 0, 2, None),
        (D(2024, 3, 11).date(), "image", 1, 0, None),
        (D(2024, 3, 11).date(), "text", 2, 1, 13.5)]


def test_extensions_requests_grant_rate_and_response_time(kpis):
    raw = Raw().student(11, 101)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    asked = D(2024, 3, 20, 8)
    for cid, granted, hours in [(1, True, 24), (2, False, 48), (3, None, None)]:
        raw.add("task_comments", id=cid, task_id=1, user_id=11, created_at=asked,
                type="ExtensionComment", content_type="extension", extension_weeks=1,
                extension_granted=granted,
                date_extension_assessed=asked + timedelta(hours=hours) if hours else None)
    con = kpis(raw)
    assert rows(con, "SELECT requests, answered, granted, grant_rate, median_response_hours "
                     "FROM marts.kpi_extensions") == [(3, 2, 1, 0.5, 36.0)]


def test_feedback_read_rate_and_time_to_read(kpis):
    raw = Raw().student(11, 101)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1)
    raw.add("task_comments", id=1, task_id=1, user_id=1, recipient_id=11,
            created_at=D(2024, 3, 11, 9), content_type="text")
    raw.add("task_comments", id=2, task_id=1, user_id=1, recipient_id=11,
            created_at=D(2024, 3, 12, 9), content_type="text")
    raw.add("task_comments", id=3, task_id=1, user_id=11, recipient_id=1,
            created_at=D(2024, 3, 12, 10), content_type="text")  # the student's: not counted
    raw.add("comments_read_receipts", id=1, task_comment_id=1, user_id=11,
            created_at=D(2024, 3, 11, 14))
    raw.add("comments_read_receipts", id=2, task_comment_id=2, user_id=1,
            created_at=D(2024, 3, 12, 11))  # read by someone else: not by its recipient
    con = kpis(raw)
    assert rows(con, "SELECT staff_comments, read_comments, read_rate, median_hours_to_read "
                     "FROM marts.kpi_feedback_read") == [(2, 1, 0.5, 5.0)]


def test_web_traffic_engagement_rate_from_parts_not_averaged(kpis):
    raw = Raw()
    day = D(2024, 3, 11).date()
    raw.add("ga4_raw.traffic", property_id="1", date=day, device_category="desktop",
            country="Australia", active_users=90, new_users=10, sessions=100,
            engaged_sessions=90, user_engagement_duration=900.0, screen_page_views=300)
    raw.add("ga4_raw.traffic", property_id="1", date=day, device_category="mobile",
            country="Australia", active_users=9, new_users=1, sessions=10,
            engaged_sessions=1, user_engagement_duration=30.0, screen_page_views=20)
    con = kpis(raw)
    # Averaging the two rates would give (0.9 + 0.1) / 2 = 0.5; from parts it is 91 / 110.
    assert rows(con, "SELECT day, active_users, new_users, sessions, page_views, "
                     "engagement_rate FROM marts.kpi_web_traffic") == [
        (day, 99, 11, 110, 320, pytest.approx(91 / 110))]


def test_page_engagement_groups_titles_of_one_path(kpis):
    raw = Raw()
    day = D(2024, 3, 11).date()
    for title, views, users, seconds in [("Tasks", 10, 4, 100.0), ("Tasks – OnTrack", 5, 1, 20.0)]:
        raw.add("ga4_raw.pages", property_id="1", date=day, page_path="/projects/1/tasks",
                page_title=title, screen_page_views=views, active_users=users,
                user_engagement_duration=seconds)
    con = kpis(raw)
    assert rows(con, "SELECT page_path, page_views, users, engagement_seconds_per_user "
                     "FROM marts.kpi_page_engagement") == [("/projects/1/tasks", 15, 5, 24.0)]


def test_help_requests_and_resubmission_with_renamed_status_in_history(kpis):
    raw = Raw().student(11, 101).student(12, 102)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=3)
    raw.add("tasks", id=2, project_id=102, task_definition_id=1, task_status_id=6)
    for eid, task, status in [(1, 1, "Need Help"), (2, 1, "Need Help"), (3, 2, "Need Help"),
                              (4, 2, "Fail")]:
        raw.add("task_engagements", id=eid, task_id=task, engagement_time=D(2024, 3, 11),
                engagement=status)
    # History keeps the old names "Do Not Resubmit" and "Fail". OnTrack's Task#assess writes
    # the outcome and the assessment time together.
    for sid, task, outcome in [(1, 1, "Fix and Resubmit"), (2, 1, "Redo"), (3, 1, "Complete"),
                               (4, 2, "Do Not Resubmit"), (5, 2, None)]:
        raw.add("task_submissions", id=sid, task_id=task, submission_time=D(2024, 3, 11),
                assessment_time=D(2024, 3, 12) if outcome else None, outcome=outcome)
    con = kpis(raw)
    assert rows(con, "SELECT help_requests, students_asking, open_help_requests "
                     "FROM marts.kpi_help_requests") == [(3, 2, 1)]
    assert rows(con, "SELECT submissions, assessed, sent_back, resubmission_rate, "
                     "submissions_per_task FROM marts.kpi_resubmission") == [(5, 4, 2, 0.5, 2.5)]
    assert rows(con, "SELECT outcome FROM staging.stg_ontrack__task_submissions "
                     "WHERE task_submission_id = 4") == [("Feedback Exceeded",)]
    assert rows(con, "SELECT status_name FROM staging.stg_ontrack__task_engagements "
                     "WHERE task_engagement_id = 4") == [("Needs Improvement",)]


def test_marts_hold_no_names_emails_or_student_ids(kpis):
    raw = Raw().student(11, 101).student(12, 102, enrolled=False)
    raw.task_definition(1, target_date=D(2024, 4, 1))
    raw.add("tasks", id=1, project_id=101, task_definition_id=1, task_status_id=9,
            submission_date=D(2024, 3, 30))
    raw.add("task_comments", id=1, task_id=1, user_id=11, created_at=D(2024, 3, 30),
            comment="please call me on 0400 000 000", content_type="text")
    con = kpis(raw)
    people = {v for row in raw.rows["ontrack_raw.users"] for k, v in row.items()
              if k != "id" and v is not None}
    people.add("please call me on 0400 000 000")
    tables = [r[0] for r in rows(con, "SELECT table_name FROM duckdb_tables() "
                                      "WHERE schema_name = 'marts'")]
    assert len(tables) >= 15
    for table in tables:
        columns = [r[0] for r in rows(con, f"DESCRIBE marts.{table}")]
        assert not {"email", "first_name", "last_name", "username", "student_id",
                    "user_id", "comment"} & set(columns), table
        for row in rows(con, f"SELECT * FROM marts.{table}"):
            assert not people & {str(v) for v in row}, table
