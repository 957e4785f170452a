"""OnTrack's on-time rule as upstream's code has it, held on fixtures where the candidate
readings disagree, on PostgreSQL and MariaDB, 10.x and 8.0.x; and every rule a model follows
cited to upstream's code (transforms/upstream.py, docs/upstream.md).

`upstream_*` below are an independent Python reading of doubtfire-lms/doubtfire-api's
app/models/task.rb (8.0.x: tag v8.0.0-3; 10.x: 11.0.0-60's methods as issue #26 quotes them),
written from the Ruby, not from our SQL. `campus_day_reading` is the reading the project used
to have (days in the student's campus's zone): each named case is one where it disagrees with
upstream on 10.x, so a regression to it fails by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from ontrack_generations_fixtures import STATUS_NAMES, load
from ontrack_helpers import thoth

from transforms import upstream
from transforms.project import discover, lineage

KEY = "upstream-rules-test-pseudonym-key"
AOE = timezone(timedelta(hours=-12))


def d(*parts: int) -> datetime:
    return datetime(*parts)


# --- upstream's rule, read from task.rb ----------------------------------------------------

def to_same_day_anywhere_on_earth(day: date) -> datetime:
    """Task#to_same_day_anywhere_on_earth: DateTime.new(y, m, d, 23, 59, 59, '-12:00'), here as
    the naive UTC time the database compares submission_date with."""
    aoe = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=AOE)
    return aoe.astimezone(UTC).replace(tzinfo=None)


def read_in(instant: datetime, zone: str) -> datetime:
    """A stored (UTC) datetime as ActiveRecord hands it back with Time.zone = zone."""
    return instant.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@dataclass(frozen=True)
class Case:
    target_date: datetime  # task_definitions.target_date
    due_date: datetime | None  # task_definitions.due_date
    unit_end: datetime  # units.end_date
    extensions: int
    spec_con_days: int  # 10.x projects.spec_con_days
    flexible: bool  # 10.x units.allow_flexible_dates
    submission_date: datetime
    zone: str | None  # the student's campus's zone (IANA), for the old reading only


def due_day_8x(c: Case, zone: str = "UTC") -> date:
    """v8.0.0-3 Task#due_date's day, with Time.zone = `zone` (upstream: UTC)."""
    target = read_in(c.target_date, zone)
    if c.extensions == 0:  # Task#due_date
        due = target
    else:
        raw = target + timedelta(weeks=c.extensions)  # Task#raw_extension_date
        hard = read_in(c.due_date or c.unit_end, zone)  # TaskDefinition#due_date
        due = hard if raw > hard else raw  # Task#extension_date
    return due.date()  # to_same_day_anywhere_on_earth reads date.year, .month, .day


def upstream_8x(c: Case, zone: str = "UTC") -> bool:
    """v8.0.0-3 Task#submitted_before_due?."""
    return to_same_day_anywhere_on_earth(due_day_8x(c, zone)) >= c.submission_date


def due_day_10x(c: Case, zone: str = "UTC") -> date:
    """11.0.0-60: the day lateness is judged at, by to_date in Time.zone = `zone` (upstream:
    UTC, config/application.rb setting none)."""
    target_day = read_in(c.target_date, zone).date()
    # Task#max_date_with_spec_con_days: task_definition.due_date.to_date + spec_con_days.days
    last_day = read_in(c.due_date or c.unit_end, zone).date() + timedelta(days=c.spec_con_days)
    if c.flexible:
        return last_day
    if c.extensions == 0:
        return target_day
    # Task#raw_extension_date (target_date.to_date + extensions.weeks), capped
    return min(target_day + timedelta(weeks=c.extensions), last_day)


def upstream_10x(c: Case, zone: str = "UTC") -> bool:
    """11.0.0-60 Task#submitted_before_due?."""
    return to_same_day_anywhere_on_earth(due_day_10x(c, zone)) >= c.submission_date


def capped(c: Case, generation: str) -> bool:
    """Task#extension_date returned the hard deadline instead of the extended date."""
    if c.extensions == 0 or (generation == "10.x" and c.flexible):
        return False
    spec = c.spec_con_days if generation == "10.x" else 0
    target = c.target_date.date()
    return target + timedelta(weeks=c.extensions) > (c.due_date or c.unit_end).date() + \
        timedelta(days=spec)


def campus_day_reading(c: Case) -> bool:
    """The reading this project had: 10.x's rule with days in the campus's zone."""
    return upstream_10x(c, c.zone or "UTC")


def upstream_rule(c: Case, generation: str) -> bool:
    if generation == "10.x":
        return upstream_10x(c)
    # 8.0.x has no special consideration and no flexible dates.
    return upstream_8x(Case(**{**c.__dict__, "spec_con_days": 0, "flexible": False}))


# --- the fixtures: each task definition one case, named after its rule and citation --------

ZONES = {  # campus id: (campuses.timezone as OnTrack stores it, its IANA zone)
    1: ("Australia/Melbourne", "Australia/Melbourne"),
    2: (None, None),
    3: ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    4: ("Chennai", "Asia/Kolkata"),
    5: ("Asia/Kolkata", "Asia/Kolkata"),
}
UNIT_END = d(2025, 6, 20, 14)  # the 21st, 00:00 in Melbourne
# (task definition id, unit id, name: rule — case [citation], target, due date)
DEFINITIONS = [
    (1, 1, "deadline_day — a Melbourne student at 00:05 local the day after the target date "
           "[task.rb Task#raw_extension_date @ 11.0.0-60; config/application.rb]",
     d(2025, 3, 14, 13, 30), d(2025, 3, 28, 13, 30)),
    (2, 1, "deadline_day — a Seattle student [config/application.rb @ v8.0.0-3, 11.0.0-60]",
     d(2025, 3, 14, 3), d(2025, 3, 28, 3)),
    (3, 1, "extension_cap — the task definition's due date [task.rb Task#extension_date "
           "@ v8.0.0-3]", d(2025, 3, 7, 13, 30), d(2025, 3, 14, 13, 30)),
    (4, 1, "extension_cap — the unit's end [task_definition.rb TaskDefinition#due_date "
           "@ v8.0.0-3]", d(2025, 6, 13, 14), None),
    (5, 1, "deadline_day — Kolkata and Chennai [config/application.rb @ 11.0.0-60]",
     d(2025, 3, 14, 20), d(2025, 3, 28, 20)),
    (6, 1, "special_consideration — the cap moved by spec_con_days "
           "[task.rb Task#max_date_with_spec_con_days @ 11.0.0-60]",
     d(2025, 3, 7, 13, 30), d(2025, 3, 14, 13, 30)),
    (7, 2, "flexible_dates — lateness at the hard deadline [task.rb "
           "Task#submitted_before_due? @ 11.0.0-60]", d(2025, 3, 7, 13, 30),
     d(2025, 3, 21, 13, 30)),
    (8, 1, "on_time — the exact AoE boundary and a microsecond past it [task.rb "
           "Task#to_same_day_anywhere_on_earth @ v8.0.0-3]", d(2025, 3, 14), None),
]
# (task id, task definition, campus, spec_con_days, extensions, submission_date, the case)
TASKS = [
    (1, 1, 1, 0, 0, d(2025, 3, 15, 13, 5), "melbourne midnight"),
    (2, 1, 1, 0, 0, d(2025, 3, 15, 10), None),
    (3, 2, 3, 0, 0, d(2025, 3, 14, 20), "seattle"),
    (4, 3, 1, 0, 2, d(2025, 3, 15, 20), "extension cap"),
    (5, 3, 2, 0, 1, d(2025, 3, 15, 11), None),
    (6, 4, 1, 0, 2, d(2025, 6, 21, 13), "unit-end cap"),
    (7, 5, 4, 0, 0, d(2025, 3, 15, 14), "chennai"),
    (8, 5, 5, 0, 0, d(2025, 3, 15, 14), "kolkata"),
    (9, 6, 1, 2, 3, d(2025, 3, 17, 13), "special-consideration cap"),
    (10, 7, 1, 0, 0, d(2025, 3, 22, 20), "flexible dates"),
    (11, 7, 2, 2, 0, d(2025, 3, 23, 20), None),
    (12, 8, 2, 0, 0, d(2025, 3, 15, 11, 59, 59), None),
    (13, 8, 2, 0, 0, d(2025, 3, 15, 11, 59, 59, 1), None),
]
FLEXIBLE_UNITS = {2}


def cases() -> dict[int, tuple[Case, int, str | None]]:
    """task id: (its case, its task definition, the disagreement it is there for)."""
    defs = {td: (unit, target, due) for td, unit, _, target, due in DEFINITIONS}
    out = {}
    for task, td, campus, spec, ext, sub, why in TASKS:
        unit, target, due = defs[td]
        out[task] = (Case(target, due, UNIT_END, ext, spec, unit in FLEXIBLE_UNITS, sub,
                          ZONES[campus][1]), td, why)
    return out


def scenario() -> dict[str, list[dict]]:
    """The cases as OnTrack 10.x rows: one project per task, each in its own campus."""
    td_common = {"start_date": d(2025, 3, 3), "target_grade": 0, "weighting": 1}
    unit_common = {"teaching_period_id": 1, "start_date": d(2025, 3, 3), "end_date": UNIT_END,
                   "active": True}
    return {
        "task_statuses": [{"id": i + 1, "name": n} for i, n in enumerate(STATUS_NAMES)],
        "roles": [{"id": 1, "name": "Student"}, {"id": 2, "name": "Tutor"}],
        "teaching_periods": [{"id": 1, "period": "T1", "year": 2025, "start_date": d(2025, 3, 3),
                              "end_date": d(2025, 6, 20), "active_until": d(2025, 7, 20)}],
        "campuses": [{"id": c, "name": f"Campus {c}", "mode": 0, "abbreviation": f"C{c}",
                      "active": True, "timezone": stored} for c, (stored, _) in ZONES.items()],
        "units": [{"id": 1, "code": "SIT101", "name": "Fixed dates", **unit_common},
                  {"id": 2, "code": "SIT202", "name": "Flexible dates",
                   "allow_flexible_dates": True, **unit_common}],
        "users": [{"id": 100 + t, "email": f"s{t}@example.edu", "username": f"s{t}"}
                  for t, *_ in TASKS],
        "task_definitions": [
            {"id": td, "unit_id": unit, "abbreviation": f"C{td}", "name": name,
             "target_date": target, "due_date": due, **td_common}
            for td, unit, name, target, due in DEFINITIONS],
        "projects": [
            {"id": t, "unit_id": {td: u for td, u, *_ in DEFINITIONS}[td], "user_id": 100 + t,
             "campus_id": campus, "enrolled": True, "target_grade": 0, "spec_con_days": spec}
            for t, td, campus, spec, *_ in TASKS],
        "tasks": [
            {"id": t, "project_id": t, "task_definition_id": td, "task_status_id": 9,
             "submission_date": sub, "extensions": ext}
            for t, td, _, _, ext, sub, _ in TASKS],
    }


def test_each_named_case_is_one_where_the_readings_disagree():
    """The fixtures are worth having: on 10.x the campus-day reading gets every named case
    wrong, and the controls right."""
    for task, (case, _, why) in cases().items():
        assert (campus_day_reading(case) != upstream_10x(case)) == (why is not None), (task, why)
    # The issue's own examples, as (on time, late) under each reading, per task definition.
    per_td: dict[int, list[bool]] = {}
    for case, td, _ in cases().values():
        per_td.setdefault(td, []).append(upstream_10x(case))
    assert {td: (sum(v), len(v) - sum(v)) for td, v in per_td.items()} == {
        1: (1, 1), 2: (1, 0), 3: (1, 1), 4: (0, 1), 5: (0, 2), 6: (0, 1), 7: (1, 1), 8: (1, 1)}


def test_upstreams_8x_rule_reads_days_as_the_10x_rule_does_without_its_additions():
    """8.0.x compares instants (Task#extension_date: raw > due_date); 10.x compares days. On UTC
    days the two agree whenever there is no special consideration and no flexible dates."""
    for case, _, _ in cases().values():
        plain = Case(**{**case.__dict__, "spec_con_days": 0, "flexible": False})
        assert upstream_8x(plain) == upstream_10x(plain)


def _build(source_url: str, variant: str, tmp_path: Path, monkeypatch, capsys) -> Path:
    load(source_url, variant, scenario())
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    for step in (("extract", "ontrack"), ("transform",)):
        code, out, err = thoth(monkeypatch, capsys, source_url if step[0] == "extract" else None,
                               warehouse, *step)
        assert code == 0, out + err
    return warehouse


def _sql(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


@pytest.mark.parametrize("variant, generation", [("10.x", "10.x"), ("8.0", "8.0.x")])
def test_on_time_is_upstreams_task_rb_submitted_before_due_on_utc_days(
        variant, generation, source_url, tmp_path, monkeypatch, capsys):
    """kpi_on_time, kpi_extensions and the unit-insights product, from every reader of
    int_task_deadlines, equal upstream's rule (task.rb; Time.zone UTC) case by case."""
    warehouse = _build(source_url, variant, tmp_path, monkeypatch, capsys)
    assert _sql(warehouse, "SELECT generation FROM staging.stg_ontrack__generation") == [
        (generation,)]
    expected = {t: upstream_rule(c, generation) for t, (c, _, _) in cases().items()}
    judged = dict(_sql(warehouse, "SELECT task_id, submitted_on_time "
                                  "FROM intermediate.int_task_deadlines"))
    wrong = {t: (cases()[t][2], judged[t]) for t in expected if judged[t] != expected[t]}
    assert wrong == {}, f"tasks judged unlike upstream (case, ours): {wrong}"
    # The due day shown (students needing attention reads it): Task#due_date's UTC day, where
    # the unit has fixed dates.
    due = {t: (due_day_10x(c) if generation == "10.x" else due_day_8x(c))
           for t, (c, _, _) in cases().items() if not (c.flexible and generation == "10.x")}
    assert {t: day for t, day in _sql(warehouse, "SELECT task_id, due_day FROM "
                                                 "intermediate.int_task_deadlines")
            if t in due} == due

    per_td: dict[int, tuple[int, int]] = {}
    capped_per_td: dict[int, int] = {}
    for t, (case, td, _) in cases().items():
        on, late = per_td.get(td, (0, 0))
        per_td[td] = (on + expected[t], late + (not expected[t]))
        capped_per_td[td] = capped_per_td.get(td, 0) + capped(case, generation)
    assert {td: (on, late) for td, on, late in _sql(
        warehouse, "SELECT task_definition_id, on_time, late FROM marts.kpi_on_time")} == per_td
    assert dict(_sql(warehouse, "SELECT task_definition_id, capped_at_due_date "
                                "FROM marts.kpi_extensions")) == capped_per_td
    per_unit = {1: [0, 0], 2: [0, 0]}
    for td, unit, *_ in DEFINITIONS:
        per_unit[unit][0] += per_td[td][0]
        per_unit[unit][1] += per_td[td][1]
    assert {u: [on, late] for u, on, late in _sql(
        warehouse, "SELECT unit_id, sum(on_time_tasks), sum(late_tasks) "
                   "FROM marts.product_unit_weeks GROUP BY 1")} == per_unit


# --- every rule cited to upstream's code -----------------------------------------------------

# The rules a KPI or product rests on, and the model that follows (and so cites) each.
REQUIRED = {
    "intermediate.int_task_deadlines": {"deadline_day", "on_time", "extensions", "extension_cap",
                                        "special_consideration", "flexible_dates"},
    "intermediate.int_expected_tasks": {"expected_tasks", "submitted"},
    "intermediate.int_enrolled_projects": {"enrolment"},
    "intermediate.int_task_submissions": {"assessed"},
    "intermediate.int_comment_reads": {"read_receipts", "read_cursors"},
    "intermediate.int_extension_requests": {"extension_requests"},
    "intermediate.int_student_activity": {"student_statuses"},
    "intermediate.int_unit_grades": {"grade_values"},
    "staging.stg_ontrack__unit_roles": {"tutor", "observer"},
    "marts.kpi_task_completion": {"complete"},
    "marts.kpi_resubmission": {"sent_back", "statuses"},
    "marts.kpi_feedback_backlog": {"awaiting_feedback"},
    "marts.kpi_enrolment": {"enrolment"},
    "marts.kpi_help_requests": {"help_requests"},
    "marts.kpi_comment_activity": {"comment_author"},
}


def test_every_rule_entry_cites_a_file_a_method_and_a_pinned_release_or_commit():
    models = discover()
    known = upstream.releases()
    problems = [p for m in models.values() for p in upstream.problems(m, known)]
    assert problems == []
    # A release either pins a commit or says why not, and how it was read.
    for name, release in known.items():
        assert release.get("read"), name
        assert release.get("commit") or "not pinned" in release["read"], name
    cited = {(c.model, c.rule) for c in upstream.citations(models)}
    missing = {(m, r) for m, rules in REQUIRED.items() for r in rules} - cited
    assert missing == set()


def test_a_citation_without_file_method_or_release_is_named():
    model = discover()["intermediate.int_task_deadlines"]
    broken = type(model)(model.schema, model.name, model.path, model.inputs, meta={
        "upstream_rules": [{"rule": "on_time", "says": "x", "file": "app/models/task.rb"},
                           {"rule": "x", "says": "x", "file": "f", "method": "m",
                            "release": "v99", "commit": "abc"}]})
    assert upstream.problems(broken, upstream.releases()) == [
        "intermediate/int_task_deadlines.yml: upstream_rules #1 (on_time) lacks method",
        "intermediate/int_task_deadlines.yml: upstream_rules #1 (on_time) names neither a "
        "release nor a commit",
        "intermediate/int_task_deadlines.yml: upstream_rules #2 (x): release v99 is not in "
        "transforms/upstream.yml",
        "intermediate/int_task_deadlines.yml: upstream_rules #2 (x): commit abc is not 40 hex "
        "digits"]


def test_kpi_on_time_rests_on_the_deadline_rules_through_its_lineage():
    rules = upstream.rules_behind(discover(), "marts.kpi_on_time")
    assert {"deadline_day", "on_time", "extension_cap", "special_consideration",
            "flexible_dates", "enrolment", "expected_tasks"} <= rules


def test_every_mart_made_of_ontrack_data_rests_on_cited_rules():
    models = discover()
    bare = [name for name, model in models.items() if model.schema == "marts"
            and any(t.startswith("ontrack_raw.") for t in lineage(models, name))
            and not upstream.rules_behind(models, name)]
    assert bare == []
