"""The LookML project `thoth publish` writes to looker/ (and `thoth looker --out`): generated from
the models' YAML (additivity, targets), every file parses with lkml, every field a model,
explore, join or dashboard names exists, and the measures, compiled to SQL and run by DuckDB over
the published Parquet, give the marts' own figures at the grain and the right ratio above it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from publish_helpers import build_template, copy_warehouse

from transforms.additivity import AT_GRAIN, declared, problems
from transforms.project import discover

NUMERIC = {"BIGINT", "INTEGER", "HUGEINT", "DOUBLE", "SMALLINT", "TINYINT", "FLOAT"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


@pytest.fixture
def warehouse(template, tmp_path) -> Path:
    return copy_warehouse(template, tmp_path / "warehouse.duckdb")


def _published_marts(warehouse: Path) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = "
            "'marts' AND (table_name LIKE 'kpi_%' OR table_name LIKE 'dim_%') "
            "ORDER BY table_name, column_index").fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        out.setdefault(table, []).append((column, kind))
    return out


def test_every_numeric_column_states_its_additivity(template):
    models = discover()
    tables = _published_marts(template)
    assert {"dim_units", "dim_teaching_periods", "dim_weeks"} <= set(tables)
    for table, columns in tables.items():
        numeric = [c for c, kind in columns if kind in NUMERIC]
        assert problems(table, models[f"marts.{table}"].meta, numeric) == [], table


def test_people_installs_and_quantiles_are_not_additive():
    # The sums that misled (student-weeks added up as students, …) are declared so, and the
    # counts that add (FLOAT64 ones too) are sums.
    models = discover()

    def kind(table: str, column: str) -> str:
        return declared(models[f"marts.{table}"].meta)[column].kind

    for table, column in [("kpi_student_activity", "active_students"),
                          ("kpi_student_activity", "inactive_students"),
                          ("kpi_enrolment", "tutors"), ("kpi_enrolment", "convenors"),
                          ("kpi_help_requests", "students_asking"),
                          ("kpi_page_engagement", "users"), ("kpi_web_traffic", "active_users"),
                          ("kpi_splashkit_usage", "active_installs")]:
        assert kind(table, column) == "distinct", (table, column)
    for table, column in [("kpi_feedback_turnaround", "median_hours"),
                          ("kpi_feedback_turnaround", "p90_hours"),
                          ("kpi_api_health", "p95_ms"), ("kpi_app_metrics", "value_p95")]:
        assert kind(table, column) == "quantile", (table, column)
    assert kind("kpi_background_waits", "jobs_waited") == "sum"
    assert kind("kpi_app_metrics", "increase") == "sum"
    on_time = declared(models["marts.kpi_on_time"].meta)["on_time_rate"]
    assert (on_time.kind, on_time.numerator, on_time.denominator, on_time.format) == \
        ("ratio", ("on_time",), ("on_time", "late"), "percent")
    assert set(AT_GRAIN) == {"distinct", "quantile", "grain"}


def test_a_ratio_over_a_non_additive_column_is_a_problem():
    meta = {"columns": {"students": {"additivity": "distinct"},
                        "rate": {"additivity": "ratio", "numerator": ["students"],
                                 "denominator": ["missing"]},
                        "odd": {"additivity": "average"}}}
    assert problems("t", meta, ["students", "rate", "odd", "n"]) == [
        "t: column n is numeric but states no `additivity:` (sum, max, min, ratio, distinct, "
        "quantile, grain, identifier)",
        "t.rate: ratio part students is not a column declared `additivity: sum`",
        "t.rate: ratio part missing is not a column declared `additivity: sum`",
        "t.odd: additivity 'average' is not one of sum, max, min, ratio, distinct, quantile, "
        "grain, identifier",
    ]
