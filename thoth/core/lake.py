"""The lake: the raw tables as Parquet, for a cluster to read (written by warehouse/lake, read by
the spark engine). Its layout is this module's contract, stated once:

    <root>/<schema>/<table>/[<column>=<value>/]part-<sha256 of the content, 16 hex>.parquet
    <root>/_manifest.json

Every Parquet file holds all of its table's columns (partition columns included), so a reader
needs only the manifest's file list, never a directory listing. The `<column>=<value>` folder is a
name for people and listings, not a column: read the files without partition discovery (DuckDB:
`read_parquet(files, hive_partitioning = false)`; Spark: the file paths themselves, no basePath).
Partitioned tables are written by warehouse/lake (`PARTITIONS`): the key is a month or day of a
time column (`created_month` of `created_at`), rows without one under
`__HIVE_DEFAULT_PARTITION__`. The manifest is written last and whole: a reader sees the previous
load or the new one, never half of one. Files the manifest no longer names are removed after it
is written.

    {"format": 1,
     "written_at": "2026-11-30T16:00:00Z",
     "snapshot_at": "2026-11-30T15:59:12Z",   # the newest load of any table below
     "tables": {"ontrack_raw.tasks": {
         "files": ["ontrack_raw/tasks/due_month=2026-11/part-0123456789abcdef.parquet", …],
         "rows": 1234,
         "columns": {"id": "BIGINT", "due_date": "DATE", …},   # DuckDB types, in order
         "partition_by": "due_month",                          # or null
         "loaded_at": "2026-11-30T15:59:12Z"}}}                # platform.load_state's
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from thoth.core.errors import ThothError
from thoth.core.storage import Target

FORMAT = 1
MANIFEST = "_manifest.json"


def iso(value: datetime | None) -> str | None:
    """A warehouse timestamp (naive UTC) as the manifest writes it: ISO 8601, `Z`, microseconds
    kept (a snapshot compared across engines must not lose them)."""
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def parse_iso(text: str | None) -> datetime | None:
    """The manifest's timestamp back as naive UTC; the inverse of `iso`."""
    return None if text is None else datetime.fromisoformat(text.removesuffix("Z"))


def read_manifest(target: Target) -> dict[str, Any] | None:
    """The lake's manifest; None when nothing was written there yet."""
    data = target.read(MANIFEST)
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except ValueError:
        raise ThothError(f"{target.url}/{MANIFEST} is not JSON: rewrite the lake with "
                         "`thoth lake --full`") from None
    if manifest.get("format") != FORMAT:
        raise ThothError(f"{target.url}/{MANIFEST} has format {manifest.get('format')!r}, this "
                         f"version reads {FORMAT}: rewrite the lake with `thoth lake --full`")
    return manifest


def write_manifest(target: Target, manifest: dict[str, Any]) -> None:
    """Written last, in one object: the moment the new load becomes visible. Keys in the order
    given, not sorted: a table's `columns` are in the table's order."""
    target.write_atomic(MANIFEST, json.dumps({"format": FORMAT, **manifest}, indent=1).encode())
