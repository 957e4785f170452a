"""`thoth publish`: every `marts.kpi_*` table to GCS (or a directory) for Looker and Looker Studio.

A reader sees, table by table, the previous publish or the next, never a mix or a part, even
when a publish is killed: each reader goes through one object that a publish replaces whole.
- BigQuery reads a table through its manifest `bigquery/manifests/<table>.txt`, which lists the
  table's Parquet files (named after their content, so never overwritten);
- Looker Studio reads the folder `looker_studio/<table>/`, which holds one CSV, replaced whole.

Order:
1. refuse unless the last `thoth check` passed (after the last build) and no column is personal;
2. render every table to local files, and the table manifests, DDL and LookML to bytes;
3. upload what is not in place already to `_staging/<run>/`, read each back, compare its sha256;
4. put the new Parquet files in place (new names, which nothing lists yet);
5. replace each table's manifest and CSV (one object each: atomic), then the DDL and LookML;
6. write `_control/manifest.json` (one object);
7. only then delete what neither the new publish nor the previous one lists (old files, a killed
   run's staging and leftovers): a query that started on the previous version can finish.
Putting in place is a rename in a directory (atomic) and a server-side copy on GCS (one object).
A storage failure is one line saying truly what readers see (`PublishFailed`): nothing new
before 5, the tables already switched during 5, the whole new publish from 6 on.
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
from transforms.catalogue import Kpi, freshness, kpis
from transforms.project import Model, discover
from warehouse import looker
from warehouse.publish import generated, manifest
from warehouse.publish.render import (
    PARTITION_MIN_ROWS,
    RenderedTable,
    TableSpec,
    render,
    table_spec,
)

STAGING = "_staging"
# Everything under these is the publish's own: files the manifest does not list are removed.
MANAGED = ("kpi", "looker_studio", "bigquery", "looker", STAGING)


@dataclass
class PublishReport:
    run_id: str
    target: str
    tables: int = 0
    rows: int = 0
    uploaded: list[str] = field(default_factory=list)  # data files (Parquet, CSV) sent
    unchanged: list[str] = field(default_factory=list)  # in place already, with the same bytes
    generated: list[str] = field(default_factory=list)  # table manifests, DDL, LookML rewritten
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    switched: set[str] = field(default_factory=set)  # tables whose readers see this publish
    live: bool = False  # the new _control/manifest.json is written: the whole publish is live


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


def _kpi_specs(con: duckdb.DuckDBPyConnection, models: dict[str, Model],
               partition_min_rows: int) -> list[TableSpec]:
    names = [t for t in platform.tables(con, "marts") if looker.is_published(t)]
    if not any(n.startswith("kpi_") for n in names):
        raise ThothError("the warehouse has no marts.kpi_* tables: run `thoth transform`")
    specs = [table_spec(con, n, models[f"marts.{n}"].meta if f"marts.{n}" in models else {},
                        partition_min_rows=partition_min_rows) for n in names]
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
            log: Callable[[str], None] = print,
            partition_min_rows: int = PARTITION_MIN_ROWS) -> PublishReport:
    """`partition_min_rows`: the average rows per date from which a table with a date grain is
    split into one Parquet file per date (see render)."""
    started = time.perf_counter()
    report = PublishReport(run_id or uuid.uuid4().hex[:12], target.url)
    con = open_warehouse(warehouse, read_only=True)
    try:
        # open_warehouse turns this off for fast loads; the files must follow the ORDER BY.
        con.execute("SET preserve_insertion_order = true")
        data_tests = passed_check(con)
        models = discover()
        specs = _kpi_specs(con, models, partition_min_rows)
        looker.check(specs, models)
        loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
        with tempfile.TemporaryDirectory(prefix="thoth-publish-") as workdir:
            tables = [render(con, spec, Path(workdir)) for spec in specs]
            tables.append(looker.publish_log(tables, Path(workdir)))
            con.close()
            catalogue = {k.name: k for k in kpis(models)}
            lookml = looker.project([t.spec for t in tables], dataset, models)
            try:
                _put_in_place(target, tables, catalogue, report, dataset, loads, data_tests,
                              log, {f"{looker.FOLDER}/{n}": text.encode()
                                    for n, text in lookml.items()})
            except storage_errors() as exc:
                raise _failed(target, report, len(tables), exc) from None
    finally:
        con.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _failed(target: Target, report: PublishReport, tables: int,
            exc: BaseException) -> PublishFailed:
    if report.live:
        outcome = (f"the new KPI publish (run {report.run_id}) is live; removing the files it "
                   "no longer lists did not finish (the next publish removes them)")
    elif report.switched:
        outcome = (f"{len(report.switched)} of {tables} tables already read as the new publish "
                   f"(run {report.run_id}), the rest as the previous one, table by table; the "
                   "next publish finishes it")
    else:
        outcome = "nothing was published: the previous KPI publish stays in place"
    return PublishFailed(str(failed(target, "publishing the KPIs to", exc, outcome)),
                         report.live)


@dataclass
class _Object:
    """One object a publish puts in place: from a local file or from bytes."""
    relative: str
    sha256: str
    size: int
    kind: str  # data (named after its content) | replaced (a fixed name, replaced whole)
    local: str | None = None
    data: bytes | None = None


def _from_bytes(relative: str, data: bytes) -> _Object:
    return _Object(relative, _sha(data), len(data), "replaced", data=data)


def _in_place(target: Target, objects: list[_Object], present: dict[str, int]) -> set[str]:
    """The objects already in place with the right bytes. A content-named file with its size is
    the file; a fixed name is read and compared, since a killed run may have replaced it."""
    same = set()
    for o in objects:
        if present.get(o.relative) != o.size:
            continue
        if o.kind == "data" or target.sha256(o.relative) == o.sha256:
            same.add(o.relative)
    return same


def _put(target: Target, staged: str, relative: str) -> None:
    """One step, seen whole or not at all: a rename in a directory, a server-side copy (one new
    object) on GCS."""
    if target.is_local:
        target.fs.mv(target.path(staged), target.path(relative))
    else:
        target.copy(staged, relative)


def _put_in_place(target: Target, tables: list[RenderedTable], catalogue: dict[str, Kpi],
                  report: PublishReport, dataset: str, loads: dict[str, datetime],
                  data_tests: dict, log: Callable[[str], None],
                  project_files: dict[str, bytes] | None = None) -> None:
    """`tables`: every published table, each with its files; `project_files`: the generated
    project (relative path → bytes): a table's LookML view goes with its entry, the rest (the
    model, manifest.lkml, dashboards) is listed under `generated`."""
    project_files = dict(project_files or {})
    present = target.listing()
    previous = manifest.listed(manifest.parse(target.read(manifest.PATH)))
    # What readers may be using now: the files the current table manifests list (a killed run
    # may have replaced some) and those the last whole publish listed.
    live = {p for p in present if p.startswith("bigquery/manifests/")}
    in_use = {f for p in live for f in manifest.bigquery_listed(target.read(p), target.gs_url)}
    in_use |= {p for p in previous if p.startswith("kpi/")}

    data: list[_Object] = []  # Parquet: new names, which nothing lists until a manifest does
    swaps: list[_Object] = []  # what readers go through: each table's CSV and BigQuery manifest
    generated_files: list[_Object] = []  # DDL, LookML
    switches: dict[str, str] = {}  # a swap's path → its table: once put, readers see the new one
    entries = {}
    for table in tables:
        name = table.spec.name
        kpi: Kpi | None = catalogue.get(name)
        definition = " ".join(kpi.definition.split()) if kpi else ""
        for f in table.files:
            o = _Object(f.relative, f.sha256, f.bytes, "data" if f.kind == "parquet"
                        else "replaced", local=f.local)
            (data if f.kind == "parquet" else swaps).append(o)
            if f.kind != "parquet":
                switches[o.relative] = name
        texts = {
            "bigquery_manifest": (manifest.bigquery_path(name),
                                  manifest.bigquery_manifest(table, target.gs_url)),
            "bigquery_ddl": (f"bigquery/{name}.sql", generated.bigquery_ddl(
                table.spec, dataset, target.gs_url(f"kpi/{name}/"),
                target.gs_url(manifest.bigquery_path(name)), definition).encode()),
        }
        view = f"{looker.FOLDER}/{name}.view.lkml"
        if view in project_files:
            texts["lookml"] = (view, project_files.pop(view))
        described = {}
        for key, (path, text) in texts.items():
            o = _from_bytes(path, text)
            (swaps if key == "bigquery_manifest" else generated_files).append(o)
            if key == "bigquery_manifest":
                switches[path] = name
            described[key] = {"path": path, "sha256": o.sha256}
        entries[name] = manifest.table_entry(
            table, requires=kpi.requires if kpi else [],
            freshness=freshness(kpi, loads) if kpi else None, generated=described)
        report.tables += 1
        report.rows += table.rows

    project = {path: _from_bytes(path, text) for path, text in project_files.items()}
    generated_files += project.values()
    objects = [*data, *swaps, *generated_files]
    same = _in_place(target, objects, present)
    todo = [o for o in objects if o.relative not in same]
    report.unchanged = [o.relative for o in objects
                        if o.relative in same and o.local is not None]

    # 3. Stage and verify.
    staging = f"{STAGING}/{report.run_id}"
    for o in todo:
        if o.local is not None:
            target.put(o.local, f"{staging}/{o.relative}")
        else:
            target.fs.pipe_file(target.path(f"{staging}/{o.relative}"), o.data)
    target.fs.invalidate_cache()
    for o in todo:
        if target.sha256(f"{staging}/{o.relative}") != o.sha256:
            raise ThothError(f"publish: {o.relative} reads back different from what was "
                             f"uploaded to {target.url}; nothing was put in place")
    # 4, 5. Into place, in that order: a table manifest goes in only after every file it lists.
    for o in todo:
        _put(target, f"{staging}/{o.relative}", o.relative)
        if o.relative in switches:
            report.switched.add(switches[o.relative])
        (report.uploaded if o.local is not None else report.generated).append(o.relative)
    if not target.is_local:
        target.remove([f"{staging}/{o.relative}" for o in todo])
    for table in tables:
        sent = sum(f.relative in report.uploaded for f in table.files)
        log(f"publish {table.spec.name}: {table.rows:,} rows, {len(table.files)} files, "
            f"{sent} uploaded")

    # 6. The manifest, last.
    listing = {path: {"path": path, "sha256": o.sha256} for path, o in project.items()}
    target.write_atomic(manifest.PATH, manifest.build(
        run_id=report.run_id, published_at=_now(), target=target.url, data_tests=data_tests,
        tables=entries, generated=listing))
    report.live = True

    # 7. Nothing current lists the rest, and no query started on the previous version needs it.
    keep = set(manifest.listed({"tables": entries, "generated": listing})) | in_use
    stale = sorted(p for p in target.listing() if p not in keep and (
        p.split("/", 1)[0] in MANAGED or (p.startswith("_control/") and ".tmp-" in p)))
    target.remove(stale)
    report.deleted = [p for p in stale if not p.startswith(f"{STAGING}/")]
