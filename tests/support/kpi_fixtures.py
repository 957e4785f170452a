"""Hand-built raw tables for the KPI tests: small, every number known in advance.

`Raw` starts with one unit (SIT101, 2024 T1), its staff and the twelve task statuses; a test
adds the rows its case needs, then `build()` writes the warehouse and runs the transforms. Each
table given rows is recorded as loaded (platform.load_state) at `loaded_at`, the data's snapshot
time: the moment the warehouse is written unless a test says when.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.landing import settings as landing
from thoth.core.duck import utc_now
from thoth.core.platform import load_state
from transforms.build import build

PSEUDONYM_KEY = "test-pseudonym-key"

# Only the columns the staging models read (plus PII columns, to prove they never reach marts).
RAW_COLUMNS = {
    "ontrack_raw.teaching_periods": "id BIGINT, period VARCHAR, year INTEGER, "
    "start_date TIMESTAMP, end_date TIMESTAMP",
    "ontrack_raw.units": "id BIGINT, code VARCHAR, name VARCHAR, teaching_period_id BIGINT, "
    "main_convenor_id BIGINT, active BOOLEAN, start_date TIMESTAMP, end_date TIMESTAMP, "
    "allow_student_extension_requests BOOLEAN",
    "ontrack_raw.users": "id BIGINT, email VARCHAR, first_name VARCHAR, last_name VARCHAR, "
    "username VARCHAR, student_id VARCHAR",
    "ontrack_raw.projects": "id BIGINT, unit_id BIGINT, user_id BIGINT, campus_id BIGINT, "
    "enrolled BOOLEAN, target_grade INTEGER, grade INTEGER, submitted_grade INTEGER, "
    "compile_portfolio BOOLEAN, portfolio_production_date DATE, created_at TIMESTAMP, "
    "updated_at TIMESTAMP",
    "ontrack_raw.task_definitions": "id BIGINT, unit_id BIGINT, abbreviation VARCHAR, "
    "name VARCHAR, target_grade INTEGER, start_date TIMESTAMP, target_date TIMESTAMP, "
    "due_date TIMESTAMP, tutorial_stream_id BIGINT, is_graded BOOLEAN, max_quality_pts INTEGER",
    "ontrack_raw.task_statuses": "id BIGINT, name VARCHAR",
    "ontrack_raw.tasks": "id BIGINT, project_id BIGINT, task_definition_id BIGINT, "
    "task_status_id BIGINT, submission_date TIMESTAMP, assessment_date TIMESTAMP, "
    "completion_date DATE, extensions INTEGER, times_assessed INTEGER, created_at TIMESTAMP, "
    "updated_at TIMESTAMP",
    "ontrack_raw.task_submissions": "id BIGINT, task_id BIGINT, submission_time TIMESTAMP, "
    "assessment_time TIMESTAMP, assessor_id BIGINT, outcome VARCHAR",
    "ontrack_raw.task_engagements": "id BIGINT, task_id BIGINT, engagement_time TIMESTAMP, "
    "engagement VARCHAR",
    "ontrack_raw.task_comments": "id BIGINT, task_id BIGINT, user_id BIGINT, "
    "recipient_id BIGINT, comment VARCHAR, created_at TIMESTAMP, type VARCHAR, "
    "content_type VARCHAR, reply_to_id BIGINT, extension_weeks INTEGER, "
    "extension_granted BOOLEAN, date_extension_assessed TIMESTAMP, assessor_id BIGINT",
    "ontrack_raw.comments_read_receipts": "id BIGINT, task_comment_id BIGINT, user_id BIGINT, "
    "created_at TIMESTAMP",
    "ontrack_raw.unit_roles": "id BIGINT, unit_id BIGINT, user_id BIGINT, role_id BIGINT",
    "ontrack_raw.campuses": "id BIGINT, name VARCHAR, abbreviation VARCHAR, active BOOLEAN",
    "ontrack_raw.tutorials": "id BIGINT, unit_id BIGINT, unit_role_id BIGINT, "
    "tutorial_stream_id BIGINT, campus_id BIGINT, capacity INTEGER",
    "ontrack_raw.tutorial_enrolments": "id BIGINT, project_id BIGINT, tutorial_id BIGINT",
    "ontrack_raw.logins": "id BIGINT, user_id BIGINT, timestamp TIMESTAMP, "
    "created_at TIMESTAMP",
    "ga4_raw.traffic": "property_id VARCHAR, date DATE, device_category VARCHAR, "
    "country VARCHAR, active_users BIGINT, new_users BIGINT, sessions BIGINT, "
    "engaged_sessions BIGINT, user_engagement_duration DOUBLE, screen_page_views BIGINT",
    "ga4_raw.pages": "property_id VARCHAR, date DATE, page_path VARCHAR, page_title VARCHAR, "
    "screen_page_views BIGINT, active_users BIGINT, user_engagement_duration DOUBLE",
    "ga4_raw.events": "property_id VARCHAR, date DATE, event_name VARCHAR, "
    "event_count BIGINT, active_users BIGINT",
    # The landing feeds, as the loader creates them.
    **{f"{landing.DATASET}.{f.name}": f"{f.columns}, {landing.SOURCE_COLUMNS}"
       for f in landing.FEEDS.values()},
    f"{landing.DATASET}.{landing.POINTS}": f"{landing.SAMPLE_COLUMNS}, {landing.SOURCE_COLUMNS}",
}

STATUSES = ["Not Started", "Complete", "Need Help", "Working On It", "Fix and Resubmit",
            "Feedback Exceeded", "Redo", "Discuss", "Ready for Feedback", "Demonstrate",
            "Needs Improvement", "Time Exceeded"]

# Users: 1–2 staff (tutor 1, convenor 2), 11+ students.
TUTOR, CONVENOR = 1, 2


def user_key(user_id: int) -> str:
    return hmac.new(PSEUDONYM_KEY.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


@dataclass
class Raw:
    rows: dict[str, list[dict]] = field(default_factory=dict)
    loaded_at: datetime | None = None  # when its tables were loaded; None: when written

    def __post_init__(self) -> None:
        self.add("teaching_periods", id=1, period="T1", year=2024,
                 start_date=datetime(2024, 3, 4), end_date=datetime(2024, 6, 21))
        self.add("units", id=1, code="SIT101", name="Introduction to Programming",
                 teaching_period_id=1, main_convenor_id=2, active=True,
                 start_date=datetime(2024, 3, 4), end_date=datetime(2024, 6, 21))
        self.add("users", id=TUTOR, email="tess.tutor@uni.example", first_name="Tess",
                 last_name="Tutor", username="ttutor")
        self.add("users", id=CONVENOR, email="carl.convenor@uni.example", first_name="Carl",
                 last_name="Convenor", username="cconvenor")
        self.add("unit_roles", id=1, unit_id=1, user_id=TUTOR, role_id=2)
        self.add("unit_roles", id=2, unit_id=1, user_id=CONVENOR, role_id=3)
        self.add("tutorials", id=1, unit_id=1, unit_role_id=1, capacity=25)
        for i, name in enumerate(STATUSES, start=1):
            self.add("task_statuses", id=i, name=name)

    def add(self, table: str, **row: object) -> Raw:
        name = table if "." in table else f"ontrack_raw.{table}"
        self.rows.setdefault(name, []).append(row)
        return self

    def student(self, user_id: int, project_id: int, *, enrolled: bool = True,
                target_grade: int = 0, grade: int = 0, tutorial: int | None = 1) -> Raw:
        self.add("users", id=user_id, email=f"student{user_id}@student.uni.example",
                 first_name=f"Stu{user_id}", last_name="Dent", username=f"s{user_id}",
                 student_id=f"22{user_id:07d}")
        self.add("projects", id=project_id, unit_id=1, user_id=user_id, enrolled=enrolled,
                 target_grade=target_grade, grade=grade)
        if tutorial:
            self.add("tutorial_enrolments", id=project_id, project_id=project_id,
                     tutorial_id=tutorial)
        return self

    def task_definition(self, id: int, *, target_date: datetime, due_date: datetime | None = None,
                        target_grade: int = 0, start_date: datetime = datetime(2024, 3, 4),
                        abbreviation: str | None = None, no_due_date: bool = False) -> Raw:
        """`due_date` defaults to the target date; `no_due_date`: NULL, as OnTrack allows (its
        TaskDefinition#due_date is then the unit's end date)."""
        return self.add("task_definitions", id=id, unit_id=1, abbreviation=abbreviation or f"T{id}",
                        name=f"Task {id}", target_grade=target_grade, start_date=start_date,
                        target_date=target_date,
                        due_date=None if no_due_date else (due_date or target_date))

    def write(self, warehouse: Path) -> None:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS ontrack_raw")
            con.execute("CREATE SCHEMA IF NOT EXISTS ga4_raw")
            con.execute("CREATE SCHEMA IF NOT EXISTS landing_raw")
            for table, columns in RAW_COLUMNS.items():
                con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
                for row in self.rows.get(table, []):
                    cols = ", ".join(f'"{c}"' for c in row)
                    marks = ", ".join("?" for _ in row)
                    con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                list(row.values()))
            load_state.ensure(con)
            loaded = [(t.split(".")[0].removesuffix("_raw"), t.split(".")[1], len(r))
                      for t, r in self.rows.items() if r]
            con.executemany("INSERT OR REPLACE INTO platform.load_state (source, table_name, mode, "
                            "rows_loaded, rows_deleted, rows_total, seconds, loaded_at) "
                            "VALUES (?, ?, 'full', ?, 0, ?, 0, ?)",
                            [[s, t, n, n, self.loaded_at or utc_now()] for s, t, n in loaded])


def build_kpis(raw: Raw, warehouse: Path, monkeypatch) -> duckdb.DuckDBPyConnection:
    """Write the raw tables, build every model, and return a read-only connection."""
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    raw.write(warehouse)
    build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
    return duckdb.connect(str(warehouse), read_only=True)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


__all__ = ["Raw", "build_kpis", "rows", "user_key", "TUTOR", "CONVENOR", "date", "datetime"]
