"""One hand-built OnTrack unit pair, written into a source database of any schema generation.

Every number the generation tests assert follows from these rows by OnTrack's own rules
(doubtfire-api 10.x Task#submitted_before_due?, #local_due_date, TaskComment#read_by?):

Unit SIT101 (fixed dates; 10.x: late work is "Assess in Portfolio"), task definition TD1: target
2025-03-14 13:00 UTC, which is already the 15th in Melbourne (UTC+11); hard due date
2025-03-28 13:00 UTC (the 29th in Melbourne). Deadline days are UTC days in every generation
(upstream reads them in Time.zone, UTC; the campus's zone plays no part).
  T1 Burwood (Melbourne) submitted 03-15 13:00 UTC: late, after the UTC 14th ended AoE.
  T2 Online (no zone, UTC) submitted 03-15 13:00: late; 13 Assess in Portfolio (8.0.x: 12).
  T3 Online, 3 extensions, 3 special consideration days: 14 + 21 days = 04-04, capped at the
     hard day 28 + 3 = 03-31 (8.0.x: 03-28); submitted 03-31 20:00: on time (8.0.x: late).
     Sent back once, then 14 Attention Required (8.0.x: Fix and Resubmit again).
  T4 Burwood submitted 03-10: on time (due the 14th); Discuss, then 15 Rediscuss (8.0.x:
     Discuss twice).
TD3 (same unit, target 03-21 00:00 UTC, the 21st in Melbourne too): T10 Complete, on time;
T11 submitted 03-25, late: 13 Assess in Portfolio (8.0.x: 12).
Unit SIT202 (10.x: flexible dates), TD2: target 03-14 00:00, hard due date 03-21 00:00 UTC.
  T5 target grade 1, whose due date is 03-18 (task_definition_grade_due_dates), submitted
     03-20 12:00: on time at the hard deadline (8.0.x: late after the 14th).
  T6 chose 03-16 (tasks.target_due_date), submitted 03-22 10:00 (< 03-22 11:59:59): on time.
  T7 2 special consideration days, submitted 03-23 10:00: on time until 03-24 11:59:59.
  T9 submitted 03-22 12:00:01: late.
Comments on T1: staff C1 (read: the student's cursor reaches it), student C2, staff C3 (a stale
receipt says read; 10.x's cursor does not reach it), staff C4 with attention audience 0 (no one
must read it). Staff: a tutor, a convenor and an observer (10.x observer_only) in SIT101. And
10.x's notes, contacts and marking sessions about student 11 and by tutor 1.
"""

from __future__ import annotations

from datetime import datetime

from ontrack_helpers import connect

from thoth.demo.ontrack import create_schema
from thoth.demo.ontrack.tables import BY_NAME

STAMP = datetime(2025, 2, 1)
MIGRATION = {"10.x": "20260903040547", "8.0": "20241025050957"}
# 10.x statuses as 8.0.x would have left the same tasks.
BEFORE_10 = {13: 12, 14: 5, 15: 8}
OUTCOME_BEFORE_10 = {"Assess in Portfolio": "Time Exceeded",
                     "Attention Required": "Fix and Resubmit", "Rediscuss": "Discuss"}
STATUS_NAMES = ["Not Started", "Complete", "Need Help", "Working On It", "Fix and Resubmit",
                "Feedback Exceeded", "Redo", "Discuss", "Ready for Feedback", "Demonstrate",
                "Needs Improvement", "Time Exceeded", "Assess in Portfolio",
                "Attention Required", "Rediscuss"]


def d(*parts: int) -> datetime:
    return datetime(*parts)


def rows() -> dict[str, list[dict]]:
    """The scenario in the 10.x schema's terms."""
    td = {"start_date": d(2025, 3, 3), "target_grade": 0, "weighting": 1}
    return {
        "task_statuses": [{"id": i + 1, "name": n} for i, n in enumerate(STATUS_NAMES)],
        "roles": [{"id": 1, "name": "Student"}, {"id": 2, "name": "Tutor"},
                  {"id": 3, "name": "Convenor"}],
        "teaching_periods": [{"id": 1, "period": "T1", "year": 2025, "start_date": d(2025, 3, 3),
                              "end_date": d(2025, 6, 20), "active_until": d(2025, 7, 20)}],
        "campuses": [
            {"id": 1, "name": "Burwood", "mode": 0, "abbreviation": "B", "active": True,
             "timezone": "Australia/Melbourne"},
            {"id": 2, "name": "Online", "mode": 1, "abbreviation": "C", "active": True,
             "timezone": None},
        ],
        "units": [
            {"id": 1, "code": "SIT101", "name": "Programming", "teaching_period_id": 1,
             "start_date": d(2025, 3, 3), "end_date": d(2025, 6, 20), "active": True,
             "mark_late_submissions_as_assess_in_portfolio": True},
            {"id": 2, "code": "SIT202", "name": "Networks", "teaching_period_id": 1,
             "start_date": d(2025, 3, 3), "end_date": d(2025, 6, 20), "active": True,
             "allow_flexible_dates": True},
        ],
        "users": [{"id": i, "email": f"u{i}@example.edu", "username": f"u{i}"}
                  for i in (1, 2, 3, *range(11, 19))],
        "unit_roles": [
            {"id": 1, "user_id": 1, "role_id": 2, "unit_id": 1},
            {"id": 2, "user_id": 2, "role_id": 3, "unit_id": 1},
            {"id": 3, "user_id": 3, "role_id": 2, "unit_id": 1, "observer_only": True},
            {"id": 4, "user_id": 1, "role_id": 2, "unit_id": 2},
            {"id": 5, "user_id": 2, "role_id": 3, "unit_id": 2},
        ],
        "task_definitions": [
            {"id": 1, "unit_id": 1, "abbreviation": "1.1P", "name": "Hello",
             "target_date": d(2025, 3, 14, 13), "due_date": d(2025, 3, 28, 13), **td},
            {"id": 2, "unit_id": 2, "abbreviation": "1.1P", "name": "Sockets",
             "target_date": d(2025, 3, 14), "due_date": d(2025, 3, 21), **td},
            {"id": 3, "unit_id": 1, "abbreviation": "1.2P", "name": "Loops",
             "target_date": d(2025, 3, 21), "due_date": d(2025, 4, 4), **td},
        ],
        "task_definition_grade_due_dates": [
            {"id": 1, "task_definition_id": 2, "target_grade": 1,
             "target_due_date": d(2025, 3, 18)},
        ],
        "projects": [
            {"id": p, "unit_id": unit, "user_id": 10 + p, "campus_id": campus,
             "enrolled": True, "target_grade": grade, "spec_con_days": spec}
            for p, unit, campus, grade, spec in (
                (1, 1, 1, 0, 0), (2, 1, 2, 0, 0), (3, 1, 2, 0, 3), (4, 1, 1, 0, 0),
                (5, 2, 2, 1, 0), (6, 2, 2, 0, 0), (7, 2, 2, 0, 2), (8, 2, 2, 0, 0))
        ],
        "tasks": [
            {"id": t, "project_id": p, "task_definition_id": td_id, "task_status_id": status,
             "submission_date": sub, "extensions": ext, "target_due_date": chosen}
            for t, p, td_id, status, sub, ext, chosen in (
                (1, 1, 1, 9, d(2025, 3, 15, 13), 0, None),
                (2, 2, 1, 13, d(2025, 3, 15, 13), 0, None),
                (3, 3, 1, 14, d(2025, 3, 31, 20), 3, None),
                (4, 4, 1, 15, d(2025, 3, 10), 0, None),
                (5, 5, 2, 9, d(2025, 3, 20, 12), 0, None),
                (6, 6, 2, 9, d(2025, 3, 22, 10), 0, d(2025, 3, 16)),
                (7, 7, 2, 9, d(2025, 3, 23, 10), 0, None),
                (9, 8, 2, 9, d(2025, 3, 22, 12, 0, 1), 0, None),
                (10, 1, 3, 2, d(2025, 3, 20), 0, None),
                (11, 2, 3, 13, d(2025, 3, 25), 0, None),
            )
        ],
        "task_submissions": [
            {"id": i, "task_id": t, "submission_time": sub, "assessment_time": at,
             "outcome": outcome, "assessor_id": 1 if at else None}
            for i, (t, sub, at, outcome) in enumerate((
                (1, d(2025, 3, 15, 13), None, None),
                (2, d(2025, 3, 15, 13), d(2025, 3, 15, 13), "Assess in Portfolio"),
                (3, d(2025, 3, 20), d(2025, 3, 21), "Fix and Resubmit"),
                (3, d(2025, 3, 31, 20), d(2025, 4, 2), "Attention Required"),
                (4, d(2025, 3, 10), d(2025, 3, 12), "Discuss"),
                (4, d(2025, 3, 13), d(2025, 3, 14), "Rediscuss"),
            ), start=1)
        ],
        "task_comments": [
            {"id": c, "task_id": 1, "user_id": author, "recipient_id": recipient,
             "created_at": at, "comment": "hand-built", "content_type": "text",
             "attention_audience": audience}
            for c, author, recipient, at, audience in (
                (1, 1, 11, d(2025, 3, 16, 10), 1),
                (2, 11, 1, d(2025, 3, 16, 11), 2),
                (3, 1, 11, d(2025, 3, 17, 10), 1),
                (4, 1, 11, d(2025, 3, 17, 11), 0),
            )
        ],
        "comments_read_receipts": [
            {"id": 1, "task_comment_id": 1, "user_id": 11, "created_at": d(2025, 3, 16, 12)},
            {"id": 2, "task_comment_id": 3, "user_id": 11, "created_at": d(2025, 3, 18, 10)},
        ],
        "comment_read_cursors": [
            {"id": 1, "task_id": 1, "user_id": 11, "last_read_comment_id": 2,
             "read_at": d(2025, 3, 16, 12)},
            {"id": 2, "task_id": 1, "user_id": 1, "last_read_comment_id": 4,
             "read_at": d(2025, 3, 17, 11)},
        ],
        # 10.x's personal data about student 11 (project 1) and tutor 1, for erasure.
        "staff_notes": [{"id": 1, "project_id": 1, "user_id": 1, "note": "hand-built note"}],
        "engagements": [{"id": 1, "project_id": 1, "user_id": 1, "engagement_type": "email",
                         "note": "hand-built contact", "occurred_at": d(2025, 3, 18)}],
        "engagement_comments": [{"id": 1, "engagement_id": 1, "user_id": 2,
                                 "comment": "hand-built reply"}],
        "marking_sessions": [{"id": 1, "user_id": 1, "unit_id": 1, "ip_address": "192.0.2.7",
                              "start_time": d(2025, 3, 16, 9), "end_time": d(2025, 3, 16, 10)}],
        "session_activities": [{"id": 1, "marking_session_id": 1, "action": "assess",
                                "project_id": 4, "task_id": 4, "task_definition_id": 1}],
    }


def for_variant(variant: str, scenario: dict[str, list[dict]] | None = None
                ) -> dict[str, list[dict]]:
    """The scenario (this module's, or another in the 10.x schema's terms) as `variant`'s schema
    holds it: its tables and columns only, and before 10.x the statuses 8.0.x would have given
    the same tasks."""
    out = {}
    for table, items in (rows() if scenario is None else scenario).items():
        if table not in BY_NAME or not BY_NAME[table].in_variant(variant):
            continue
        names = {"id", *(c.name for c in BY_NAME[table].columns_for(variant))}
        kept = []
        for row in items:
            row = {k: v for k, v in row.items() if k in names}
            if variant != "10.x":
                if "task_status_id" in row:
                    row["task_status_id"] = BEFORE_10.get(row["task_status_id"],
                                                          row["task_status_id"])
                if row.get("outcome") in OUTCOME_BEFORE_10:
                    row["outcome"] = OUTCOME_BEFORE_10[row["outcome"]]
            if table == "task_statuses" and variant != "10.x" and row["id"] > 12:
                continue
            kept.append(row)
        out[table] = kept
    return out


def _complete(table: str, row: dict, variant: str) -> dict:
    """Fill NOT NULL columns without a default, as Rails would have written them."""
    out = dict(row)
    for col in BY_NAME[table].columns_for(variant):
        if col.name in out or not col.not_null or col.default is not None:
            continue
        if col.type == "datetime":
            out[col.name] = STAMP
        elif col.name == "number_of_days":
            out[col.name] = 7
        else:
            raise KeyError(f"{table}.{col.name} needs a value")
    return out


def load(url: str, variant: str, scenario: dict[str, list[dict]] | None = None) -> None:
    """Replace the OnTrack tables at `url` with the scenario (this module's unless given), and
    Rails' schema_migrations."""
    create_schema(url, variant=variant)
    con = connect(url)
    try:
        cur = con.cursor()
        cur.execute("DROP TABLE IF EXISTS schema_migrations")
        cur.execute("CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY)")
        cur.execute("INSERT INTO schema_migrations VALUES ('20210910074614'), (%s)",
                    (MIGRATION[variant],))
        for table, items in for_variant(variant, scenario).items():
            for row in (_complete(table, r, variant) for r in items):
                names = ", ".join(row)
                marks = ", ".join(["%s"] * len(row))
                cur.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
    finally:
        con.close()
