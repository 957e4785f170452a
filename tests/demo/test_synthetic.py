"""The synthetic OnTrack generator against the real PostgreSQL and MariaDB servers.

Each test gets a fresh database from conftest's `pg_url` / `mysql_url` / `source_url` fixtures
(the last runs the test on both engines).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from thoth.demo.ontrack import create_schema, generate
from thoth.demo.ontrack.db import connect, parse_url
from thoth.demo.ontrack.ddl import schema_sql
from thoth.demo.ontrack.tables import TABLES, tables_for

SCALE = 0.001
NOW = "2025-09-15 09:00:00"
EVENT_COLUMNS = {"created_at", "updated_at", "submission_date", "assessment_date",
                 "submission_time", "assessment_time", "engagement_time", "timestamp",
                 "attempted_time", "current_sign_in_at", "date_extension_assessed", "complete_at"}
NULLABLE_TIMESTAMPS = ("group_memberships", "group_sets", "group_submissions", "groups",
                       "learning_outcome_task_links", "task_similarities")
# Relations the KPI layer relies on; each query counts violations.
VIOLATIONS = {
    "task without project": "SELECT count(*) FROM tasks t LEFT JOIN projects p "
                            "ON p.id = t.project_id WHERE p.id IS NULL",
    "task without definition": "SELECT count(*) FROM tasks t LEFT JOIN task_definitions d "
                               "ON d.id = t.task_definition_id WHERE d.id IS NULL",
    "task above target grade or in another unit":
        "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id "
        "JOIN task_definitions d ON d.id = t.task_definition_id "
        "WHERE d.target_grade > p.target_grade OR d.unit_id <> p.unit_id",
    "duplicate (project, task definition)":
        "SELECT count(*) FROM (SELECT project_id, task_definition_id FROM tasks "
        "GROUP BY project_id, task_definition_id HAVING count(*) > 1) x",
    "assessed before submitted": "SELECT count(*) FROM task_submissions "
                                 "WHERE assessment_time < submission_time",
    "project of a non-student": "SELECT count(*) FROM projects p JOIN users u "
                                "ON u.id = p.user_id WHERE u.role_id <> 1",
    "project of an unknown user": "SELECT count(*) FROM projects p LEFT JOIN users u "
                                  "ON u.id = p.user_id WHERE u.id IS NULL",
    "tutorial not led by a tutor of its unit":
        "SELECT count(*) FROM tutorials t LEFT JOIN unit_roles r ON r.id = t.unit_role_id "
        "WHERE r.id IS NULL OR r.role_id <> 2 OR r.unit_id <> t.unit_id",
    "main convenor not a convenor role of the unit":
        "SELECT count(*) FROM units u LEFT JOIN unit_roles r ON r.id = u.main_convenor_id "
        "WHERE r.id IS NULL OR r.role_id <> 3 OR r.unit_id <> u.id",
    "enrolment in another unit's tutorial":
        "SELECT count(*) FROM tutorial_enrolments e JOIN projects p ON p.id = e.project_id "
        "JOIN tutorials t ON t.id = e.tutorial_id WHERE t.unit_id <> p.unit_id",
    "assessor not staff": "SELECT count(*) FROM task_submissions s JOIN users u "
                          "ON u.id = s.assessor_id WHERE u.role_id NOT IN (2, 3)",
    "comment on a missing task": "SELECT count(*) FROM task_comments c LEFT JOIN tasks t "
                                 "ON t.id = c.task_id WHERE t.id IS NULL",
    "receipt for a missing comment":
        "SELECT count(*) FROM comments_read_receipts r LEFT JOIN task_comments c "
        "ON c.id = r.task_comment_id WHERE c.id IS NULL",
    "reply to another task's or a later comment":
        "SELECT count(*) FROM task_comments c JOIN task_comments r ON r.id = c.reply_to_id "
        "WHERE r.task_id <> c.task_id OR r.created_at > c.created_at",
    "tasks.submission_date is not the last submission":
        "SELECT count(*) FROM tasks t LEFT JOIN (SELECT task_id, max(submission_time) AS last "
        "FROM task_submissions GROUP BY task_id) s ON s.task_id = t.id "
        "WHERE t.submission_date IS NOT NULL AND (s.last IS NULL OR s.last <> t.submission_date)",
}


def query(url: str, sql: str) -> list[tuple]:
    conn = connect(parse_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def scalar(url: str, sql: str):
    return query(url, sql)[0][0]


def table_columns(url: str) -> dict[str, set[str]]:
    schema = "'public'" if url.startswith("postgresql") else "DATABASE()"
    columns: dict[str, set[str]] = {}
    for table, column in query(url, "SELECT table_name, column_name FROM "
                                    f"information_schema.columns WHERE table_schema = {schema}"):
        columns.setdefault(table, set()).add(column)
    return columns


def _norm(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def checksum(url: str, tables=("users", "projects", "tasks", "task_submissions",
                               "task_comments", "comments_read_receipts")) -> str:
    digest = hashlib.sha256()
    for table in tables:
        for row in query(url, f"SELECT * FROM {table} ORDER BY id"):
            digest.update(repr(tuple(map(_norm, row))).encode())
    return digest.hexdigest()


def test_bad_arguments_fail_before_any_io():
    with pytest.raises(ValueError, match="unsupported database URL scheme 'sqlite'"):
        generate("sqlite:///ontrack.db")
    with pytest.raises(ValueError, match="unknown OnTrack schema variant"):
        create_schema("postgresql://postgres@127.0.0.1:1/none", variant="7.0")
    with pytest.raises(ValueError, match="scale must be positive"):
        generate("postgresql://postgres@127.0.0.1:1/none", scale=0)


def test_both_engines_ddl_come_from_one_description():
    assert len(tables_for("8.0")) == 38 and len(tables_for("2024-01")) == 37
    pg, my = schema_sql("postgresql", "8.0"), schema_sql("mysql", "8.0")
    assert len(pg) == len(my) == 38 + sum(len(t.unique_for("8.0")) for t in tables_for("8.0"))
    tasks_pg = next(s for s in pg if s.startswith('CREATE TABLE "tasks"'))
    tasks_my = next(s for s in my if s.startswith("CREATE TABLE `tasks`"))
    assert '"created_at" timestamp(6) without time zone NOT NULL' in tasks_pg
    assert "`created_at` datetime(6) NOT NULL" in tasks_my
    assert '"include_in_portfolio" boolean DEFAULT true' in tasks_pg
    assert "`include_in_portfolio` tinyint(1) DEFAULT 1" in tasks_my
    assert "id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY" in tasks_my
    assert "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" in tasks_my
    old = {t.name: {c.name for c in t.columns_for("2024-01")} for t in TABLES}
    assert "overseer_assessment_id" in old["task_comments"]
    assert "commentable_id" not in old["task_comments"]
    assert "archived" not in old["units"] and "scorm_extensions" not in old["tasks"]


def test_create_schema_replaces_tables_of_the_other_variant(source_url):
    create_schema(source_url, variant="8.0")
    create_schema(source_url, variant="2024-01")
    columns = table_columns(source_url)
    assert sorted(columns) == sorted(t.name for t in tables_for("2024-01"))
    assert scalar(source_url, "SELECT count(*) FROM tasks") == 0


def test_same_seed_gives_identical_data_and_another_seed_does_not(source_url):
    first = generate(source_url, scale=SCALE, seed=5)
    digest = checksum(source_url)
    assert generate(source_url, scale=SCALE, seed=5) == first  # also drops and recreates
    assert checksum(source_url) == digest
    generate(source_url, scale=SCALE, seed=6)
    assert checksum(source_url) != digest


def test_now_moves_every_time_by_whole_days_and_keeps_the_rows(pg_url):
    """generate(now=...) ends the data at `now` (the demo's clock): the same rows, every time
    moved by the whole days from the reference instant, the trimester around `now` running."""
    first = "SELECT min(t.created_at), max(t.updated_at), max(s.submission_time) FROM tasks t " \
            "JOIN task_submissions s ON s.task_id = t.id"
    reference = generate(pg_url, scale=SCALE, seed=5)
    before = query(pg_url, first)[0]
    periods = query(pg_url, "SELECT period, year FROM teaching_periods ORDER BY id")
    now = datetime(2026, 12, 5, 18, 40, tzinfo=UTC)  # 446 days and 9 h 40 min after NOW
    assert generate(pg_url, scale=SCALE, seed=5, now=now) == reference
    after = query(pg_url, first)[0]
    assert after == tuple(t + timedelta(days=446) for t in before)
    assert now - timedelta(days=1) < max(after[1:]).replace(tzinfo=UTC) <= now
    # The labels follow: a year on, 2025 T2 is 2026 T2, and it is the one running at `now`.
    assert query(pg_url, "SELECT period, year FROM teaching_periods ORDER BY id") == [
        (p, y + 1) for p, y in periods]
    naive = now.replace(tzinfo=None)
    assert query(pg_url, "SELECT period, year FROM teaching_periods WHERE start_date <= "
                         f"'{naive}' AND end_date >= '{naive}'") == [("T2", 2026)]
    assert scalar(pg_url, "SELECT count(*) FROM units WHERE description LIKE '%T2 2026'") > 0


def test_now_without_a_zone_is_refused(pg_url):
    with pytest.raises(ValueError, match="time zone"):
        generate(pg_url, scale=SCALE, now=datetime(2026, 12, 5))


def test_both_engines_hold_the_same_rows(pg_url, mysql_url):
    assert generate(pg_url, scale=SCALE, seed=11) == generate(mysql_url, scale=SCALE, seed=11)
    assert checksum(pg_url) == checksum(mysql_url)


@pytest.mark.parametrize("variant", ["8.0", "2024-01"])
def test_schema_counts_and_relations(source_url, variant):
    counts = generate(source_url, scale=SCALE, seed=3, variant=variant)
    expected = {t.name: {"id"} | {c.name for c in t.columns_for(variant)}
                for t in tables_for(variant)}
    assert table_columns(source_url) == expected
    assert sorted(counts) == sorted(expected)
    for table, n in counts.items():
        assert n > 0, f"{table} is empty"
        assert scalar(source_url, f"SELECT count(*) FROM {table}") == n, table
    for name, sql in VIOLATIONS.items():
        assert scalar(source_url, sql) == 0, name

    for table, columns in expected.items():
        if {"created_at", "updated_at"} <= columns:
            late = f"SELECT count(*) FROM {table} WHERE created_at > updated_at"
            assert scalar(source_url, late) == 0, table
    for table in NULLABLE_TIMESTAMPS:
        nulls, total = query(source_url, "SELECT sum(CASE WHEN updated_at IS NULL THEN 1 "
                                         f"ELSE 0 END), count(*) FROM {table}")[0]
        assert 0 < nulls < total or total == 1, table

    # Nothing has happened after the generator's fixed "now" (deadlines and expiries may).
    for table, columns in expected.items():
        events = sorted(columns & EVENT_COLUMNS)
        if events:
            q = '"' if source_url.startswith("postgresql") else "`"
            sql = f"SELECT count(*) FROM {table} WHERE " + " OR ".join(
                f"{q}{c}{q} > '{NOW}'" for c in events)
            assert scalar(source_url, sql) == 0, table
    engagements = {r[0] for r in query(source_url, "SELECT engagement FROM task_engagements")}
    assert {"Do Not Resubmit", "Fail", "Needs Improvement", "Ready for Feedback"} <= engagements
    pending = scalar(source_url, "SELECT count(*) FROM task_comments WHERE type = "
                                 "'ExtensionComment' AND date_extension_assessed IS NULL")
    assert pending > 0
    assert scalar(source_url, "SELECT count(*) FROM task_submissions "
                              "WHERE assessment_time IS NULL") > 0
    assert scalar(source_url, "SELECT count(*) FROM projects WHERE enrolled = "
                              f"{'false' if source_url.startswith('postgresql') else 0}") > 0
    linked = "commentable_id" if variant == "8.0" else "overseer_assessment_id"
    assert scalar(source_url, f"SELECT count(*) FROM task_comments WHERE {linked} "
                              "IS NOT NULL") > 0
    if variant == "8.0":
        cmi = scalar(source_url, "SELECT cmi_datamodel FROM test_attempts ORDER BY id LIMIT 1")
        assert '"cmi.learner_name":"' in cmi and '"cmi.learner_id":"2' in cmi

    # Explicit ids must not break later inserts (PostgreSQL identities were reset).
    conn = connect(parse_url(source_url))
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO roles (name, created_at, updated_at) "
                        "VALUES ('Observer', '2025-09-16', '2025-09-16')")
        conn.commit()
    finally:
        conn.close()
    assert scalar(source_url, "SELECT id FROM roles WHERE name = 'Observer'") == 6


def test_mariadb_without_local_infile_falls_back_to_inserts(mysql_url, monkeypatch):
    import thoth.demo.ontrack.db as db

    counts = generate(mysql_url, scale=SCALE, seed=9)
    digest = checksum(mysql_url)
    real_connect = db.pymysql.connect

    def connect_without_local_files(*args, **kwargs):
        return real_connect(*args, **{**kwargs, "local_infile": False})

    monkeypatch.setattr(db.pymysql, "connect", connect_without_local_files)
    assert generate(mysql_url, scale=SCALE, seed=9) == counts
    assert checksum(mysql_url) == digest
