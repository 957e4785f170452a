"""The transform framework: lineage from the SQL, build order, errors, data tests. The KPI
catalogue's tests are in test_kpi_catalogue.py."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import duckdb
import pytest
import sqlglot
from kpi_fixtures import PSEUDONYM_KEY, Raw, build_kpis

from thoth.cli import main
from thoth.core.errors import ThothError
from thoth.core.platform.checks import last_check_passed
from transforms.build import build
from transforms.checks import run_checks
from transforms.project import build_order, discover, lineage, sql_inputs


def test_inputs_come_from_the_sql_not_a_list():
    sql = ("WITH a AS (SELECT * FROM ontrack_raw.tasks) "
           "SELECT * FROM a JOIN staging.stg_x USING (id) "
           "WHERE id IN (SELECT id FROM ontrack_raw.units)")
    assert sql_inputs(sql, "m") == {"ontrack_raw.tasks", "staging.stg_x", "ontrack_raw.units"}


def test_unqualified_table_is_an_error():
    with pytest.raises(ThothError, match="model m reads 'tasks' without a schema"):
        sql_inputs("SELECT * FROM tasks", "m")


def _models(tmp_path, files: dict[str, str]):
    for name, sql in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    return discover(tmp_path)


def test_cycle_names_the_models(tmp_path):
    models = _models(tmp_path, {
        "staging/a.sql": "SELECT * FROM marts.b",
        "marts/b.sql": "SELECT * FROM staging.a",
    })
    with pytest.raises(ThothError, match=r"models form a cycle: .*staging\.a.*marts\.b"):
        build_order(models, sources=set())


def test_missing_input_names_model_and_table(tmp_path):
    models = _models(tmp_path, {"marts/kpi_x.sql": "SELECT * FROM ontrack_raw.nowhere"})
    with pytest.raises(ThothError, match="model marts.kpi_x reads ontrack_raw.nowhere, which no "
                                         "model builds and the warehouse does not hold"):
        build_order(models, sources={"ontrack_raw.tasks"})


def test_build_order_puts_inputs_first():
    models = discover()
    order = [m.qualified for m in build_order(models, sources=_all_raw(models))]
    for model in models.values():
        for dependency in model.inputs & set(models):
            assert order.index(dependency) < order.index(model.qualified)
    assert lineage(models, "marts.kpi_feedback_backlog") >= {"ontrack_raw.users",
                                                             "ontrack_raw.tutorials"}


def _all_raw(models) -> set[str]:
    return {i for m in models.values() for i in m.inputs if i.split(".")[0].endswith("_raw")}


def test_every_sql_model_transpiles_to_bigquery():
    sql_models = [m for m in discover().values() if m.sql is not None]
    assert len(sql_models) > 25
    for model in sql_models:
        out = sqlglot.transpile(model.sql, read="duckdb", write="bigquery",
                                unsupported_level=sqlglot.ErrorLevel.RAISE)
        assert out and out[0].strip(), model.qualified


def test_every_model_has_docs_and_every_kpi_a_grain():
    for model in discover().values():
        assert model.meta.get("description"), f"{model.qualified} has no description"
        if model.schema == "marts":
            # A KPI, a conformed dimension published with them, or the numbers of a data
            # product (warehouse/products), named so.
            assert model.name.startswith(("kpi_", "dim_", "product_")), model.qualified
            assert model.meta.get("grain"), model.qualified
            documented = set(model.meta.get("columns", {}))
            assert set(model.meta["grain"]) <= documented, model.qualified


def _raw_with_tasks(n_definitions: int) -> Raw:
    raw = Raw().student(11, 101)
    for i in range(1, n_definitions + 1):
        raw.task_definition(i, target_date=datetime(2024, 4, 1))
    return raw


def test_check_passes_then_fails_on_a_broken_rate_and_records_it(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    build_kpis(_raw_with_tasks(3), warehouse, monkeypatch).close()
    assert run_checks(warehouse, log=lambda line: None)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_task_submission SET submission_rate = 1.5 "
                    "WHERE task_definition_id = 2")
        con.execute("UPDATE marts.kpi_enrolment SET enrolled = NULL")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL range marts.kpi_task_submission.submission_rate: 1 rows" in out
    assert "FAIL not_null marts.kpi_enrolment.enrolled: 1 rows" in out
    with duckdb.connect(str(warehouse)) as con:
        assert last_check_passed(con) is False
        failed = con.execute("SELECT model, test, column_name, failures, severity FROM "
                             "platform.check_results WHERE NOT passed ORDER BY ALL").fetchall()
    # A NULL enrolment also breaks the grade distribution's identities with it.
    assert failed == [
        ("marts.kpi_enrolment", "not_null", "enrolled", 1, "error"),
        ("marts.kpi_grade_distribution", "identity",
         "final grade students = kpi_enrolment.enrolled", 1, "warn"),
        ("marts.kpi_grade_distribution", "identity",
         "target grade students = kpi_enrolment.enrolled", 1, "error"),
        ("marts.kpi_task_submission", "range", "submission_rate", 1, "error")]


def test_check_fails_on_a_sudden_row_count_drop(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    build_kpis(_raw_with_tasks(10), warehouse, monkeypatch).close()
    build_kpis(_raw_with_tasks(6), warehouse, monkeypatch).close()  # -40 %, 4 rows
    lines = []
    assert not run_checks(warehouse, log=lines.append)
    assert any("FAIL max_row_drop marts.kpi_on_time: 10 → 6 rows (+40% drop, limit 15%): a lost "
               "or partial load? no retention explains it" in line for line in lines)


def test_transform_without_pseudonym_key_says_what_to_set(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    _raw_with_tasks(1).write(warehouse)
    monkeypatch.delenv("TRANSFORMS__PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    assert main(["transform"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("thoth: error: TRANSFORMS__PSEUDONYM_KEY is not set")
    assert err.count("\n") == 1


def test_the_build_pseudonymises_with_the_key_it_is_given(tmp_path, monkeypatch):
    """The key comes from the command (its context), not the environment: two builds of the same
    rows under two keys, with no TRANSFORMS__PSEUDONYM_KEY set, make each key's pseudonyms."""
    monkeypatch.delenv("TRANSFORMS__PSEUDONYM_KEY", raising=False)
    made = {}
    for key in (b"key-a", b"key-b"):
        warehouse = tmp_path / f"{key.decode()}.duckdb"
        _raw_with_tasks(1).write(warehouse)
        build(warehouse, pseudonym_key=key, log=lambda line: None)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            made[key] = dict(con.execute(
                "SELECT user_id, user_key FROM staging.stg_ontrack__user_keys").fetchall())
        assert made[key] and made[key] == {
            user: hmac.new(key, str(user).encode(), hashlib.sha256).hexdigest()[:16]
            for user in made[key]}
    assert made[b"key-a"] != made[b"key-b"]


def test_failed_build_keeps_the_previous_kpi_tables(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    build_kpis(_raw_with_tasks(2), warehouse, monkeypatch).close()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.tasks DROP COLUMN extensions")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    assert main(["transform"]) == 1
    err = capsys.readouterr().err
    assert "model staging.stg_ontrack__tasks failed" in err and "extensions" in err
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.kpi_on_time").fetchall() == [(2,)]


