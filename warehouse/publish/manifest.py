"""`_control/manifest.json`: what a publish put in place, written last.

Readers (and the next publish) trust only the files it lists: each with its row count and
sha256. It sits outside the table prefixes, so BigQuery's `kpi/<table>/*` globs never see it."""

from __future__ import annotations

import json
from datetime import datetime

from warehouse.publish.render import PARTITION, RenderedTable

PATH = "_control/manifest.json"
VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def table_entry(table: RenderedTable, *, requires: list[str], freshness: datetime | None,
                generated: dict[str, dict]) -> dict:
    spec = table.spec
    return {
        "rows": table.rows,
        "grain": spec.grain,
        "description": spec.description,
        "partitioned_by": ({"key": PARTITION, "type": "DATE", "column": spec.date_column}
                           if spec.date_column else None),
        "schema": [{"name": c.name, "type": c.file_type, "bigquery_type": c.bigquery_type,
                    "description": c.description} for c in spec.columns],
        # The oldest last load among the raw tables the KPI is built from.
        "source_freshness": _iso(freshness),
        "requires": requires,
        "files": [
            {"path": f.relative, "format": f.kind, "rows": f.rows, "bytes": f.bytes,
             "sha256": f.sha256, **({PARTITION: f.partition} if f.partition else {})}
            for f in table.files
        ],
        **generated,
    }


def build(*, run_id: str, published_at: datetime, target: str, data_tests: dict,
          tables: dict[str, dict], looker: dict[str, str] | None = None) -> bytes:
    doc = {
        "manifest_version": VERSION,
        "run_id": run_id,
        "published_at": _iso(published_at),
        "target": target,
        "data_tests": data_tests,
        "tables": tables,
        # The LookML project's files that belong to no one table: path → sha256.
        "looker": looker or {},
    }
    return (json.dumps(doc, indent=2, sort_keys=False) + "\n").encode()


def parse(data: bytes | None) -> dict:
    """The manifest's content; an empty one when there is none (or it is unreadable)."""
    if not data:
        return {"tables": {}}
    try:
        doc = json.loads(data)
    except ValueError:
        return {"tables": {}}
    return doc if isinstance(doc.get("tables"), dict) else {"tables": {}}


def listed(doc: dict) -> dict[str, str]:
    """Every file the manifest lists (data and generated): path → sha256."""
    files: dict[str, str] = {}
    for entry in doc["tables"].values():
        for f in entry.get("files", []):
            files[f["path"]] = f["sha256"]
        for key in ("bigquery_ddl", "lookml"):
            if isinstance(entry.get(key), dict):
                files[entry[key]["path"]] = entry[key]["sha256"]
    if isinstance(doc.get("looker"), dict):
        files.update(doc["looker"])
    return files
