"""Classification through the life cycle on real data: every OnTrack column has a class, `thoth
check` warns on a new one and fails on a stored secret, publish refuses what the file classes
personal."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from thoth.cli import main
from thoth.core import classification
from thoth.core.errors import ThothError
from thoth.demo.ontrack.tables import TABLES

NO_GA4_OR_LANDING = frozenset({"ga4_raw", "landing_raw"})  # only OnTrack loaded here

def _count(path: Path, sql: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


# --- classification ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["8.0", "2024-01", "10.x"])
def test_every_ontrack_column_has_a_class(variant):
    rules = classification.load()
    missing = [f"{t.name}.{c}" for t in TABLES if t.in_variant(variant)
               for c in ["id", *(c.name for c in t.columns_for(variant))]
               if rules.classify("ontrack_raw", t.name, c) is None]
    assert missing == []
    assert rules.classify("ontrack_raw", "users", "email").name == "personal"
    assert rules.classify("ontrack_raw", "users", "encrypted_password").name == "secret"
    assert rules.classify("ontrack_raw", "task_statuses", "name").name == "public"
    assert rules.classify("marts", "kpi_x", "student_key").name == "internal"
    assert rules.classify("marts", "kpi_x", "author_user_id").name == "personal"
    assert rules.classify("landing_raw", "feed", "x") is None  # a new schema must be declared


def test_check_warns_on_a_new_source_column_and_fails_on_a_stored_secret(demo_warehouse,
                                                                        capsys):
    assert main(["check"]) == 0
    with duckdb.connect(str(demo_warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.users ADD COLUMN pronouns VARCHAR")
    capsys.readouterr()
    assert main(["check"]) == 0  # a new column never stops publishing
    out = capsys.readouterr().out
    assert ("WARN classification ontrack_raw.users: unclassified columns "
            "ontrack_raw.users.pronouns: loaded, but "
            "treated as personal (never published, kept out of the models) until classified: "
            "list each under ontrack_raw.users in thoth/core/classification.yml") in out
    with duckdb.connect(str(demo_warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.webcals ADD COLUMN guid VARCHAR")
    assert main(["check"]) == 1
    assert "secret columns stored: ontrack_raw.webcals.guid" in capsys.readouterr().out
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        assert con.execute("SELECT severity, model FROM platform.check_results WHERE test = "
                           "'classification' AND NOT passed AND check_run_id = (SELECT "
                           "check_run_id FROM platform.check_results ORDER BY checked_at DESC "
                           "LIMIT 1) ORDER BY ALL").fetchall() == [
            ("error", "ontrack_raw.webcals"), ("warn", "ontrack_raw.users")]


def test_publish_refuses_what_the_file_classes_personal(tmp_path):
    rules = classification.parse({
        "schemas": {"marts": "internal"},
        "names": [{"name": "email", "class": "personal", "why": "email address"}],
        "tables": {"marts.kpi_x": {"personal": ["cohort_label"], "public": ["unit_code"]}},
    })
    assert classification.restricted_columns(
        "marts", "kpi_x", ["unit_code", "cohort_label", "email", "rows"], rules) == {
        "cohort_label": "personal: listed for marts.kpi_x", "email": "email address"}
    with pytest.raises(ThothError, match="class 'private'"):
        classification.parse({"tables": {"a.b": {"private": ["c"]}}})


