"""OnTrack's schema generations (2024-01, 8.0.x, 10.x): detected from the source's catalog, shown
by `thoth status`, and each KPI computed by that generation's own rule, on both engines.

The hand-built scenario and the number each rule gives are in ontrack_generations_fixtures.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from ontrack_generations_fixtures import load
from ontrack_helpers import execute, thoth

from pipelines.ontrack.generation import detect, version_text, warnings
from thoth.core.errors import ThothError
from thoth.demo.ontrack import generate
from thoth.demo.ontrack.tables import tables_for
from thoth.faces.docs import collect
from transforms.build import build
from transforms.project import Model, discover, may_lack, resolved_sql

KEY = "generations-test-pseudonym-key"
DUCK = {"string": "VARCHAR", "text": "VARCHAR", "integer": "INTEGER", "bigint": "BIGINT",
        "boolean": "BOOLEAN", "datetime": "TIMESTAMP", "date": "DATE", "decimal": "DECIMAL(10,0)",
        "float": "DOUBLE"}
GENERATION = {"2024-01": "2024-01", "8.0": "8.0.x", "10.x": "10.x"}


def _catalog(variant: str) -> dict[str, set[str]]:
    return {t.name: {"id", *(c.name for c in t.columns_for(variant))} for t in tables_for(variant)}


# --- detection -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["2024-01", "8.0", "10.x"])
def test_each_generation_is_told_apart_by_its_catalog(variant):
    found = detect(_catalog(variant), version_text("20260903040547"))
    assert found.name == GENERATION[variant]
    assert found.schema_version == "2026_09_03_040547"
    assert warnings(found) == [] or variant != "10.x"


def test_an_unknown_schema_or_a_newer_migration_is_said_not_guessed():
    unknown = detect({"tasks": {"id"}}, None)
    assert unknown.name == "unknown"
    assert "the KPIs apply the 8.0.x rules" in warnings(unknown)[0]
    newer = detect(_catalog("10.x"), version_text("20270101000000"))
    assert newer.name == "10.x"
    assert warnings(newer) == [
        "ontrack: schema_migrations 2027_01_01_000000 is newer than the newest 10.x schema this "
        "platform was checked against (2026_09_03_040547): the KPIs apply the 10.x rules; see "
        "'OnTrack versions' in docs/sources/ontrack.md"]


@pytest.mark.parametrize("variant", ["2024-01", "8.0", "10.x"])
def test_every_generation_builds_and_the_models_detect_it_as_the_loader_does(variant, tmp_path,
                                                                            monkeypatch):
    """Every table of the generation, empty: all models build, and the staging model reads the
    same generation off the warehouse as the loader reads off the source."""
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA ontrack_raw")
        for table in tables_for(variant):
            cols = ", ".join(['"id" BIGINT', *(f'"{c.name}" {DUCK[c.type]}'
                                                for c in table.columns_for(variant))])
            con.execute(f'CREATE TABLE ontrack_raw."{table.name}" ({cols})')
    build(warehouse, pseudonym_key=KEY.encode(), log=lambda _: None,
          absent_sources=frozenset({"ga4_raw", "landing_raw"}))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("SELECT generation FROM staging.stg_ontrack__generation").fetchall() == [
            (detect(_catalog(variant)).name,)]
        assert con.sql("SELECT count(*) FROM marts.kpi_on_time").fetchall() == [(0,)]


def test_what_a_generation_lacks_reads_as_typed_nulls_and_a_wrong_declaration_is_named(
        tmp_path):
    sql = "SELECT p.id, p.spec_con_days FROM ontrack_raw.projects AS p"
    model = Model("staging", "x", tmp_path / "x.sql", {"ontrack_raw.projects"}, sql=sql,
                  meta={"source_may_lack": {"ontrack_raw.projects": {"spec_con_days": "INTEGER"}}})
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA ontrack_raw; CREATE TABLE ontrack_raw.projects (id BIGINT); "
                    "INSERT INTO ontrack_raw.projects VALUES (7)")
        old = con.sql(resolved_sql(model, {"ontrack_raw.projects": {"id"}}))
        assert old.fetchall() == [(7, None)] and old.types[1] == "INTEGER"
        con.execute("ALTER TABLE ontrack_raw.projects ADD COLUMN spec_con_days INTEGER DEFAULT 3")
        new = resolved_sql(model, {"ontrack_raw.projects": {"id", "spec_con_days"}})
        assert new == sql and con.sql(new).fetchall() == [(7, 3)]
    model.meta = {"source_may_lack": {"ontrack_raw.tasks": {"a": "INTEGER"}}}
    with pytest.raises(ThothError, match=r"x\.yml: source_may_lack names ontrack_raw\.tasks, "
                                         "which the model does not read"):
        may_lack(model)
    model.meta = {"source_may_be_absent": ["ontrack_raw.projects"]}
    with pytest.raises(ThothError, match="list the columns the model reads of it"):
        may_lack(model)


# --- the hand-built scenario on both engines ---------------------------------------------------

def _load_and_build(source_url: str, variant: str, tmp_path: Path, monkeypatch, capsys) -> Path:
    load(source_url, variant)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    code, out, err = thoth(monkeypatch, capsys, source_url, warehouse, "extract", "ontrack")
    assert code == 0, err
    schema = "10.x (table comment_read_cursors" if variant == "10.x" else "8.0.x (column"
    assert f"ontrack: OnTrack schema {schema}" in out
    code, _, err = thoth(monkeypatch, capsys, None, warehouse, "transform")
    assert code == 0, err
    return warehouse


def _sql(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


TEN_X_DEADLINES = {  # task: (due day, on time), as the 10.x rules give them
    1: (date(2025, 3, 14), False), 2: (date(2025, 3, 14), False),
    3: (date(2025, 3, 31), True), 4: (date(2025, 3, 14), True),
    5: (date(2025, 3, 18), True), 6: (date(2025, 3, 16), True),
    7: (date(2025, 3, 14), True), 9: (date(2025, 3, 14), False),
    10: (date(2025, 3, 21), True), 11: (date(2025, 3, 21), False)}


def test_10x_kpis_follow_10x_rules(source_url, tmp_path, monkeypatch, capsys):
    warehouse = _load_and_build(source_url, "10.x", tmp_path, monkeypatch, capsys)

    code, out, _ = thoth(monkeypatch, capsys, None, warehouse, "status")
    assert code == 0
    assert ("ontrack schema: 10.x (table comment_read_cursors, schema_migrations "
            "2026_09_03_040547)") in out.splitlines()
    assert _sql(warehouse, "SELECT generation FROM staging.stg_ontrack__generation") == [
        ("10.x",)]

    # Deadlines: UTC days whatever the campus's zone (T1 in Melbourne is late like T2 without
    # one); special consideration stretches the cap; flexible dates show the chosen or the
    # grade's due day and judge lateness at the hard deadline (+ special consideration).
    deadlines = dict((t, (due, on_time)) for t, due, on_time in _sql(
        warehouse, "SELECT task_id, due_day, submitted_on_time FROM "
                   "intermediate.int_task_deadlines"))
    assert deadlines == TEN_X_DEADLINES
    assert _sql(warehouse, "SELECT task_definition_id, on_time, late FROM marts.kpi_on_time "
                           "ORDER BY 1") == [(1, 2, 2), (2, 3, 1), (3, 1, 1)]

    # 13 Assess in Portfolio and 15 Rediscuss are not Complete; 14 Attention Required and
    # 15 Rediscuss are assessed but not sent back for resubmission.
    assert _sql(warehouse, "SELECT task_definition_id, expected, completed "
                           "FROM marts.kpi_task_completion ORDER BY 1") == [
        (1, 4, 0), (2, 4, 0), (3, 4, 1)]
    assert _sql(warehouse, "SELECT submissions, assessed, sent_back FROM marts.kpi_resubmission "
                           "WHERE task_definition_id = 1") == [(6, 5, 1)]

    # Read as the cursor says (C1, not C3 whatever its stale receipt says); C4 asks no one.
    assert _sql(warehouse, "SELECT staff_comments, read_comments, median_hours_to_read "
                           "FROM marts.kpi_feedback_read") == [(2, 1, 2.0)]

    # The observer is neither a tutor nor a convenor.
    assert _sql(warehouse, "SELECT unit_code, tutors, convenors FROM marts.kpi_enrolment "
                           "ORDER BY 1") == [("SIT101", 1, 1), ("SIT202", 1, 1)]

    code, out, err = thoth(monkeypatch, capsys, None, warehouse, "check")
    assert code == 0, out + err  # every data test and KPI identity holds


# Campus zones as OnTrack stores them (a Rails name or an IANA identifier), a unit's own grades,
# the restructured learning outcomes: the 10.x scenario, changed in the source before it loads.
OWN_GRADES = ('[{"id": "fail", "value": -1, "label": "Fail", "abbreviation": "F"}, '
              '{"id": "sat", "value": 0, "label": " Satisfactory ", "abbreviation": "s"}, '
              '{"id": "merit", "value": 1, "label": "Merit", "abbreviation": "m"}]')


def test_10x_rails_zone_names_unknown_zones_and_a_units_own_grades(source_url, tmp_path,
                                                                   monkeypatch, capsys):
    load(source_url, "10.x")
    stamp = "2025-02-01 00:00:00"
    execute(source_url,
            # Burwood as Rails' own name for the same zone; Online blank (no zone, no warning).
            "UPDATE campuses SET timezone = 'Melbourne' WHERE id = 1",
            "UPDATE campuses SET timezone = '' WHERE id = 2",
            "INSERT INTO campuses (id, name, mode, abbreviation, active, timezone, created_at, "
            f"updated_at) VALUES (3, 'Olympus', 0, 'O', TRUE, 'Mars/Olympus_Mons', '{stamp}', "
            f"'{stamp}')",
            # SIT202 defines its own grades (Unit#grade_definitions=, Fail at -1); SIT101 bare
            # values (Unit#normalize_grade_definitions: 0-3 take the defaults, 4 is "Grade 4").
            f"UPDATE units SET grade_values = '{OWN_GRADES}' WHERE id = 2",
            "UPDATE units SET grade_values = '[0, 1, 2, 3, 4]' WHERE id = 1",
            # 10.x outcomes: polymorphic (a unit's, a task definition's), linked to each other.
            "INSERT INTO learning_outcomes (id, short_description, abbreviation, context_id, "
            f"context_type, created_at, updated_at) VALUES (1, 'Write programs', 'ULO1', 1, "
            f"'Unit', '{stamp}', '{stamp}'), (2, 'Hello world', 'T1', 1, 'TaskDefinition', "
            f"'{stamp}', '{stamp}')",
            "INSERT INTO learning_outcome_links (id, source_id, target_id, created_at, "
            f"updated_at) VALUES (1, 2, 1, '{stamp}', '{stamp}')")
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    for step in (("extract", "ontrack"), ("transform",)):
        code, out, err = thoth(monkeypatch, capsys, source_url if step[0] == "extract" else None,
                               warehouse, *step)
        assert code == 0, out + err

    assert _sql(warehouse, "SELECT campus_id, time_zone_name, time_zone, time_zone_unknown "
                           "FROM staging.stg_ontrack__campuses ORDER BY 1") == [
        (1, "Melbourne", "Australia/Melbourne", False), (2, "", None, False),
        (3, "Mars/Olympus_Mons", None, True)]
    # Campus zones play no part in a deadline: the same days as test_10x_kpis_follow_10x_rules
    deadlines = dict((t, (due, on_time)) for t, due, on_time in _sql(
        warehouse, "SELECT task_id, due_day, submitted_on_time FROM "
                   "intermediate.int_task_deadlines"))
    assert deadlines == TEN_X_DEADLINES
    assert _sql(warehouse, "SELECT task_definition_id, on_time, late FROM marts.kpi_on_time "
                           "ORDER BY 1") == [(1, 2, 2), (2, 3, 1), (3, 1, 1)]

    # Target grades are the unit's own, Fail aside; students (SIT202: 5 targets Merit, the rest
    # Satisfactory; no final grade given: 0) fall on them.
    assert _sql(warehouse, "SELECT unit_code, grade, grade_name, final_grade_students, "
                           "target_grade_students FROM marts.kpi_grade_distribution "
                           "ORDER BY 1, 2") == [
        ("SIT101", 0, "Pass", 4, 4), ("SIT101", 1, "Credit", 0, 0),
        ("SIT101", 2, "Distinction", 0, 0), ("SIT101", 3, "High Distinction", 0, 0),
        ("SIT101", 4, "Grade 4", 0, 0),
        ("SIT202", 0, "Satisfactory", 4, 3), ("SIT202", 1, "Merit", 0, 1)]
    assert _sql(warehouse, "SELECT unit_id, grade, grade_abbreviation, own_grades FROM "
                           "intermediate.int_unit_grades WHERE unit_id = 2 ORDER BY 2") == [
        (2, 0, "S", True), (2, 1, "M", True)]

    # The restructured outcomes load (the dropped task links are simply not there) and no
    # model depends on either shape: see "OnTrack versions" in docs/sources/ontrack.md.
    assert _sql(warehouse, "SELECT id, context_type, context_id FROM "
                           "ontrack_raw.learning_outcomes ORDER BY 1") == [
        (1, "Unit", 1), (2, "TaskDefinition", 1)]
    assert _sql(warehouse, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = "
                           "'ontrack_raw' AND table_name = 'learning_outcome_task_links'") == [(0,)]

    # The unknown zone is counted and warned about; it blocks nothing (OnTrack reads it as UTC).
    code, out, err = thoth(monkeypatch, capsys, None, warehouse, "check")
    assert code == 0, out + err
    warned = [line for line in out.splitlines() if line.startswith("WARN")]
    assert warned == ["WARN expression staging.stg_ontrack__campuses [NOT time_zone_unknown]: "
                      "1 rows (not blocking)"]
    code, out, _ = thoth(monkeypatch, capsys, None, warehouse, "status")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("warning:")] == [
        "warning: last check: expression staging.stg_ontrack__campuses [NOT time_zone_unknown]: "
        "1 rows"]


def test_no_model_reads_learning_outcomes_in_either_shape():
    """10.x dropped learning_outcome_task_links and made outcomes polymorphic; no KPI reads
    them (docs/sources/ontrack.md, 'OnTrack versions'), so neither shape can break a build."""
    read = {i for m in discover().values() for i in m.inputs}
    assert not {"ontrack_raw.learning_outcomes", "ontrack_raw.learning_outcome_task_links",
                "ontrack_raw.learning_outcome_links"} & read


def test_the_same_tasks_in_8_0_follow_8_0_rules(source_url, tmp_path, monkeypatch, capsys):
    warehouse = _load_and_build(source_url, "8.0", tmp_path, monkeypatch, capsys)
    assert _sql(warehouse, "SELECT generation FROM staging.stg_ontrack__generation") == [
        ("8.0.x",)]
    # UTC days, the cap at the hard due date, no flexible dates: only T4 (and TD3's) on time.
    assert _sql(warehouse, "SELECT task_definition_id, on_time, late FROM marts.kpi_on_time "
                           "ORDER BY 1") == [(1, 1, 3), (2, 0, 4), (3, 1, 1)]
    assert _sql(warehouse, "SELECT task_id, due_day FROM intermediate.int_task_deadlines "
                           "WHERE task_id IN (1, 3, 6) ORDER BY 1") == [
        (1, date(2025, 3, 14)), (3, date(2025, 3, 28)), (6, date(2025, 3, 14))]
    assert _sql(warehouse, "SELECT task_definition_id, completed FROM marts.kpi_task_completion "
                           "ORDER BY 1") == [(1, 0), (2, 0), (3, 1)]
    # T3 was sent back twice (Fix and Resubmit), not once.
    assert _sql(warehouse, "SELECT submissions, assessed, sent_back FROM marts.kpi_resubmission "
                           "WHERE task_definition_id = 1") == [(6, 5, 2)]
    # Receipts: C1 and C3 read, C4 counts (no attention audience before 10.x).
    assert _sql(warehouse, "SELECT staff_comments, read_comments FROM marts.kpi_feedback_read") \
        == [(3, 2)]
    # No units.grade_values before 10.x: OnTrack's four grades, as always.
    assert _sql(warehouse, "SELECT unit_code, grade, grade_name, target_grade_students FROM "
                           "marts.kpi_grade_distribution ORDER BY 1, 2") == [
        ("SIT101", 0, "Pass", 4), ("SIT101", 1, "Credit", 0), ("SIT101", 2, "Distinction", 0),
        ("SIT101", 3, "High Distinction", 0), ("SIT202", 0, "Pass", 3), ("SIT202", 1, "Credit", 1),
        ("SIT202", 2, "Distinction", 0), ("SIT202", 3, "High Distinction", 0)]
    # Before 10.x a unit role has no observer_only: the third staff member is a tutor.
    assert _sql(warehouse, "SELECT unit_code, tutors FROM marts.kpi_enrolment ORDER BY 1") == [
        ("SIT101", 2), ("SIT202", 1)]

    code, out, err = thoth(monkeypatch, capsys, None, warehouse, "check")
    assert code == 0, out + err  # the KPI identities hold on this generation too


def test_erasing_a_person_reaches_the_10x_tables(pg_url, tmp_path, monkeypatch, capsys):
    warehouse = _load_and_build(pg_url, "10.x", tmp_path, monkeypatch, capsys)
    counts = "SELECT (SELECT count(*) FROM ontrack_raw.{0} WHERE {1}) AS n"
    before = {t: _sql(warehouse, counts.format(t, w))[0][0] for t, w in SUBJECTS}
    assert all(before.values()), before
    for user in ("11", "1"):  # the student, then the tutor
        code, out, err = thoth(monkeypatch, capsys, None, warehouse, "erase-user", user)
        assert code == 0, out + err
    after = {t: _sql(warehouse, counts.format(t, w))[0][0] for t, w in SUBJECTS}
    assert after == {t: 0 for t, _ in SUBJECTS}
    # Someone else's rows stay: the tutor's read mark on another task, the convenor's rows.
    assert _sql(warehouse, "SELECT count(*) FROM ontrack_raw.unit_roles WHERE user_id = 2") == [
        (2,)]


SUBJECTS = (  # (10.x table, the rows of student 11 / project 1 / task 1 and of tutor 1)
    ("comment_read_cursors", "user_id IN (1, 11) OR task_id = 1"),
    ("staff_notes", "project_id = 1"),
    ("engagements", "project_id = 1"),
    ("engagement_comments", "engagement_id = 1"),
    ("marking_sessions", "user_id = 1"),
    ("session_activities", "marking_session_id = 1"),
)


# --- the synthetic 10.x database on both engines ------------------------------------------

def test_synthetic_10x_loads_transforms_and_passes_every_check(source_url, tmp_path,
                                                               monkeypatch, capsys):
    counts = generate(source_url, scale=0.002, seed=5, variant="10.x")
    assert len(counts) == 71
    assert counts["comment_read_cursors"] > 0 and counts["task_definition_grade_due_dates"] > 0
    assert counts["submission_histories"] == counts["overseer_assessments"]
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    for step in (("extract", "ontrack"), ("transform",), ("check",)):
        code, out, err = thoth(monkeypatch, capsys, source_url if step[0] == "extract" else None,
                               warehouse, *step)
        assert code == 0, out + err
    statuses = dict(_sql(warehouse, "SELECT task_status_id, count(*) FROM ontrack_raw.tasks "
                                    "WHERE task_status_id > 12 GROUP BY 1"))
    assert set(statuses) == {13, 14, 15}
    flexible, fixed = _sql(warehouse, "SELECT count(*) FILTER (WHERE flexible_dates), "
                                      "count(*) FILTER (WHERE NOT flexible_dates) "
                                      "FROM intermediate.int_task_deadlines")[0]
    assert flexible > 0 and fixed > 0
    assert _sql(warehouse, "SELECT count(*) FROM staging.stg_ontrack__unit_roles "
                           "WHERE role_name = 'Observer'")[0][0] > 0
    # Campus zones in both of OnTrack's forms, each resolved; none unknown.
    assert _sql(warehouse, "SELECT time_zone_name, time_zone FROM staging.stg_ontrack__campuses "
                           "WHERE time_zone_name IN ('Melbourne', 'Perth') ORDER BY 1") == [
        ("Melbourne", "Australia/Melbourne"), ("Perth", "Australia/Perth")]
    read = _sql(warehouse, "SELECT sum(read_comments) FROM marts.kpi_feedback_read")[0][0]
    assert read > 0  # read by cursor: the 10.x read rate does not drift to 0 %

    # Every 10.x column has its class: none is left unclassified, the catalog shows them.
    code, out, _ = thoth(monkeypatch, capsys, None, warehouse, "status")
    assert code == 0 and "unclassified" not in out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        docs = collect(con, discover())
    shown = {(t, c[0]): c[3] for t, d in docs.items() for c in d.columns}
    assert shown[("ontrack_raw.projects", "spec_con_days")] == "personal"
    assert shown[("ontrack_raw.marking_sessions", "ip_address")] == "personal"
    assert shown[("ontrack_raw.staff_notes", "note")] == "personal"
    assert shown[("ontrack_raw.users", "last_access_at")] == "personal"
    assert shown[("ontrack_raw.campuses", "timezone")] == "public"
    assert ("ontrack_raw.moodle_integrations", "api_key") not in shown  # never extracted
