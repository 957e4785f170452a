"""The whole LookML project, generated from the models' YAML: `thoth publish` writes it to
`looker/` of the Looker target, `thoth looker --out DIR` the same files to a directory (for the
LookML Git repository). A Looker developer edits only manifest.lkml's constants.

    manifest.lkml                 constants CONNECTION and DATASET
    thoth.model.lkml              connection, datagroup on kpi_publish_log, access, explores
    <table>.view.lkml             a view per published table (KPIs, dim_*, kpi_publish_log)
    thoth_o<n>.dashboard.lookml   a dashboard per objective of transforms/kpis.yml
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from thoth.core.duck import open_warehouse
from thoth.core.errors import ThothError
from transforms.additivity import NUMERIC, declared
from transforms.additivity import problems as additivity_problems
from transforms.catalogue import kpis, okrs
from transforms.project import Model, discover
from warehouse.looker.dashboards import dashboard
from warehouse.looker.dashboards import name as dashboard_name
from warehouse.looker.model import PUBLISH_LOG, manifest, model
from warehouse.looker.views import View, view
from warehouse.publish.render import RenderedTable, TableSpec, render, table_spec

PUBLISHED = ("kpi_", "dim_")  # the marts `thoth publish` publishes: KPIs and their dimensions
FOLDER = "looker"

# kpi_publish_log is written by the publish itself, so its YAML lives here.
LOG_META = {
    "description": "The publish the KPI tables in this dataset come from: one row, replaced by "
                   "every publish that changes them. Looker's datagroup reads data_version.",
    "grain": ["data_version"],
    "columns": {
        "data_version": {"description": "sha256 (12 hex) of every published KPI file's sha256: "
                                        "changes exactly when the published data does"},
        "tables": {"description": "Tables published", "additivity": "identifier"},
        "rows": {"description": "Rows published, over every table",
                 "additivity": "identifier"},
    },
}


def is_published(table: str) -> bool:
    return table.startswith(PUBLISHED)


def _log_table(con: duckdb.DuckDBPyConnection, version: str, tables: int,
               rows: int) -> TableSpec:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(f"CREATE OR REPLACE TABLE marts.{PUBLISH_LOG} (data_version VARCHAR, "
                "tables BIGINT, rows BIGINT)")
    con.execute(f"INSERT INTO marts.{PUBLISH_LOG} VALUES (?, ?, ?)", [version, tables, rows])
    return table_spec(con, PUBLISH_LOG, LOG_META)


def publish_log_spec() -> TableSpec:
    """kpi_publish_log's columns (no rows): what its view and DDL are written from."""
    with duckdb.connect() as con:
        return _log_table(con, "", 0, 0)


def publish_log(tables: list[RenderedTable], workdir: Path) -> RenderedTable:
    """kpi_publish_log rendered like any table: one row naming the data this publish holds.
    The same data gives the same bytes, so an unchanged publish (or one after a rebuild and a
    check that changed nothing) uploads nothing, and Looker's cache stays."""
    digest = hashlib.sha256()
    for f in sorted((f for t in tables for f in t.files), key=lambda f: f.relative):
        digest.update(f"{f.relative} {f.sha256}\n".encode())
    with duckdb.connect() as con:
        spec = _log_table(con, digest.hexdigest()[:12], len(tables), sum(t.rows for t in tables))
        return render(con, spec, workdir)


def check(specs: list[TableSpec], models: dict[str, Model] | None = None) -> None:
    """Refuse a published table whose YAML leaves a numeric column's additivity unsaid (or says
    it inconsistently): its measures would be missing or wrong. `models`: discover()'s, if the
    caller has them already (reading every model's files takes a second or two)."""
    models = models or discover()
    found = []
    for spec in specs:
        model = models.get(spec.qualified)
        numeric = [c.name for c in spec.columns if c.bigquery_type in NUMERIC]
        if model is not None:
            found += additivity_problems(spec.qualified, model.meta, numeric)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ThothError(f"{found[0]}{more}: state it in the model's YAML (the kinds: "
                         "transforms/additivity.py); nothing was published")


def project(specs: list[TableSpec], dataset: str,
            models: dict[str, Model] | None = None) -> dict[str, str]:
    """Every file of the LookML project: its name under looker/ → its text. `specs`: the
    published tables (kpi_publish_log's among them, else added); `models` as for check()."""
    if PUBLISH_LOG not in [s.name for s in specs]:
        specs = [*specs, publish_log_spec()]
    models = models or discover()
    catalogue = kpis(models)
    known = okrs()
    definitions = {k.name: k.definition for k in catalogue}
    metas = {s.name: (models[f"marts.{s.name}"].meta if f"marts.{s.name}" in models
                      else LOG_META) for s in specs}
    views: dict[str, View] = {}
    for spec in sorted(specs, key=lambda s: s.name):
        header = [f"{spec.qualified}: {' '.join(spec.description.split())}"]
        if spec.name in definitions:
            header.append(definitions[spec.name])
        views[spec.name] = view(spec, declared(metas[spec.name]), header)
    files = {f"{n}.view.lkml": v.text for n, v in views.items()}
    files["manifest.lkml"] = manifest(dataset)
    files["thoth.model.lkml"] = model(
        views, {k.name: (k.key_result, k.description) for k in catalogue if k.name in views})
    for objective in known.objectives:
        files[f"{dashboard_name(objective)}.dashboard.lookml"] = dashboard(
            objective, known, catalogue, views, metas)
    return dict(sorted(files.items()))


def published_specs(con: duckdb.DuckDBPyConnection) -> list[TableSpec]:
    """The marts `thoth publish` publishes, as it reads them (personal columns are refused
    there, not here)."""
    names = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
    ).fetchall() if is_published(t)]
    if not any(n.startswith("kpi_") for n in names):
        raise ThothError("the warehouse has no marts.kpi_* tables: run `thoth transform`")
    models = discover()
    return [table_spec(con, n, models[f"marts.{n}"].meta if f"marts.{n}" in models else {})
            for n in names]


def write(warehouse: Path, out: Path, dataset: str) -> list[Path]:
    """`thoth looker --out DIR`: the project publish would write, into `out`."""
    con = open_warehouse(warehouse, read_only=True)
    try:
        specs = published_specs(con)
    finally:
        con.close()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, text in project(specs, dataset).items():
        (out / relative).write_text(text)
        written.append(out / relative)
    return written
