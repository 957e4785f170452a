"""The KPI catalogue: each KPI stated once, in its mart's YAML; `requires` from lineage; `thoth
kpis`, the KPI reference's table and the SQL's own key agree with that YAML."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from kpi_fixtures import Raw, build_kpis
from repo import ROOT
from sqlglot import exp

from thoth.cli import main
from thoth.core.errors import ThothError
from transforms import catalogue
from transforms.project import MODELS_DIR, Model, discover

MARTS = MODELS_DIR / "marts"


def _yaml(name: str) -> dict:
    """A mart's YAML as written, read without the catalogue's code."""
    return yaml.safe_load((MARTS / f"{name}.yml").read_text())


def _raw_inputs(models: dict[str, Model]) -> set[str]:
    return {i for m in models.values() for i in m.inputs if i.split(".")[0].endswith("_raw")}


def test_every_kpi_is_stated_once_in_its_model_yaml():
    models = discover()
    kpis = catalogue.kpis(models)
    marts = sorted(q.split(".", 1)[1] for q in models if q.startswith("marts.kpi_"))
    assert sorted(k.name for k in kpis) == marts
    assert len(marts) == 19
    for kpi in kpis:
        meta = _yaml(kpi.name)
        assert kpi.grain == meta["grain"]
        assert kpi.flywheel == meta["flywheel"] in catalogue.FLYWHEEL
        assert kpi.owner == meta["owner"]
        assert kpi.definition == " ".join(meta["definition"].split())
        assert kpi.key_result.split()[0] == meta["key_result"]
        assert kpi.objective.split()[0] == meta["objective"]
    # kpis.yml holds the objectives and key results, and no KPI.
    doc = yaml.safe_load(catalogue.OKRS.read_text())
    assert list(doc) == ["objectives"]
    assert all(set(o) == {"objective", "key_results"} for o in doc["objectives"].values())
    assert catalogue.catalogue_problems(models, built=_raw_inputs(models)) == []


def test_kpi_reads_its_words_from_kpis_yml_and_its_stage_from_its_yaml():
    on_time = next(k for k in catalogue.kpis() if k.name == "kpi_on_time")
    assert on_time.objective == "O1 Students keep up with their units and complete their work"
    assert on_time.key_result == ("KR1.2 80 % of submissions on time, with extensions answered "
                                  "within 48 h")
    assert on_time.flywheel == "users"
    assert on_time.owner == "Unit chairs"
    assert on_time.grain == ["task_definition_id"]


def test_requires_is_the_lineage_of_the_sql_and_of_polars_inputs():
    by_name = {k.name: k for k in catalogue.kpis()}
    # SQL, through intermediate models: read by sqlglot, never listed by hand.
    # (10.x's deadline rule reads the grade due dates; deadline days are UTC days, so no
    # campus is read.)
    assert by_name["kpi_on_time"].requires == [
        "ontrack_raw.projects",
        "ontrack_raw.task_definition_grade_due_dates", "ontrack_raw.task_definitions",
        "ontrack_raw.tasks", "ontrack_raw.teaching_periods", "ontrack_raw.units"]
    assert by_name["kpi_web_traffic"].requires == ["ga4_raw.traffic"]
    assert by_name["kpi_api_health"].requires == ["landing_raw.ontrack_logs"]
    # A Polars model: its declared inputs, then their lineage.
    assert by_name["kpi_comment_activity"].requires == [
        "ontrack_raw.projects", "ontrack_raw.task_comments", "ontrack_raw.tasks",
        "ontrack_raw.teaching_periods", "ontrack_raw.units"]


def test_requires_follows_a_changed_sql(tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models_dir)
    sql = models_dir / "marts" / "kpi_enrolment.sql"
    sql.write_text(sql.read_text().replace(
        "    COALESCE(st.convenors, 0) AS convenors,",
        "    COALESCE(st.convenors, 0) AS convenors,\n"
        "    (SELECT COUNT(*) FROM staging.stg_ontrack__logins) AS logins,"))
    assert "ontrack_raw.logins" not in _requires(discover(), "kpi_enrolment")
    assert "ontrack_raw.logins" in _requires(discover(models_dir), "kpi_enrolment")


def _requires(models: dict[str, Model], name: str) -> list[str]:
    return next(k.requires for k in catalogue.kpis(models) if k.name == name)


def _edit(models_dir: Path, name: str, change) -> None:
    path = models_dir / "marts" / f"{name}.yml"
    meta = yaml.safe_load(path.read_text())
    change(meta)
    path.write_text(yaml.safe_dump(meta, sort_keys=False))


def test_incomplete_or_unknown_kpi_metadata_is_named_one_line_each(tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models_dir)
    _edit(models_dir, "kpi_on_time", lambda m: (m.pop("flywheel"), m.pop("owner")))
    _edit(models_dir, "kpi_enrolment", lambda m: m.update(key_result="KR2.1"))
    _edit(models_dir, "kpi_web_traffic", lambda m: m.update(flywheel="revenue"))
    _edit(models_dir, "kpi_app_metrics", lambda m: m.update(objective="O9"))
    _edit(models_dir, "kpi_page_engagement", lambda m: m.update(grain=["day", "page"]))
    _edit(models_dir, "kpi_resubmission", lambda m: m.update(target={"at_most": "30 %"}))
    models = discover(models_dir)
    problems = catalogue.catalogue_problems(models, built=_raw_inputs(models))
    assert problems == [
        "kpi_app_metrics: objective O9 is not in kpis.yml (O1, O2, O3, O4, O5)",
        "kpi_app_metrics: key result KR4.3 belongs to objective O4, not O9",
        "kpi_enrolment: key result KR2.1 belongs to objective O2, not O1",
        "kpi_on_time: marts/kpi_on_time.yml lacks owner, flywheel (a KPI states them in its "
        "YAML)",
        "kpi_page_engagement: grain column page is not among its columns",
        "kpi_resubmission: marts/kpi_resubmission.yml: target: write one of at_least: N, "
        "at_most: N or up: true, and measure: (what the number judges)",
        "kpi_web_traffic: flywheel 'revenue' is not one of users, data, insights, features, "
        "contributions",
    ]
    with pytest.raises(ThothError, match="^kpi_app_metrics: objective O9 is not in kpis.yml"):
        catalogue.kpis(models)


def _stated(value: float, words: str) -> bool:
    """The number as a key result writes it: 0.85 as "85 %", 0.005 as "0.5 %", 48 as "48 h"."""
    as_percent = f"{value * 100:g} %"
    return (value < 1 and as_percent in words) or re.search(rf"(?<![\d.]){value:g} ", words)


def test_each_target_is_the_number_its_key_result_states():
    """One statement of each fact: the YAML's number is the one in the key result's words (the
    report's scorecard and target lines read the YAML)."""
    judged = {k.name: k for k in catalogue.kpis() if k.target}
    assert set(judged) == {
        "kpi_task_submission", "kpi_on_time", "kpi_extensions", "kpi_student_activity",
        "kpi_enrolment", "kpi_feedback_turnaround", "kpi_feedback_backlog", "kpi_feedback_read",
        "kpi_resubmission", "kpi_web_traffic", "kpi_page_engagement", "kpi_api_health",
        "kpi_splashkit_usage"}
    for kpi in judged.values():
        target = kpi.target
        if target.value is None:
            assert " up " in kpi.key_result, kpi.name
        else:
            assert _stated(target.value, kpi.key_result), (kpi.name, target, kpi.key_result)
    assert {k for k, kpi in judged.items() if kpi.target.good == "lower"} == {
        "kpi_extensions", "kpi_student_activity", "kpi_enrolment", "kpi_feedback_turnaround",
        "kpi_feedback_backlog", "kpi_resubmission", "kpi_api_health"}
    assert judged["kpi_enrolment"].target == catalogue.Target(
        "lower", 0.08, "withdrawal rate (withdrawn / enrolments)")
    assert judged["kpi_task_submission"].target.met(0.85) is True
    assert judged["kpi_task_submission"].target.met(0.84) is False
    assert judged["kpi_splashkit_usage"].target.met(10, previous=12) is False


def test_malformed_kpis_yml_is_one_line_saying_what_to_write(tmp_path):
    path = tmp_path / "kpis.yml"
    path.write_text("objectives:\n"
                    "  O1: {objective: a, key_results: {KR1.1: x}}\n"
                    "  O2: {objective: b, key_results: {KR1.1: y}}\n")
    with pytest.raises(ThothError, match=r"^kpis.yml: key result KR1.1 is listed twice$"):
        catalogue.okrs(path)
    path.write_text("objectives:\n  O1: Students keep up\n")
    with pytest.raises(ThothError, match=r"^kpis.yml: objective O1 needs `objective:`"):
        catalogue.okrs(path)
    path.write_text("kpis:\n- name: kpi_enrolment\n")  # the old layout
    with pytest.raises(ThothError, match=r"^kpis.yml: write `objectives:`"):
        catalogue.okrs(path)


def test_required_data_not_loaded_is_a_problem_unless_its_source_is_skipped():
    models = discover()
    built = _raw_inputs(models) - {"ga4_raw.traffic"}
    assert catalogue.catalogue_problems(models, built) == [
        "kpi_web_traffic: required data not loaded: ga4_raw.traffic"]
    assert catalogue.catalogue_problems(models, built, frozenset({"marts.kpi_web_traffic"})) == []


def test_kpis_command_prints_every_kpi_as_its_yaml_states_it(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    raw = Raw().student(11, 101).task_definition(1, target_date=datetime(2024, 4, 1))
    build_kpis(raw, warehouse, monkeypatch).close()
    with duckdb.connect(str(warehouse)) as con:
        from thoth.core.platform import load_state

        load_state.ensure(con)
        con.execute("INSERT OR REPLACE INTO platform.load_state (source, table_name, mode, "
                    "rows_loaded, rows_deleted, rows_total, seconds, loaded_at) "
                    "SELECT 'ontrack', table_name, 'full', 0, 0, 0, 0, "
                    "TIMESTAMP '2026-01-01 10:00' + (row_number() OVER () * INTERVAL 1 MINUTE) "
                    "FROM duckdb_tables() WHERE schema_name = 'ontrack_raw'")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    assert main(["kpis"]) == 0
    out = capsys.readouterr().out
    blocks = {b.split("  [", 1)[0]: b for b in out.split("\n\n")}
    names = sorted(p.stem for p in MARTS.glob("kpi_*.yml"))
    assert sorted(n for n in blocks if n.startswith("kpi_")) == names
    for name in names:  # the grain and stage printed are the YAML's, for every KPI
        meta = _yaml(name)
        lines = blocks[name].splitlines()
        assert lines[0] == f"{name}  [{', '.join(meta['grain'])}]"
        assert f"  flywheel:   {meta['flywheel']}" in lines
        assert f"  owner:      {meta['owner']}" in lines
        assert f"  definition: {' '.join(meta['definition'].split())}" in lines
    grades = blocks["kpi_grade_distribution"]
    assert "  requires:   ontrack_raw.projects, ontrack_raw.teaching_periods, ontrack_raw.units" \
        in grades
    assert "  freshness:  2026-01-01 10:" in grades
    assert "  freshness:  never loaded" in blocks["kpi_web_traffic"]
    assert ("flywheel: users 7 · data 2 · insights 6 · features 4 · contributions: no KPI yet"
            in out)


def test_kpi_reference_table_is_the_one_rendered_from_the_yaml(capsys):
    rendered = catalogue.markdown_table(catalogue.kpis())
    page = (ROOT / "docs" / "reference" / "kpis.md").read_text()
    assert f"\n{rendered}\n" in page, (
        "docs/reference/kpis.md's KPI table differs from the model YAML: run "
        "`python -m thoth.reference`")
    assert main(["kpis", "--markdown"]) == 0
    assert capsys.readouterr().out == rendered + "\n"
    assert rendered.count("\n| `kpi_") == 19
    assert "| `kpi_feedback_backlog` | unit_id, tutor_key | insights | KR2.2 | Tasks in Ready " \
        "for Feedback now" in rendered


# The SQL's own key, derived by sqlglot, must be the YAML's grain.
# Columns that only label another key column (the unit's code and period, a task definition's
# abbreviation, a grade's name) may ride in a GROUP BY without being part of the grain.
LABELS = {"unit_code", "teaching_period", "task_abbreviation", "grade_name"}


def _unique_columns(meta: dict) -> list[str]:
    return [c for c, spec in (meta.get("columns") or {}).items()
            if any(t == "unique" for t in (spec or {}).get("tests") or [])]


def _source_key(source: exp.Table, ctes: dict, models: dict[str, Model]) -> set[str]:
    if not source.db and source.name in ctes:
        return _sql_key(ctes[source.name], ctes, models)
    meta = models[f"{source.db}.{source.name}"].meta
    key = set(meta.get("grain") or _unique_columns(meta))
    assert key, f"{source.db}.{source.name} declares no grain and no unique column"
    return key


def _sql_key(query: exp.Expression, ctes: dict, models: dict[str, Model]) -> set[str]:
    """The output columns one row of `query` is unique by."""
    if isinstance(query, exp.Union):  # literal rows (a CTE of grades): every column
        return set(query.named_selects) - LABELS
    outputs = {p.unalias(): p.alias_or_name for p in query.expressions}
    group = query.args.get("group")
    if group:
        names = {outputs.get(g) for g in group.expressions}
        assert None not in names, f"a GROUP BY term is not an output column: {query.sql()}"
        return names - LABELS
    # No GROUP BY: a row per row of the FROM source and of each CROSS JOINed one; any other
    # join meets the joined side's key, adding no rows. Join conditions make columns equal.
    same: dict[tuple, tuple] = {}

    def root(col: tuple) -> tuple:
        while col in same:
            col = same[col]
        return col

    joins = query.args.get("joins") or []
    for join in joins:
        for eq in (join.args.get("on") or exp.true()).find_all(exp.EQ):
            left, right = eq.this, eq.expression
            if isinstance(left, exp.Column) and isinstance(right, exp.Column):
                a, b = root((left.table, left.name)), root((right.table, right.name))
                if a != b:
                    same[a] = b
    projected = {root((e.table, e.name)): name for e, name in outputs.items()
                 if isinstance(e, exp.Column)}
    key = set()
    for source in [query.args["from_"].this] + [j.this for j in joins if j.kind == "CROSS"]:
        for column in _source_key(source, ctes, models):
            name = projected.get(root((source.alias_or_name, column)))
            assert name, f"{source.alias_or_name}.{column}, a key, is not an output column"
            key.add(name)
    return key - LABELS


def test_yaml_grain_is_the_key_the_sql_groups_by():
    models = discover()
    checked = []
    for qualified, model in models.items():
        if not qualified.startswith("marts.kpi_") or model.sql is None:
            continue  # the Polars model's grain: its group_by, tested on data in test_kpis
        tree = sqlglot.parse_one(model.sql, read="duckdb")
        ctes = {cte.alias: cte.this for cte in tree.find_all(exp.CTE)}
        assert _sql_key(tree, ctes, models) == set(model.meta["grain"]), qualified
        checked.append(model.name)
    assert len(checked) == 18


def test_sql_headers_point_to_the_yaml_instead_of_restating_it():
    for path in sorted(MARTS.glob("kpi_*.sql")):
        lines = path.read_text().splitlines()
        header = lines[:next(i for i, line in enumerate(lines) if not line.startswith("--"))]
        assert header[0] == (f"-- What this table means (grain, definition, owner, flywheel): "
                             f"{path.stem}.yml beside it."), path.name
        # What the YAML defines is not said again: no "per unit/week/task definition" header.
        assert not any(re.search(r"\bper (unit|task definition|day|ISO week)\b", line)
                       for line in header), path.name
