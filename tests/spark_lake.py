"""A minimal lake writer for the spark tests, following thoth/core/lake.py's contract: each raw
table of a warehouse COPYed to one Parquet file, the manifest written last. Temporary: replaced by
warehouse/lake (`thoth lake`) once that lands on main."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from thoth.core.lake import write_manifest
from thoth.core.storage import open_target

RAW_SKIP = ("staging", "intermediate", "marts", "platform")


def write_lake(warehouse: Path, root: Path) -> dict:
    target = open_target(str(root), section="lake")
    tables = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        names = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name NOT IN ? "
            "ORDER BY 1, 2", [list(RAW_SKIP)]).fetchall()
        loaded = dict(con.execute(
            "SELECT source || '_raw.' || table_name, loaded_at FROM platform.load_state"
        ).fetchall()) if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'platform' "
            "AND table_name = 'load_state'").fetchone()[0] else {}
        for schema, table in names:
            if table.startswith("_dlt"):
                continue
            scratch = root / "_scratch.parquet"
            root.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY {schema}.{table} TO '{scratch}' (FORMAT parquet)")
            digest = hashlib.sha256(scratch.read_bytes()).hexdigest()[:16]
            relative = f"{schema}/{table}/part-{digest}.parquet"
            (root / schema / table).mkdir(parents=True, exist_ok=True)
            scratch.rename(root / relative)
            columns = dict(con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                "AND table_name = ? ORDER BY column_index", [schema, table]).fetchall())
            rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
            at = loaded.get(f"{schema}.{table}")
            tables[f"{schema}.{table}"] = {
                "files": [relative], "rows": rows, "columns": columns, "partition_by": None,
                "loaded_at": at.isoformat() + "Z" if at else None}
    stamps = [t["loaded_at"] for t in tables.values() if t["loaded_at"]]
    manifest = {"written_at": max(stamps, default=None), "snapshot_at": max(stamps, default=None),
                "tables": tables}
    write_manifest(target, manifest)
    return manifest
