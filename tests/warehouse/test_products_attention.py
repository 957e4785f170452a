"""Students needing attention: each signal and each threshold's edge, on hand-built rows
(products_fixtures.attention_raw), computed at chosen moments."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from products_fixtures import attention_raw, build_warehouse

from thoth.core.errors import ThothError
from warehouse.products import attention
from warehouse.products.attention import Thresholds
from warehouse.products.unit_insights import select_units

DEADLINE = datetime(2024, 3, 26, 11, 59, 59)  # task 1 is due 2024-03-25: 23:59:59 AoE


@pytest.fixture(scope="module")
def con(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    path = build_warehouse(attention_raw(), tmp_path_factory.mktemp("att") / "w.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        yield con


def _projects(con, as_of: datetime, thresholds: Thresholds | None = None) -> dict[int, dict]:
    docs = attention.build(con, select_units(con, as_of), as_of, thresholds or Thresholds())
    (doc,) = docs.values()
    return {p["project_id"]: p for p in doc["projects"]}


def _fired(con, as_of: datetime, **thresholds) -> dict[int, list[str]]:
    return {pid: p["fired"] for pid, p in _projects(con, as_of, Thresholds(**thresholds)).items()}


def test_every_enrolled_project_is_listed_with_its_signals(con):
    projects = _projects(con, DEADLINE)
    assert sorted(projects) == list(range(101, 108))
    assert projects[101]["signals"] == {
        "days_since_last_activity": 14, "last_activity_on": "2024-03-12", "overdue_tasks": 0,
        "tasks_to_resubmit": 0, "unanswered_extension_requests": 0,
        "oldest_request_waiting_days": None}
    assert projects[105]["signals"]["unanswered_extension_requests"] == 1
    assert projects[105]["signals"]["oldest_request_waiting_days"] == 2
    assert projects[106]["signals"]["unanswered_extension_requests"] == 0  # answered


def test_inactive_fires_at_the_threshold_day(con):
    assert _fired(con, DEADLINE)[101] == ["inactive"]  # 14 days since 2024-03-12
    assert _fired(con, datetime(2024, 3, 25, 23, 59, 59))[101] == []  # 13 days
    assert _fired(con, DEADLINE, inactive_days=15)[101] == []
    assert _fired(con, DEADLINE, inactive_days=14)[101] == ["inactive"]


def test_a_login_is_not_activity_but_an_own_comment_is(con):
    signals = _projects(con, DEADLINE)[102]["signals"]
    assert signals["last_activity_on"] == "2024-03-25"  # the comment, not the login
    assert signals["days_since_last_activity"] == 1


def test_overdue_counts_from_the_end_of_the_due_day_anywhere_on_earth(con):
    at = _fired(con, DEADLINE)
    after = _fired(con, DEADLINE + timedelta(microseconds=1))
    assert all("overdue_tasks" not in f for f in at.values())
    overdue = sorted(pid for pid, f in after.items() if "overdue_tasks" in f)
    # 102 never touched the task, 105 and 106 are working on it; 101, 103 and 104 submitted;
    # 107's extension moved its due day a week on.
    assert overdue == [102, 105, 106]
    assert _projects(con, DEADLINE + timedelta(days=7, seconds=1))[107]["signals"][
        "overdue_tasks"] == 1
    assert not [p for p, f in _fired(con, DEADLINE + timedelta(microseconds=1),
                                     overdue_tasks=2).items() if "overdue_tasks" in f]


def test_tasks_to_resubmit_are_fix_and_resubmit_and_redo(con):
    fired = _fired(con, DEADLINE)
    assert fired[103] == fired[104] == ["resubmission_waiting"]
    assert _fired(con, DEADLINE, resubmit_tasks=2)[103] == []
    # Ready for Feedback is no resubmission.
    assert _projects(con, DEADLINE)[101]["signals"]["tasks_to_resubmit"] == 0


def test_an_unanswered_extension_request_fires_once_it_has_waited(con):
    assert _fired(con, DEADLINE)[105] == ["extension_unanswered"]  # asked 2024-03-24: 2 days
    assert _fired(con, datetime(2024, 3, 25, 23))[105] == []  # 1 day
    assert _fired(con, DEADLINE, extension_waiting_days=3)[105] == []
    assert _fired(con, datetime(2024, 3, 25, 23), extension_waiting_days=1)[105] == [
        "extension_unanswered"]
    assert _fired(con, DEADLINE)[106] == []


def test_the_file_flags_and_counts_what_fired(con):
    (doc,) = attention.build(con, select_units(con, DEADLINE), DEADLINE, Thresholds()).values()
    flagged = sorted(p["project_id"] for p in doc["projects"] if p["flagged"])
    assert flagged == [101, 103, 104, 105] and doc["flagged"] == 4
    assert doc["thresholds"] == {"inactive_days": 14, "overdue_tasks": 1, "resubmit_tasks": 1,
                                 "extension_waiting_days": 2}
    assert doc["as_of"] == "2024-03-26" and doc["classification"] == "personal"


def test_thresholds_come_from_configuration_and_are_checked(monkeypatch):
    from thoth.core import config

    monkeypatch.setenv("PRODUCTS__ATTENTION__INACTIVE_DAYS", "21")
    monkeypatch.setenv("PRODUCTS__ATTENTION__EXTENSION_WAITING_DAYS", "0")
    configured = Thresholds.from_config(config.products_attention_option)
    assert configured == Thresholds(inactive_days=21, extension_waiting_days=0)
    monkeypatch.setenv("PRODUCTS__ATTENTION__OVERDUE_TASKS", "0")
    with pytest.raises(ThothError, match="PRODUCTS__ATTENTION__OVERDUE_TASKS is 0: expected at "
                                         "least 1"):
        Thresholds.from_config(config.products_attention_option)
    monkeypatch.setenv("PRODUCTS__ATTENTION__OVERDUE_TASKS", "two")
    with pytest.raises(ThothError, match="expected a whole number"):
        Thresholds.from_config(config.products_attention_option)


def test_no_current_unit_means_no_attention_file(con):
    assert attention.build(con, select_units(con, datetime(2025, 1, 1)),
                           datetime(2025, 1, 1), Thresholds()) == {}
    assert Path(attention.QUERY).exists()
