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
from dataclasses import dataclass, field

import duckdb

from thoth.core.duck import quote
from thoth.core.platform import row_changes
from transforms import incremental
from transforms.project import Model, reads_catalog, resolved_sql


def digest(*parts: object) -> str:
    """A short hash of the parts, each by its text."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def table_sums(con: duckdb.DuckDBPyConnection,
               tables: set[str]) -> dict[str, tuple[list[str], row_changes.Sums]]:
    """`schema.table` → (its columns with their types, its rows and sum of row hashes), for
    those the warehouse holds, in one scan each."""
    described = con.execute(
        "SELECT schema_name || '.' || table_name, list(column_name || ' ' || data_type "
        "ORDER BY column_index) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name || '.' || table_name IN (SELECT unnest(?)) GROUP BY 1",
        [sorted(tables)]).fetchall()
    out = {}
    for name, columns in described:
        schema, table = name.split(".", 1)
        out[name] = (columns, row_changes.sums(con, f"{quote(schema)}.{quote(table)}"))
    return out


def table_fingerprints(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, str]:
    """`schema.table` → its fingerprint, for those the warehouse holds."""
    return {name: _table_digest(columns, sums)
            for name, (columns, sums) in table_sums(con, tables).items()}


def _table_digest(columns: list[str], sums: row_changes.Sums) -> str:
    return digest(columns, sums.rows, sums.hashes)


def stored(model: Model) -> bool:
    """Whether the build makes a table (a Polars model always does), not a view."""
    return model.func is not None or model.materialized == "table"


def code(model: Model, resolved: str | None, columns: dict[str, set[str]]) -> str:
    """The model's code as built: its resolved SQL (the NULL columns an older source lacks
    included; with the source tables' columns when it reads the catalog), or its Polars
    module's source with the data files beside it (the helpers and the CSVs it reads)."""
    if model.sql is not None:
        catalog = (sorted((t, sorted(c)) for t, c in columns.items())
                   if reads_catalog(model.sql, model.qualified) else None)
        return digest(stored(model), resolved, catalog)
    files = [p.read_bytes() for p in sorted(model.path.parent.glob("*.csv"))]
    return digest(model.path.read_text(), model.name, sorted(model.func.polars_inputs.items()),
                  hashlib.sha256(b"".join(files)).hexdigest())


@dataclass(frozen=True)
class Prints:
    sqls: dict[str, str]  # each SQL model's resolved SQL
    models: dict[str, str | None]  # each model's fingerprint
    # An incremental model's fingerprint with its `changes_in` table left out, and that
    # table's sums (transforms.incremental).
    others: dict[str, str | None] = field(default_factory=dict)
    sums: dict[str, row_changes.Sums] = field(default_factory=dict)


def of_models(con: duckdb.DuckDBPyConnection, order: list[Model], columns: dict[str, set[str]],
              built: dict[str, str] | None = None) -> Prints:
    """Each model's fingerprint: as it would be built now, or with `built` as it holds now (see
    `model_fingerprints`). `columns`: the warehouse's source tables and their columns."""
    sqls = {m.qualified: resolved_sql(m, columns) for m in order if m.sql is not None}
    names = {m.qualified for m in order}
    sums = table_sums(con, {i for m in order for i in m.inputs if i not in names})
    raw = {name: _table_digest(*described) for name, described in sums.items()}
    codes = {m.qualified: code(m, sqls.get(m.qualified), columns) for m in order}
    prints = model_fingerprints(order, codes, raw, built)
    if built is not None:
        return Prints(sqls, prints)
    others, changes = {}, {}
    for model in order:
        table = incremental.changes_in(model)
        if table is None:
            continue
        left_out = model_fingerprints(order, codes, {**raw, table: "changes applied by row"})
        others[model.qualified] = left_out[model.qualified]
        if table in sums:
            changes[table] = sums[table][1]
    return Prints(sqls, prints, others, changes)


def model_fingerprints(order: list[Model], codes: dict[str, str], tables: dict[str, str],
                       built: dict[str, str] | None = None) -> dict[str, str | None]:
    """Each model's fingerprint, in build order: its code and its inputs' fingerprints (a raw
    table's, an upstream model's). An input the warehouse lacks (read as empty) counts as such.

    With `built` (model → its table's own fingerprint): what each model holds now, a table's
    being its rows (None: unknown), a view's what it reads now."""
    out: dict[str, str | None] = {}
    for model in order:
        if built is not None and stored(model):
            out[model.qualified] = built.get(model.qualified)
            continue
        inputs = sorted((i, out[i] if i in out else tables.get(i, "absent"))
                        for i in model.inputs)
        out[model.qualified] = (None if any(f is None for _, f in inputs)
                                else digest(codes[model.qualified], inputs))
    return out
