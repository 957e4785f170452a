"""The LookML project `thoth publish` writes to looker/ (and `thoth looker --out`): generated from
the models' YAML (additivity, targets), every file parses with lkml, every field a model,
explore, join or dashboard names exists, and the measures, compiled to SQL and run by DuckDB over
the published Parquet, give the marts' own figures at the grain and the right ratio above it."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import lkml
import pytest
import sqlglot
import yaml
from lookml_sql import Compiler
from publish_helpers import copy_warehouse

from thoth.cli import main
from thoth.core.storage import open_target
from transforms.additivity import AT_GRAIN, column_targets, declared, problems
from transforms.catalogue import kpis, okrs
from transforms.project import discover
from warehouse.looker.views import measure_name
from warehouse.publish import publish

DATASET = "thoth_kpi"
REF = re.compile(r"\$\{(\w+\.\w+)\}")  # ${view.field}
OWN = re.compile(r"\$\{(\w+)\}")  # ${field} of the same view (or ${TABLE})

NUMERIC = {"BIGINT", "INTEGER", "HUGEINT", "DOUBLE", "SMALLINT", "TINYINT", "FLOAT"}


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
                        "odd": {"additivity": "average"}},
            "target": {"at_most": 2, "measure": "m", "column": "gone",
                       "also": {"rate": {"above": 1}}}}
    assert problems("t", meta, ["students", "rate", "odd", "n"]) == [
        "t: column n is numeric but states no `additivity:` (sum, max, min, ratio, distinct, "
        "quantile, grain, identifier)",
        "t.rate: ratio part students is not a column declared `additivity: sum`",
        "t.rate: ratio part missing is not a column declared `additivity: sum`",
        "t.odd: additivity 'average' is not one of sum, max, min, ratio, distinct, quantile, "
        "grain, identifier",
        "t: target column gone has no measure (declare its additivity)",
        "t: target rate must be {at_least: N} or {at_most: N}",
    ]


# --- The project as published -------------------------------------------------------------


@pytest.fixture(scope="module")
def published(template, tmp_path_factory) -> Path:
    """One publish of the template warehouse to a directory: its root."""
    root = tmp_path_factory.mktemp("published")
    warehouse = copy_warehouse(template, root / "warehouse.duckdb")
    publish(warehouse, open_target(str(root / "publish")), dataset=DATASET,
            log=lambda line: None)
    return root / "publish"


@dataclass
class Project:
    views: dict[str, dict]  # name → lkml's dict
    model: dict
    manifest: dict
    dashboards: dict[str, dict]  # file name → the dashboard

    def fields(self, view: str) -> set[str]:
        v = self.views[view]
        names = {d["name"] for d in v.get("dimensions", [])}
        names |= {f"{g['name']}_{tf}" for g in v.get("dimension_groups", [])
                  for tf in g["timeframes"]}
        names |= {m["name"] for m in v.get("measures", [])}
        return names

    def explores(self) -> dict[str, dict]:
        return {e["name"]: e for e in self.model["explores"]}

    def reachable(self, explore: str) -> set[str]:
        """Every view.field an explore reaches."""
        e = self.explores()[explore]
        views = [e.get("from", e["name"]), *(j["name"] for j in e.get("joins", []))]
        return {f"{v}.{f}" for v in views for f in self.fields(v)}


def _project(folder: Path) -> Project:
    views = {}
    for path in sorted(folder.glob("*.view.lkml")):
        parsed = lkml.load(path.read_text())
        (v,) = parsed["views"]
        assert path.name == f"{v['name']}.view.lkml"
        views[v["name"]] = v
    dashboards = {}
    for path in sorted(folder.glob("*.dashboard.lookml")):
        (d,) = yaml.safe_load(path.read_text())
        assert path.name == f"{d['dashboard']}.dashboard.lookml"
        dashboards[path.name] = d
    return Project(views, lkml.load((folder / "thoth.model.lkml").read_text()),
                   lkml.load((folder / "manifest.lkml").read_text()), dashboards)


def _kpi_names() -> list[str]:
    return [k.name for k in kpis()]


def test_every_file_parses_and_the_model_reaches_every_kpi(published):
    folder = published / "looker"
    names = {p.name for p in folder.iterdir()}
    assert {"manifest.lkml", "thoth.model.lkml"} <= names
    project = _project(folder)
    constants = {c["name"]: c["value"] for c in project.manifest["constants"]}
    assert constants == {"CONNECTION": "thoth_bigquery", "DATASET": DATASET}
    assert project.model["connection"] == "@{CONNECTION}"
    assert project.model["persist_with"] == "thoth_publish"
    (datagroup,) = project.model["datagroups"]
    assert datagroup["name"] == "thoth_publish"
    assert datagroup["sql_trigger"].strip() == \
        "SELECT MAX(data_version) FROM `@{DATASET}.kpi_publish_log`"
    assert "data_version" in project.fields("kpi_publish_log")
    # A view per published table (KPIs, dimensions, the publish log), each over @{DATASET}.
    doc = json.loads((published / "_control/manifest.json").read_text())
    assert set(project.views) == set(doc["tables"])
    for name, v in project.views.items():
        assert v["sql_table_name"].strip() == f"`@{{DATASET}}.{name}`"
    # Every LookML file publish wrote is listed in the manifest (so never deleted as stale).
    listed = {e["lookml"]["path"] for e in doc["tables"].values()} | set(doc["generated"])
    assert listed == {f"looker/{n}" for n in names}
    assert set(project.explores()) == set(_kpi_names())


def test_every_view_has_a_never_null_key_and_a_usable_partition(published):
    project = _project(published / "looker")
    for name, v in project.views.items():
        keys = [d for d in v["dimensions"] if d.get("primary_key") == "yes"]
        assert [k["name"] for k in keys] == ["pk"], name
        groups = {g["name"]: g for g in v.get("dimension_groups", [])}
        spec_dt = json.loads((published / "_control/manifest.json").read_text())[
            "tables"][name]["partitioned_by"]
        assert ("dt" in groups) == (spec_dt is not None), name
        if "dt" in groups:
            assert groups["dt"].get("hidden") != "yes" and groups["dt"]["sql"].strip() == \
                "${TABLE}.dt"


def test_explores_joins_and_access_name_fields_that_exist(published):
    project = _project(published / "looker")
    grants = {g["name"] for g in project.model["access_grants"]}
    assert grants == {"thoth_platform"}
    for name, e in project.explores().items():
        reachable = project.reachable(name)
        for join in e.get("joins", []):
            assert join["relationship"] == "many_to_one"  # no fan-out: sums stay right
            for ref in REF.findall(join["sql_on"]):
                assert ref in reachable, (name, join["name"], ref)
        if "unit_code" in project.fields(name):  # per unit: a unit chair sees their units
            (rule,) = e["access_filters"]
            assert rule == {"field": f"{name}.unit_code", "user_attribute": "thoth_units"}
            assert "dim_units" in [j["name"] for j in e["joins"]]
        else:  # platform-wide
            assert "access_filters" not in e and e["required_access_grants"] == ["thoth_platform"]
    assert len([e for e in project.explores().values() if "access_filters" in e]) >= 12


def test_no_sum_covers_a_column_declared_non_additive(published):
    project = _project(published / "looker")
    models = discover()
    sums = 0
    for name, v in project.views.items():
        additivity = declared(models[f"marts.{name}"].meta) if f"marts.{name}" in models \
            else {}
        own = project.fields(name)
        for m in v.get("measures", []):
            assert set(m.get("drill_fields", [])) <= own, (name, m["name"])
            for ref in OWN.findall(m.get("sql", "")):
                assert ref in own | {"TABLE"}, (name, m["name"], ref)
            if m["type"] in ("sum", "sum_distinct", "average", "average_distinct"):
                (column,) = re.fullmatch(r"\$\{TABLE\}\.(\w+)", m["sql"].strip()).groups()
                assert additivity[column].kind == "sum", (name, column)
                sums += 1
        for column, a in additivity.items():  # and every declared measure is there
            if a.kind != "identifier":
                assert measure_name(column, a.kind) in own, (name, column)
    assert sums > 40
    activity = {m["name"]: m for m in project.views["kpi_student_activity"]["measures"]}
    assert "total_active_students" not in activity
    assert "at the grain only" in activity["active_students_at_grain"]["description"].lower()
    waits = {m["name"] for m in project.views["kpi_background_waits"]["measures"]}
    assert {"total_jobs_waited", "job_latency_p95_seconds_at_grain"} <= waits


def test_a_dashboard_per_objective_a_tile_per_kpi_its_target_a_reference_line(published):
    project = _project(published / "looker")
    known = okrs()
    assert sorted(project.dashboards) == sorted(
        f"thoth_{o.lower()}.dashboard.lookml" for o in known.objectives)
    models = discover()
    tiles, lines = [], []
    for file, d in project.dashboards.items():
        objective = d["dashboard"].removeprefix("thoth_").upper()
        assert d["title"] == f"{objective} {known.objectives[objective]}"
        filters = {f["name"]: f for f in d["filters"]}
        assert "teaching_period" in filters, file
        for f in filters.values():
            assert f["model"] == "thoth" and f["field"] in project.reachable(f["explore"]), file
        for e in d["elements"]:
            tiles.append(e["name"])
            kpi = next(k for k in kpis() if k.name == e["explore"])
            assert e["name"].split("__")[0] == kpi.name
            assert kpi.objective.startswith(objective + " ")
            reachable = project.reachable(e["explore"])
            for field in [*e["fields"], *e.get("sorts", []), *e.get("pivots", []),
                          *e.get("filters", {}), *e.get("listen", {}).values()]:
                assert field.split(" ")[0] in reachable, (file, e["name"], field)
            assert set(e.get("listen", {})) <= set(filters), (file, e["name"])
            assert set(e.get("pivots", [])) <= set(e["fields"])
            if "unit_code" in project.fields(e["explore"]):  # a per-unit KPI
                assert set(e["listen"]) == {"teaching_period", "unit"} and "unit" in filters
            # A line for each target whose measure the tile shows, at the YAML's value.
            meta = models[f"marts.{e['explore']}"].meta
            shown = {c: float(next(iter(bound.values())))
                     for c, bound in column_targets(meta).items()
                     if f"{e['explore']}.{measure_name(c, declared(meta)[c].kind)}"
                     in e["fields"]}
            assert [float(r["line_value"]) for r in e.get("reference_lines", [])] == \
                list(shown.values())
            assert all(r["reference_type"] == "line" for r in e.get("reference_lines", []))
            lines += [(e["explore"], c) for c in shown]
    # Each KPI has a tile, and each target of each KPI a line on a tile showing its measure.
    assert len(tiles) == len(set(tiles))
    assert {t.split("__")[0] for t in tiles} == set(_kpi_names())
    assert sorted(lines) == sorted(
        (k, c) for k in _kpi_names() for c in column_targets(models[f"marts.{k}"].meta))
    on_time = next(e for d in project.dashboards.values() for e in d["elements"]
                   if e["name"] == "kpi_on_time")
    (line,) = on_time["reference_lines"]
    assert (line["line_value"], line["label"]) == ("0.8", "KR1.2: on_time_rate at least 80.0%")


def test_thoth_looker_writes_the_files_publish_does(published, template, tmp_path,
                                                    monkeypatch, capsys):
    warehouse = copy_warehouse(template, tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    assert main(["looker", "--out", str(tmp_path / "lookml"), "--dataset", DATASET]) == 0
    assert "wrote the LookML project (30 files" in capsys.readouterr().out
    ours = {p.name: p.read_bytes() for p in (tmp_path / "lookml").iterdir()}
    theirs = {p.name: p.read_bytes() for p in (published / "looker").iterdir()}
    assert ours == theirs


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _expected(a, rows: list[dict], column: str) -> object:
    """What the measure of `column` must give over `rows` of the mart."""
    values = [r[column] for r in rows if r[column] is not None]
    if a.kind == "sum":
        return sum(values) if values else None
    if a.kind in ("max", "min"):
        return (max if a.kind == "max" else min)(values) if values else None
    if a.kind == "ratio":
        def total(parts: tuple[str, ...]) -> float:
            return sum(r[p] or 0 for r in rows for p in parts)
        return total(a.numerator) / total(a.denominator) if total(a.denominator) else None
    return rows[0][column] if len(rows) == 1 else None  # at the grain only


def test_measures_give_the_marts_figures_at_the_grain_and_the_ratio_above(published, template):
    """Every measure, compiled to SQL and run over the published Parquet, against the mart: at
    the grain (grouped by the key), per unit, and over the whole table."""
    project = _project(published / "looker")
    doc = json.loads((published / "_control/manifest.json").read_text())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{template}' AS wh (READ_ONLY)")
    parquet = {}
    for name, entry in doc["tables"].items():
        paths = [str(published / f["path"]) for f in entry["files"] if f["format"] == "parquet"]
        parquet[name] = (f"read_parquet({paths}, hive_partitioning = "
                         f"{str(entry['partitioned_by'] is not None).lower()})")
    files = Compiler(project.views, parquet)
    marts = Compiler(project.views, {n: f"wh.marts.{n}" for n in parquet})
    models = discover()
    above = 0
    for name in _kpi_names():
        additivity = {c: a for c, a in declared(models[f"marts.{name}"].meta).items()
                      if a.kind != "identifier"}
        measures = [measure_name(c, a.kind) for c, a in additivity.items()]
        columns = [c for c, _ in _published_marts(template)[name]]
        rows = [dict(zip(["pk", *columns], r, strict=True)) for r in con.execute(
            f"SELECT {marts.field(name, 'pk')}, * FROM wh.marts.{name} AS \"{name}\"")
            .fetchall()]
        assert len({r["pk"] for r in rows}) == len(rows) and all(r["pk"] for r in rows), name

        # At the grain: the mart's own figures, rates included.
        got = con.execute(files.select(name, ["pk"], ["count", *measures])).fetchall()
        assert len(got) == len(rows), name
        by_key = {r["pk"]: r for r in rows}
        for key, count, *values in got:
            assert count == 1, (name, key)
            for (column, a), value in zip(additivity.items(), values, strict=True):
                want = by_key[key][column] if a.kind != "ratio" else \
                    _expected(a, [by_key[key]], column)
                assert _close(value, want), (name, key, column, value, want)
                if a.kind == "ratio" and by_key[key][column] is not None:
                    assert _close(value, by_key[key][column]), (name, key, column)

        # Above it: per unit where the KPI has one, and the whole table.
        groups = [("unit_code",)] if "unit_code" in columns else []
        for dims in [*groups, ()]:
            got = con.execute(files.select(name, list(dims), ["count", *measures])).fetchall()
            for row in got:
                key, count, values = row[:len(dims)], row[len(dims)], row[len(dims) + 1:]
                chosen = [r for r in rows if tuple(r[d] for d in dims) == tuple(key)]
                assert count == len(chosen), (name, key)
                above += count > 1
                for (column, a), value in zip(additivity.items(), values, strict=True):
                    want = _expected(a, chosen, column)
                    assert _close(value, want), (name, dims, key, column, value, want)
    assert above >= 10  # most KPIs have more than one row to aggregate over


def test_the_primary_key_is_never_null_even_where_a_grain_column_is(published):
    project = _project(published / "looker")
    doc = json.loads((published / "_control/manifest.json").read_text())
    entry = doc["tables"]["kpi_app_metrics"]
    paths = [str(published / f["path"]) for f in entry["files"] if f["format"] == "parquet"]
    files = Compiler(project.views, {"kpi_app_metrics": f"read_parquet({paths})"})
    con = duckdb.connect()
    keys = con.execute(f"SELECT {files.field('kpi_app_metrics', 'pk')}, route IS NULL OR "
                       "queue IS NULL FROM read_parquet(?) AS kpi_app_metrics", [paths]).fetchall()
    assert keys and all(k is not None for k, _ in keys) and all(null for _, null in keys)
    assert len({k for k, _ in keys}) == len(keys)


def test_kpi_publish_log_names_the_data_published(published):
    doc = json.loads((published / "_control/manifest.json").read_text())
    entry = doc["tables"]["kpi_publish_log"]
    (path,) = [f["path"] for f in entry["files"] if f["format"] == "parquet"]
    (row,) = duckdb.connect().execute(
        f"SELECT data_version, tables, rows FROM '{published / path}'").fetchall()
    data = sorted((f["path"], f["sha256"]) for n, e in doc["tables"].items()
                  if n != "kpi_publish_log" for f in e["files"])
    version = hashlib.sha256("".join(f"{p} {s}\n" for p, s in data).encode()).hexdigest()[:12]
    assert row[0] == version and row[1] == len(doc["tables"]) - 1
    assert row[2] == sum(e["rows"] for n, e in doc["tables"].items() if n != "kpi_publish_log")


def test_the_measures_hold_on_the_demo_too(demo_dir):
    """The same check over the demo's publish (thousands of rows, many units and weeks): the
    at-grain measures are empty above the grain, never student-weeks added up."""
    test_measures_give_the_marts_figures_at_the_grain_and_the_ratio_above(
        demo_dir / "publish", demo_dir / "warehouse.duckdb")


def test_publish_refuses_a_numeric_column_without_additivity(warehouse, tmp_path, monkeypatch,
                                                              capsys):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE marts.kpi_enrolment ADD COLUMN mentors INTEGER DEFAULT 2")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(tmp_path / "publish"))
    monkeypatch.setenv("PRODUCTS__BUCKET_URL", str(tmp_path / "products"))
    monkeypatch.setenv("RUN__LOCK_FILE", str(tmp_path / "run.lock"))
    assert main(["publish"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "thoth: error: marts.kpi_enrolment: column mentors is numeric but states no `additivity:` "
        "(sum, max, min, ratio, distinct, quantile, grain, identifier): state it in the "
        "model's YAML (the kinds: transforms/additivity.py); nothing was published"]
    assert not (tmp_path / "publish").exists()


def test_every_field_compiles_to_bigquery_sql(published):
    """What Looker would send BigQuery (every dimension and measure of every view, and the
    datagroup's trigger) parses as BigQuery SQL."""
    project = _project(published / "looker")
    bigquery = Compiler(project.views, {n: f"`{DATASET}.{n}`" for n in project.views})
    for name in project.views:
        dims = [d["name"] for d in project.views[name]["dimensions"]]
        measures = [m["name"] for m in project.views[name].get("measures", [])]
        sql = bigquery.select(name, dims, measures)
        sqlglot.parse_one(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    (datagroup,) = project.model["datagroups"]
    trigger = datagroup["sql_trigger"].replace("@{DATASET}", DATASET)
    sqlglot.parse_one(trigger, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
