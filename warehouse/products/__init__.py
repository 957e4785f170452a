"""The data products: insights back into OnTrack and SplashKit, written by `thoth publish` (and so
by `thoth run`, after a passing check) to their own target, PRODUCTS__BUCKET_URL — never the
Looker one.

    ontrack/v1/units/<unit_id>.json, units/index.json   OnTrack unit insights (unit_insights.py)
    ontrack/v1/attention/<unit_id>.json                  students needing attention (attention.py)
    splashkit/v1/usage.json                              SplashKit usage insights (splashkit.py)
    schemas/…                                            their JSON Schemas (2020-12)
    _control/manifest.json                               written last

Order: refuse unless the last `thoth check` passed and the products target is not the Looker
target; build every document and validate it against its schema (nothing is written if one
fails); upload the files whose bytes changed; write the manifest; remove what it no longer
lists; record what was written in `platform.audit`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from thoth.core.classification import product_class
from thoth.core.duck import open_warehouse, utc_now
from thoth.core.errors import ThothError
from thoth.core.platform import audit, builds, load_state
from thoth.core.storage import Target, failed, storage_errors
from transforms.project import discover, lineage
from warehouse.products import attention, splashkit, store, unit_insights
from warehouse.products.attention import Thresholds
from warehouse.publish import passed_check

# product → the schema of each kind of file (by path prefix)
SCHEMA_OF = {
    unit_insights.INDEX: "schemas/ontrack/v1/units-index.schema.json",
    unit_insights.PREFIX: "schemas/ontrack/v1/unit.schema.json",
    attention.PREFIX: "schemas/ontrack/v1/attention.schema.json",
    splashkit.PATH: "schemas/splashkit/v1/usage.schema.json",
}
SCHEMA_FILES = sorted(set(SCHEMA_OF.values()))


@dataclass
class ProductsReport:
    run_id: str
    target: str
    files: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    units: int = 0
    flagged: int = 0
    seconds: float = 0.0
    live: bool = False  # the new manifest is written: readers see these products


def check_targets(products: Target, looker: Target) -> None:
    """The attention lists are personal: they go to the products target only. Refused before
    anything is published when that target is the Looker one, or inside it, or holds it."""
    if store.overlaps(products, looker):
        raise ThothError(f"PRODUCTS__BUCKET_URL ({products.url}) and PUBLISH__BUCKET_URL "
                         f"({looker.url}) are the same place or one holds the other: the data "
                         "products include personal data (students needing attention), which "
                         "must never reach the Looker target; give the products their own "
                         "bucket or folder. Nothing was published")


def _schema(path: str) -> str:
    if path in SCHEMA_OF:
        return SCHEMA_OF[path]
    return next(s for prefix, s in SCHEMA_OF.items() if path.startswith(prefix + "/"))


def _freshness(con: duckdb.DuckDBPyConnection, sources: list[str]) -> dict[str, str | None]:
    """Per model: the oldest last load among the raw tables it is built from (None: one never
    loaded)."""
    loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
    models = discover()
    out = {}
    for source in sources:
        times = [loads.get(t) for t in sorted(lineage(models, source))]
        out[source] = (None if not times or any(t is None for t in times)
                       else min(times).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


def render(con: duckdb.DuckDBPyConnection, as_of: datetime,
           thresholds: Thresholds) -> list[store.ProductFile]:
    """Every product file, validated against its schema."""
    fresh = _freshness(con, [unit_insights.SOURCES["weekly"], unit_insights.SOURCES["backlog"]])
    units, docs = unit_insights.build(con, as_of, fresh)
    docs |= attention.build(con, units, as_of, thresholds)
    if splashkit.available(con):
        docs |= splashkit.build(con, as_of, _freshness(con, [splashkit.SOURCE])[splashkit.SOURCE])
    files = []
    for path, doc in sorted(docs.items()):
        schema = _schema(path)
        store.validate(doc, schema, path)
        files.append(store.ProductFile(path, store.encode(doc), doc["product"],
                                       product_class(doc["product"]), schema))
    for schema in SCHEMA_FILES:
        files.append(store.ProductFile(schema, store.schema_text(schema), "schemas", "public",
                                       schema))
    return files


def publish_products(warehouse: Path, target: Target, *, looker: Target | None = None,
                     thresholds: Thresholds | None = None, run_id: str | None = None,
                     as_of: datetime | None = None,
                     log: Callable[[str], None] = print) -> ProductsReport:
    started = time.perf_counter()
    report = ProductsReport(run_id or uuid.uuid4().hex[:12], target.url)
    if looker is not None:
        check_targets(target, looker)
    con = open_warehouse(warehouse, read_only=True)
    try:
        # The marts' "now" (their snapshot), so a rebuild with nothing loaded publishes nothing.
        as_of = as_of or builds.last_snapshot_at(con) or utc_now()
        data_tests = passed_check(con)
        files = render(con, as_of, thresholds or Thresholds())
    finally:
        con.close()
    try:
        _put_in_place(target, files, report, as_of, data_tests)
    except storage_errors() as exc:
        raise failed(target, "publishing the data products to", exc, (
            "the new data products are live; removing the files they no longer list did not "
            "finish (the next publish removes them)") if report.live else (
            "the data products were not published: their manifest is the previous one (files "
            "already rewritten are whole)")) from None
    report.units = sum(1 for f in files if f.path.startswith(unit_insights.PREFIX + "/")
                       and f.path != unit_insights.INDEX)
    _record(warehouse, report, files)
    report.seconds = round(time.perf_counter() - started, 3)
    log(f"products: {report.files} files to {target.url}, {len(report.written)} written, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; {report.units} "
        f"units, {report.flagged} projects flagged for attention")
    return report


def _put_in_place(target: Target, files: list[store.ProductFile], report: ProductsReport,
                  as_of: datetime, data_tests: dict) -> None:
    previous = store.read_manifest(target)["files"]
    present = target.listing()
    for f in files:
        listed = previous.get(f.path) or {}
        if listed.get("sha256") == f.sha256 and present.get(f.path) == len(f.data):
            report.unchanged.append(f.path)
            continue
        store.write(target, f.path, f.data, f.classification)
        report.written.append(f.path)
    report.files = len(files)
    products: dict[str, dict] = {}
    for f in files:
        entry = products.setdefault(f.product, {"classification": f.classification,
                                                "schema": f.schema, "files": 0})
        entry["files"] += 1
    entries = {f.path: store.file_entry(f) for f in files}
    store.write(target, store.MANIFEST, store.manifest(
        run_id=report.run_id, published_at=utc_now(), target=target.url, as_of=as_of,
        data_tests=data_tests, files=entries, products=products), "internal")
    report.live = True
    report.removed = store.stale(target, set(entries))
    target.remove(report.removed)
    report.flagged = sum(_flagged(f) for f in files if f.path.startswith(attention.PREFIX + "/"))


def _flagged(f: store.ProductFile) -> int:
    return int(json.loads(f.data)["flagged"])


def _record(warehouse: Path, report: ProductsReport, files: list[store.ProductFile]) -> None:
    """Each write in platform.audit: the files written (personal ones marked) and removed."""
    if not report.written and not report.removed:
        return
    classes = {f.path: f.classification for f in files}
    con = open_warehouse(warehouse)
    try:
        audit.record(con, "products-publish", f"run {report.run_id}", {
            "target": report.target,
            "written": [{"path": p, "classification": classes[p]} for p in report.written],
            "removed": report.removed,
            "unchanged": len(report.unchanged),
        })
    finally:
        con.close()
