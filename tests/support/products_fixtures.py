"""Hand-built warehouses for the data-product tests (tests/warehouse/test_products*.py).

`insights_raw()`: four units of 2024 T1 (one with only 3 students, so its values are withheld),
one of 2023 T3 (the previous period) and one of 2022 T1 (too old to publish), each with two task
definitions, submissions, assessments, comments, read receipts and extension requests whose
numbers vary by unit and student. `attention_raw()`: one unit whose students each exercise one
signal of the students-needing-attention product, with dates at its thresholds' edges.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from kpi_fixtures import CONVENOR, PSEUDONYM_KEY, TUTOR, Raw

from thoth.core.platform import load_state
from transforms.build import build
from transforms.checks import run_checks

D = datetime
AS_OF = D(2024, 4, 1, 12)  # a Monday in 2024 T1
PERIODS = {1: ("T1", 2024, D(2024, 3, 4), D(2024, 6, 21)),
           2: ("T3", 2023, D(2023, 11, 6), D(2024, 2, 16)),
           3: ("T1", 2022, D(2022, 3, 7), D(2022, 6, 17))}
# unit id → (code, teaching period id, students)
UNITS = {1: ("SIT101", 1, 6), 2: ("SIT102", 1, 7), 3: ("SIT103", 1, 8), 4: ("SIT104", 1, 3),
         9: ("SIT199", 2, 6), 8: ("SIT188", 3, 5)}
# Distinctive people, so a scan of the product files cannot match ordinary words.
FIRST, LAST = "Quorinda", "Vexhallow"


def student_user(unit_id: int, i: int) -> int:
    return 1000 + unit_id * 100 + i


def project(unit_id: int, i: int) -> int:
    return unit_id * 100 + i


def insights_raw(shift: timedelta = timedelta(0)) -> Raw:
    """`shift`: every date moved by it (whole weeks keep the weekdays), e.g. to make 2024 T1
    the current period today."""
    raw = Raw()
    raw.rows["ontrack_raw.teaching_periods"] = []  # Raw()'s period and unit, replaced
    raw.rows["ontrack_raw.units"] = []
    for tp, (name, year, start, end) in PERIODS.items():
        raw.add("teaching_periods", id=tp, period=name, year=year, start_date=start + shift,
                end_date=end + shift)
    task_id = comment_id = 0
    for unit_id, (code, period, students) in UNITS.items():
        start, end = PERIODS[period][2] + shift, PERIODS[period][3] + shift
        raw.add("units", id=unit_id, code=code, name=f"Unit {code}", teaching_period_id=period,
                main_convenor_id=2, active=True, start_date=start, end_date=end)
        if unit_id != 1:  # Raw() has unit 1's tutorial
            raw.add("tutorials", id=unit_id, unit_id=unit_id, unit_role_id=1, capacity=25)
        targets = {unit_id * 10 + n: start + timedelta(days=7 * n) for n in (1, 2)}
        for td, target in targets.items():
            raw.add("task_definitions", id=td, unit_id=unit_id, abbreviation=f"T{td}",
                    name=f"Task {td}", target_grade=0, start_date=start, target_date=target,
                    due_date=target + timedelta(days=21))
        for i in range(1, students + 1):
            uid, pid = student_user(unit_id, i), project(unit_id, i)
            raw.add("users", id=uid, email=f"{FIRST.lower()}{uid}@student.uni.example",
                    first_name=f"{FIRST}{uid}", last_name=LAST, username=f"qv{uid}",
                    student_id=f"77{uid:07d}")
            raw.add("projects", id=pid, unit_id=unit_id, user_id=uid, enrolled=True,
                    target_grade=0, grade=0)
            raw.add("tutorial_enrolments", id=pid, project_id=pid, tutorial_id=unit_id)
            for n, (td, target) in enumerate(targets.items(), start=1):
                if n == 2 and (i + unit_id) % 3 == 0:
                    continue  # not submitted: no task row at all
                task_id += 1
                # Some a day early, some two days late; assessed after i × unit hours.
                submitted = target + timedelta(hours=(-24 if i % 2 else 60) + i)
                status = 9 if (i + n) % 4 == 0 else 2
                raw.add("tasks", id=task_id, project_id=pid, task_definition_id=td,
                        task_status_id=status, submission_date=submitted,
                        completion_date=submitted.date() if status == 2 else None)
                assessed = submitted + timedelta(hours=i * unit_id + n)
                raw.add("task_submissions", id=task_id, task_id=task_id,
                        submission_time=submitted,
                        assessment_time=assessed if status == 2 else None,
                        outcome="Complete" if status == 2 else None)
                raw.add("task_engagements", id=task_id, task_id=task_id,
                        engagement_time=submitted, engagement="Ready for Feedback")
                comment_id += 1
                raw.add("task_comments", id=comment_id, task_id=task_id, user_id=TUTOR,
                        recipient_id=uid, comment=f"well done {FIRST}{uid}",
                        created_at=submitted + timedelta(hours=2), content_type="text")
                if (i + n) % 3:
                    raw.add("comments_read_receipts", id=comment_id, task_comment_id=comment_id,
                            user_id=uid, created_at=submitted + timedelta(hours=2 + i))
                if n == 1:
                    comment_id += 1
                    answered = i % 3 != 0
                    raw.add("task_comments", id=comment_id, task_id=task_id, user_id=uid,
                            recipient_id=TUTOR, comment="may I have more time?",
                            created_at=target - timedelta(days=2), type="ExtensionComment",
                            content_type="extension", extension_weeks=1,
                            extension_granted=answered and i % 2 == 0,
                            date_extension_assessed=(target - timedelta(days=2, hours=-3 * i)
                                                     if answered else None),
                            assessor_id=TUTOR if answered else None)
    _splashkit(raw, shift)
    assert CONVENOR  # the convenor role comes with Raw()
    return raw


def _splashkit(raw: Raw, shift: timedelta) -> None:
    """Twelve installs in AS_OF's week and the two before: C++ (installs 1–9) and Python
    (10–12, withheld); 1.3.1 (1–8) and 1.4.0 (9–12, withheld); every install draws circles,
    Python ones twice, and only 1–3 fill rectangles (withheld)."""
    line = 0

    def event(day: datetime, install: int, name: str, function: str | None = None) -> None:
        nonlocal line
        line += 1
        language = "C++" if install <= 9 else "Python"
        raw.add("landing_raw.splashkit_usage", time=day + shift, install_id=f"i-{install}",
                event=name, function=function, language=language,
                os="Linux" if install % 2 else "Windows",
                splashkit_version="1.3.1" if install <= 8 else "1.4.0",
                source_file="splashkit_usage/u.jsonl", line_number=line)

    for week in range(3):
        day = AS_OF - timedelta(weeks=2 - week)
        for install in range(1, 13):
            event(day, install, "run")
            event(day, install, "function_called", "draw_circle")
            if install > 9:
                event(day, install, "function_called", "draw_circle")
            if install <= 3:
                event(day, install, "function_called", "fill_rectangle")


def attention_raw() -> Raw:
    """Unit 1 (2024 T1) and one task definition, due 2024-03-25 (its deadline 23:59:59 AoE:
    2024-03-26 11:59:59 UTC). Students (user 11+k, project 101+k):
      101 active on 2024-03-12, submitted            → inactive from 2024-03-26 (14 days)
      102 never touched the task, active 2024-03-25  → overdue after 2024-03-26 11:59:59
      103 Fix and Resubmit, 104 Redo, active on 03-25 → resubmission waiting
      105 asked for an extension on 2024-03-24, unanswered; 106 asked, answered
      107 has an extension granted (due a week later): not overdue
    """
    raw = Raw()
    raw.task_definition(1, target_date=D(2024, 3, 25), due_date=D(2024, 4, 30))
    task = 0

    def touch(pid: int, status: int, when: D, submitted: D | None = None,
              extensions: int = 0) -> int:
        nonlocal task
        task += 1
        raw.add("tasks", id=task, project_id=pid, task_definition_id=1, task_status_id=status,
                submission_date=submitted, extensions=extensions)
        raw.add("task_engagements", id=task, task_id=task, engagement_time=when,
                engagement="Working On It")
        return task

    for k in range(7):
        raw.student(11 + k, 101 + k)
    recent = D(2024, 3, 25, 9)
    touch(101, 9, D(2024, 3, 12, 10), submitted=D(2024, 3, 12, 10))
    raw.add("task_submissions", id=1, task_id=1, submission_time=D(2024, 3, 12, 10))
    raw.add("task_comments", id=90, task_id=1, user_id=1, recipient_id=11,
            comment="ok", created_at=D(2024, 3, 13), content_type="text")
    raw.add("logins", id=1, user_id=12, timestamp=recent)  # a login is no activity
    # 102: no task row; its activity is a comment on... nothing: give it another unit's-free
    # activity through a comment of its own on a second task definition it is not due.
    raw.task_definition(2, target_date=D(2024, 5, 20))
    task += 1
    raw.add("tasks", id=task, project_id=102, task_definition_id=2, task_status_id=4)
    raw.add("task_comments", id=91, task_id=task, user_id=12, recipient_id=1,
            comment="question", created_at=recent, content_type="text")
    touch(103, 5, recent, submitted=D(2024, 3, 20))
    touch(104, 7, recent, submitted=D(2024, 3, 20))
    for pid, answered in ((105, None), (106, D(2024, 3, 24, 12))):
        t = touch(pid, 4, recent)
        raw.add("task_comments", id=pid, task_id=t, user_id=11 + pid - 101, recipient_id=1,
                comment="extension please", created_at=D(2024, 3, 24, 9),
                type="ExtensionComment", content_type="extension", extension_weeks=1,
                extension_granted=answered is not None, date_extension_assessed=answered,
                assessor_id=1 if answered else None)
    touch(107, 4, recent, extensions=1)
    return raw


def build_warehouse(raw: Raw, path: Path, *, shift: timedelta = timedelta(0)) -> Path:
    """Raw rows → every load recorded (two hours before AS_OF, moved by `shift` as the rows
    are: the loads are the data's snapshot time) → transform → check (which must pass)."""
    before = os.environ.get("TRANSFORMS__PSEUDONYM_KEY")
    os.environ["TRANSFORMS__PSEUDONYM_KEY"] = PSEUDONYM_KEY
    try:
        raw.write(path)
        with duckdb.connect(str(path)) as con:
            load_state.ensure(con)
            con.execute("INSERT OR REPLACE INTO platform.load_state (source, table_name, mode, "
                        "rows_loaded, rows_deleted, rows_total, seconds, loaded_at) SELECT "
                        "replace(schema_name, '_raw', ''), table_name, 'full', 0, 0, 0, 0, "
                        "? + (row_number() OVER (ORDER BY "
                        "schema_name, table_name) * INTERVAL 1 MINUTE) FROM duckdb_tables() "
                        "WHERE schema_name LIKE '%_raw'", [AS_OF - timedelta(hours=2) + shift])
        build(path, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
        assert run_checks(path, log=print)
    finally:
        if before is None:
            os.environ.pop("TRANSFORMS__PSEUDONYM_KEY", None)
        else:
            os.environ["TRANSFORMS__PSEUDONYM_KEY"] = before
    return path
