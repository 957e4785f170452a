"""What a model is made of, as one hash: its code and, through its inputs, every raw table it
reads, Merkle-style. Two builds from equal fingerprints give equal tables (models are pure
functions of their inputs; "now" is the snapshot, platform.load_state, itself an input), so the
build rebuilds only the models whose fingerprint moved, and the check re-runs only the tests
whose models' did (issue #25: the hourly run's cost follows the change, not the size).

A raw table's fingerprint is its columns, its row count and the sum of a hash of every row:
whoever changed it (a load, retention, an erasure, a restore) changes it, and no writer has to
say so.
"""

from __future__ import annotations

import hashlib

import duckdb

from thoth.core.duck import quote
from transforms.project import Model


def _hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def table_fingerprints(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, str]:
    """`schema.table` → its fingerprint, for those the warehouse holds, in one scan each."""
    described = con.execute(
        "SELECT schema_name || '.' || table_name, list(column_name || ' ' || data_type "
        "ORDER BY column_index) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name || '.' || table_name IN (SELECT unnest(?)) GROUP BY 1",
        [sorted(tables)]).fetchall()
    out = {}
    for name, columns in described:
        schema, table = name.split(".", 1)
        relation = f"{quote(schema)}.{quote(table)}"
        # hash(row) over the whole row as a struct: every column counts.
        rows, total = con.execute(f"SELECT count(*), sum(hash(r)) FROM {relation} AS r").fetchone()
        out[name] = _hash(columns, rows, total)
    return out


def code(model: Model, resolved: str | None) -> str:
    """The model's code as built: its resolved SQL (the NULL columns an older source lacks
    included), or its Polars module's source (the helpers beside the function count too)."""
    if model.sql is not None:
        return _hash(model.materialized, resolved)
    return _hash(model.path.read_text(), model.name, sorted(model.func.polars_inputs.items()))


def model_fingerprints(order: list[Model], codes: dict[str, str],
                       tables: dict[str, str]) -> dict[str, str]:
    """Each model's fingerprint, in build order: its code and its inputs' fingerprints (a raw
    table's, an upstream model's). An input the warehouse lacks (read as empty) counts as such."""
    out: dict[str, str] = {}
    for model in order:
        inputs = sorted((i, out.get(i) or tables.get(i, "absent")) for i in model.inputs)
        out[model.qualified] = _hash(codes[model.qualified], inputs)
    return out
