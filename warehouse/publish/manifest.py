"""What a publish put in place, said in two kinds of manifest.

- `bigquery/manifests/<table>.txt`, one per table: the `gs://` URI of each of its Parquet files, a
  line each. The table's BigQuery external table reads exactly these (`file_set_spec_type =
  'NEW_LINE_DELIMITED_MANIFEST'`); replacing this one object moves readers to a new version of
  the table at once.
- `_control/manifest.json`, written last: every table's files with their rows and sha256, the
  schema, freshness and the generated files. The next publish reads it to know what is already
  in place, and keeps what it lists for one more publish (a query that began on it can finish).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from warehouse.publish.render import PARTITION, RenderedTable

PATH = "_control/manifest.json"
VERSION = 2


def bigquery_path(table: str) -> str:
    return f"bigquery/manifests/{table}.txt"


def bigquery_manifest(table: RenderedTable, gs_url: Callable[[str], str]) -> bytes:
    """The table's Parquet files as BigQuery reads them: one `gs://` URI a line."""
    return "".join(f"{gs_url(f.relative)}\n" for f in table.files if f.kind == "parquet").encode()


def bigquery_listed(data: bytes | None, gs_url: Callable[[str], str]) -> set[str]:
    """The files (relative paths) a table manifest lists; nothing when unreadable."""
    base = gs_url("")
    try:
        lines = (data or b"").decode().splitlines()
    except UnicodeDecodeError:
        return set()
    return {line[len(base):] for line in lines if line.startswith(base)}


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
          tables: dict[str, dict], generated: dict[str, dict] | None = None) -> bytes:
    """`generated`: files of the publish as a whole (name → {"path", "sha256"})."""
    doc = {
        "manifest_version": VERSION,
        "run_id": run_id,
        "published_at": _iso(published_at),
        "target": target,
        "data_tests": data_tests,
        "tables": tables,
        **({"generated": generated} if generated else {}),
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
    """Every file the manifest lists (data and generated): path → sha256. A file is any
    `{"path", "sha256", …}` in a table's entry (its `files`, its manifest, DDL, LookML) or in
    the top-level `generated` (files that belong to no one table)."""
    files: dict[str, str] = {}

    def add(value: object) -> None:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and {"path", "sha256"} <= item.keys():
                files[item["path"]] = item["sha256"]

    for entry in doc["tables"].values():
        for value in entry.values():
            add(value)
    for value in (doc.get("generated") or {}).values():
        add(value)
    return files
