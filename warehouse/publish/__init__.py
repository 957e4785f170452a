"""`thoth publish`: every `marts.kpi_*` table to GCS (or a directory) for Looker and Looker Studio.

Order, so that readers only ever see a whole publish:
1. refuse unless the last `thoth check` passed (after the last build) and no column is personal;
2. render every table to local files, named after their content;
3. upload the files the current manifest does not already list to `_staging/<run>/`, read each
   back and compare its sha256;
4. copy them into place (new names: nothing a reader uses is overwritten), then the BigQuery DDL
   and LookML;
5. write `_control/manifest.json` (one object: atomic);
6. only then delete what the new manifest no longer lists (old files, a killed run's staging).
A publish that fails before 5 leaves the previous manifest and every file it lists untouched;
one that fails at 6 is live. A storage failure is one line saying which (`StorageFailed`).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from thoth.core import platform
from thoth.core.classification import restricted_columns
from thoth.core.duck import open_warehouse
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import builds, load_state
from thoth.core.platform.checks import last_check
from thoth.core.storage import StorageFailed, Target, failed, storage_errors
from transforms.catalogue import Kpi, freshness, load_catalogue
from transforms.project import discover
from warehouse.publish import generated, manifest
from warehouse.publish.render import RenderedTable, TableSpec, render, table_spec

STAGING = "_staging"
# Everything under these is the publish's own: files the manifest does not list are removed.
MANAGED = ("kpi", "looker_studio", "bigquery", "looker", STAGING)


@dataclass
class PublishReport:
    run_id: str
    target: str
    tables: int = 0
    rows: int = 0
    uploaded: list[str] = field(default_factory=list)  # data files sent this time
    unchanged: list[str] = field(default_factory=list)  # listed already, with the same bytes
    generated: list[str] = field(default_factory=list)  # DDL / LookML rewritten
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    live: bool = False  # the new manifest is written: readers see this publish


class PublishFailed(StorageFailed):
    """The target failed; `live`: after the new manifest was written (readers see it)."""

    def __init__(self, message: str, live: bool) -> None:
        super().__init__(message)
        self.live = live



def passed_check(con: duckdb.DuckDBPyConnection) -> dict:
    """The last `thoth check`, which must have passed after the last `thoth transform`."""
    last = last_check(con)
    if last is None:
        raise ThothError("no `thoth check` has run on this warehouse: run `thoth transform` and "
                         "`thoth check` first; nothing was published")
    # Only failed error-severity tests block; warnings are reported by `thoth check` and pass.
    run_id, checked_at, tests, failed, warnings = last
    if failed:
        raise ThothError(f"the last `thoth check` ({checked_at:%Y-%m-%d %H:%M} UTC) failed "
                         f"{failed} of {tests} data tests: fix them and run `thoth check` "
                         "again; the previous publish stays in place")
    built = builds.last_built_at(con)
    if built is not None and built > checked_at:
        raise ThothError(f"the KPI tables were rebuilt ({built:%Y-%m-%d %H:%M:%S} UTC) after "
                         "the last `thoth check`: run `thoth check` before publishing")
    return {"check_run_id": run_id, "checked_at": f"{checked_at:%Y-%m-%dT%H:%M:%S.%fZ}",
            "passed": True, "tests": tests, "failed": 0, "warnings": warnings}


def _kpi_specs(con: duckdb.DuckDBPyConnection) -> list[TableSpec]:
    names = [t for t in platform.tables(con, "marts") if t.startswith("kpi_")]
    if not names:
        raise ThothError("the warehouse has no marts.kpi_* tables: run `thoth transform`")
    models = discover()
    specs = [table_spec(con, n, models[f"marts.{n}"].meta if f"marts.{n}" in models else {})
             for n in names]
    leaks = [f"marts.{s.name}.{column} ({reason})" for s in specs
             for column, reason in restricted_columns(
                 "marts", s.name, [c.name for c in s.columns]).items()]
    if leaks:
        raise ThothError(f"refusing to publish personal data: {', '.join(leaks)}; drop the "
                         "column or publish a pseudonymous *_key instead (classes: thoth/core/"
                         "classification.yml); nothing was published")
    return specs


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish(warehouse: Path, target: Target, *, dataset: str, run_id: str | None = None,
            log: Callable[[str], None] = print) -> PublishReport:
    started = time.perf_counter()
    report = PublishReport(run_id or uuid.uuid4().hex[:12], target.url)
    con = open_warehouse(warehouse, read_only=True)
    try:
        # open_warehouse turns this off for fast loads; the files must follow the ORDER BY.
        con.execute("SET preserve_insertion_order = true")
        data_tests = passed_check(con)
        specs = _kpi_specs(con)
        loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
        with tempfile.TemporaryDirectory(prefix="thoth-publish-") as workdir:
            tables = [render(con, spec, Path(workdir)) for spec in specs]
            con.close()
            try:
                _put_in_place(target, tables, report, dataset, loads, data_tests, log)
            except storage_errors() as exc:
                raise _failed(target, report, exc) from None
    finally:
        con.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _failed(target: Target, report: PublishReport, exc: BaseException) -> PublishFailed:
    if report.live:
        outcome = (f"the new KPI publish (run {report.run_id}) is live; removing the files it "
                   "no longer lists did not finish (the next publish removes them)")
    else:
        outcome = "nothing was published: the previous KPI publish stays in place"
    return PublishFailed(str(failed(target, "publishing the KPIs to", exc, outcome)),
                         report.live)


def _put_in_place(target: Target, tables: list[RenderedTable], report: PublishReport,
                  dataset: str, loads: dict[str, datetime], data_tests: dict,
                  log: Callable[[str], None]) -> None:
    previous = manifest.listed(manifest.parse(target.read(manifest.PATH)))
    present = target.listing()
    files = [f for t in tables for f in t.files]
    todo = [f for f in files if previous.get(f.relative) != f.sha256
            or present.get(f.relative) != f.bytes]
    report.unchanged = [f.relative for f in files if f not in todo]

    # 3. Stage and verify.
    staging = f"{STAGING}/{report.run_id}"
    for f in todo:
        target.put(f.local, f"{staging}/{f.relative}")
    target.fs.invalidate_cache()
    for f in todo:
        if target.sha256(f"{staging}/{f.relative}") != f.sha256:
            raise ThothError(f"publish: {f.relative} reads back different from what was "
                             f"uploaded to {target.url}; nothing was put in place")
    # 4. Into place, under names no listed file has.
    for f in todo:
        target.copy(f"{staging}/{f.relative}", f.relative)
        report.uploaded.append(f.relative)
    target.remove([f"{staging}/{f.relative}" for f in todo])

    catalogue = {k.name: k for k in load_catalogue()}
    entries = {}
    for table in tables:
        kpi: Kpi | None = catalogue.get(table.spec.name)
        definition = " ".join(kpi.definition.split()) if kpi else ""
        files = {
            "bigquery_ddl": (f"bigquery/{table.spec.name}.sql", generated.bigquery_ddl(
                table.spec, dataset, target.gs_url(f"kpi/{table.spec.name}/"), definition)),
            "lookml": (f"looker/{table.spec.name}.view.lkml",
                       generated.lookml_view(table.spec, dataset, definition)),
        }
        described = {}
        for key, (path, text) in files.items():
            data = text.encode()
            if previous.get(path) != _sha(data) or path not in present:
                target.write_atomic(path, data)
                report.generated.append(path)
            described[key] = {"path": path, "sha256": _sha(data)}
        entries[table.spec.name] = manifest.table_entry(
            table, requires=kpi.requires if kpi else [],
            freshness=freshness(kpi, loads) if kpi else None, generated=described)
        report.tables += 1
        report.rows += table.rows
        sent = sum(f.relative in report.uploaded for f in table.files)
        log(f"publish {table.spec.name}: {table.rows:,} rows, {len(table.files)} files, "
            f"{sent} uploaded")

    # 5. The manifest, last.
    target.write_atomic(manifest.PATH, manifest.build(
        run_id=report.run_id, published_at=_now(), target=target.url, data_tests=data_tests,
        tables=entries))
    report.live = True

    # 6. Now nothing listed needs the old files.
    keep = manifest.listed({"tables": entries})
    stale = sorted(p for p in target.listing() if p not in keep and (
        p.split("/", 1)[0] in MANAGED or (p.startswith("_control/") and ".tmp-" in p)))
    target.remove(stale)
    report.deleted = stale
