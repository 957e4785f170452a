"""What a model is made of, as one hash: its code and, through its inputs, every raw table it
reads, Merkle-style. Two builds from equal fingerprints give equal tables (models are pure
functions of their inputs; "now" is the snapshot, platform.load_state, itself an input), so the
build rebuilds only the models whose fingerprint moved, and the check re-runs only the tests
whose models' did (issue #25: the hourly run's cost follows the change, not the size).

A raw table's fingerprint is its columns, its row count and the sum of a hash of every row:
whoever changed it (a load, retention, an erasure, a restore) changes it, and no writer has to
say so. A stored model's own fingerprint takes of each table only the columns DuckDB's plan for
it reads (its optimizer prunes every column the model cannot see, through every view between):
an hour that only touched `updated_at`, which no KPI reads, rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


def table_columns(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, set[str]]:
    """`schema.table` → its columns, for those the warehouse holds (as `reads` wants them)."""
    out: dict[str, set[str]] = {}
    for name, column in con.execute(
            "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() "
            "AND schema_name || '.' || table_name IN (SELECT unnest(?))",
            [sorted(tables)]).fetchall():
        out.setdefault(name, set()).add(column)
    return out


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


def code_of(order: list[Model], columns: dict[str, set[str]]
            ) -> tuple[dict[str, str], dict[str, str]]:
    """(each SQL model's resolved SQL, each model's `code`)."""
    sqls = {m.qualified: resolved_sql(m, columns) for m in order if m.sql is not None}
    return sqls, {m.qualified: code(m, sqls.get(m.qualified), columns) for m in order}


@dataclass(frozen=True)
class Prints:
    sqls: dict[str, str]  # each SQL model's resolved SQL
    # A stored model's fingerprint (`stored_prints`): a build keeps the table while it holds.
    stored: dict[str, str]
    # An incremental model's fingerprint with its `changes_in` table left out, and that
    # table's sums (transforms.incremental).
    others: dict[str, str | None] = field(default_factory=dict)
    sums: dict[str, row_changes.Sums] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    narrow: dict = field(default_factory=dict)  # `_column_digests` so far

    def restated(self, con: duckdb.DuckDBPyConnection, order: list[Model],
                 columns: dict[str, set[str]]) -> Prints:
        """The stored models' fingerprints again, from the plans of the models as now built
        (before a build, a view about to change still reads as it did): what a build records."""
        changes = {m.qualified: t for m in order if (t := incremental.changes_in(m))}
        stored_, others = stored_prints(con, order, self.codes, self.sqls, columns, changes,
                                        self.narrow)
        return Prints(self.sqls, stored_, others, self.sums, self.codes, self.narrow)


def of_models(con: duckdb.DuckDBPyConnection, order: list[Model],
              columns: dict[str, set[str]]) -> Prints:
    """Each stored model's fingerprint as it would be built now (see `stored_prints`), and each
    incremental model's. `columns`: the warehouse's source tables and their columns."""
    sqls, codes = code_of(order, columns)
    changes = {m.qualified: t for m in order if (t := incremental.changes_in(m))}
    narrow: dict = {}
    stored_, others = stored_prints(con, order, codes, sqls, columns, changes, narrow)
    sums = {t: described[1] for t, described in table_sums(con, set(changes.values())).items()}
    return Prints(sqls, stored_, others, sums, codes, narrow)


# Scans of what the plan itself made (a CTE, a join's duplicates, constants), not of a table.
_INNER_SCANS = frozenset({"CTE_SCAN", "DELIM_SCAN", "CHUNK_SCAN", "COLUMN_DATA_SCAN",
                          "DUMMY_SCAN", "EXPRESSION_SCAN", "EMPTY_RESULT"})


_PLANNING: set[int] = set()  # the connections (by id) inside `_planning`


@contextmanager
def _planning(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Plans made from the query alone: DuckDB's statistics propagation would answer some
    queries from the data's statistics (a NULL count, an empty join) and leave a table out of
    the plan that the query still depends on. Nested: the setting is made once (a check plans
    ~350 tests, each setting read and made twice took ~0.3 s at scale 1)."""
    if id(con) in _PLANNING:
        yield
        return
    (disabled,) = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
    con.execute("SET disabled_optimizers = "
                f"'{','.join(filter(None, [disabled, 'statistics_propagation']))}'")
    _PLANNING.add(id(con))
    try:
        yield
    finally:
        _PLANNING.discard(id(con))
        con.execute(f"SET disabled_optimizers = '{disabled}'")


def reads(con: duckdb.DuckDBPyConnection, sql: str, tables: set[str],
          columns: dict[str, set[str]]) -> dict[str, frozenset[str] | None] | None:
    """The tables (of `tables`) DuckDB's plan for `sql` scans, each with the columns it reads
    (`columns` has them for source tables; a model table's are not needed: None). None when the
    plan cannot be made (an input not built yet) or scans something else."""
    try:
        with _planning(con):
            ((_, plan),) = con.execute(f"EXPLAIN (FORMAT json) {sql}").fetchall()
    except duckdb.Error:
        return None
    out: dict[str, set[str] | None] = {}
    nodes = json.loads(plan)
    while nodes:
        node = nodes.pop()
        if isinstance(node, list):
            nodes.extend(node)
            continue
        nodes.extend(node.get("children", []))
        info = node.get("extra_info")
        info = info if isinstance(info, dict) else {}
        if "Function" in info or (node.get("name", "").endswith("_SCAN") and "Table" not in info
                                  and node["name"] not in _INNER_SCANS):
            return None  # a table function (the catalog, a file) or a scan of unknown kind
        if "Table" not in info:
            continue
        # "database.schema.table": the longest known name it ends with.
        found = [t for t in tables if info["Table"].endswith(f".{t}")]
        if not found:
            return None
        table = max(found, key=len)
        if table not in columns:
            out[table] = None
            continue
        projected = info.get("Projections") or []
        read = {projected} if isinstance(projected, str) else set(projected)
        if not read <= columns[table]:
            return None
        # A filter pushed into the scan names its columns only in its text: every column
        # named there counts (more than it reads at worst, never fewer).
        text = str(info.get("Filters") or "")
        read |= {c for c in columns[table] if '"' in text  # a quoted name: every column
                 or re.search(rf"(?<!\w){re.escape(c)}(?!\w)", text)}
        out[table] = (out.get(table) or set()) | read
    return {t: None if c is None else frozenset(c) for t, c in out.items()}


def stored_prints(con: duckdb.DuckDBPyConnection, order: list[Model], codes: dict[str, str],
                  sqls: dict[str, str], columns: dict[str, set[str]], changes: dict[str, str],
                  narrow: dict) -> tuple[dict[str, str], dict[str, str | None]]:
    """(each stored model's fingerprint from what its plan reads: its code, the code of every
    view between it and the tables it scans, each scanned model table's own such fingerprint and
    each source table's columns it reads, counted and hashed; where the plan cannot tell (the
    model reads the catalog, an input is not built yet), its whole fingerprint: its code and its
    inputs', down to every row of the source tables; each incremental model's (`changes`: model
    → its `changes_in`) with that table left out). `narrow`: the column digests made so far,
    added to."""
    models = {m.qualified: m for m in order}
    plans: dict[str, dict[str, frozenset[str] | None] | None] = {}
    known = set(columns) | set(models)
    for model in order:
        if not stored(model):
            continue
        if model.sql is not None:
            plans[model.qualified] = (None if reads_catalog(model.sql, model.qualified)
                                      else reads(con, sqls[model.qualified], known, columns))
            continue
        plan: dict[str, frozenset[str] | None] | None = {}
        for name, wanted in model.func.polars_inputs.items():
            one = reads(con, f"SELECT {', '.join(wanted) or '*'} FROM {name}", known, columns)
            if one is None:
                plan = None
                break
            for table, cols in one.items():
                plan[table] = None if cols is None else (plan.get(table) or frozenset()) | cols
        plans[model.qualified] = plan
    wanted = {(t, c) for plan in plans.values() if plan for t, c in plan.items() if c is not None}
    narrow.update(_column_digests(con, wanted - narrow.keys(), columns))

    out: dict[str, str] = {}
    others: dict[str, str | None] = {}

    def fingerprint(model: Model, left_out: str | None = None) -> str | None:
        plan = plans.get(model.qualified)
        if plan is None:
            return None
        inputs = []
        for table, cols in sorted(plan.items(), key=lambda item: item[0]):
            if table == left_out:
                inputs.append((table, "changes applied by row"))
            elif cols is None:  # a model table: its own fingerprint
                if table not in out:
                    return None
                inputs.append((table, out[table]))
            else:
                inputs.append((table, narrow[(table, cols)]))
        return digest(codes[model.qualified], _views(models, codes, model.inputs), inputs)

    unplanned = [m for m in order if stored(m) and plans.get(m.qualified) is None]
    whole = _whole_prints(con, order, codes, unplanned) if unplanned else {}
    for model in order:
        if not stored(model):
            continue
        found = fingerprint(model)
        out[model.qualified] = found or f"whole {whole.get(model.qualified)}"
        if model.qualified in changes:
            others[model.qualified] = fingerprint(model, changes[model.qualified])
    return out, others


def _whole_prints(con: duckdb.DuckDBPyConnection, order: list[Model], codes: dict[str, str],
                  wanted: list[Model]) -> dict[str, str | None]:
    """`model_fingerprints` of the models in `wanted` (and what they read), every row of the
    source tables below them hashed."""
    models = {m.qualified: m for m in order}
    reach, stack = set(), [m.qualified for m in wanted]
    while stack:
        name = stack.pop()
        if name not in reach:
            reach.add(name)
            stack.extend(models[name].inputs if name in models else [])
    raw = table_fingerprints(con, {n for n in reach if n not in models})
    return model_fingerprints([m for m in order if m.qualified in reach], codes, raw)


def _views(models: dict[str, Model], codes: dict[str, str],
           names: set[str]) -> list[tuple[str, str]]:
    """The code of every view between these models (or tables) and the tables they read."""
    seen, stack = {}, list(names)
    while stack:
        name = stack.pop()
        if name in models and not stored(models[name]) and name not in seen:
            seen[name] = codes[name]
            stack.extend(models[name].inputs)
    return sorted(seen.items())


def of_queries(con: duckdb.DuckDBPyConnection, queries: dict[object, tuple[list[str], set[str]]],
               models: dict[str, Model], codes: dict[str, str], columns: dict[str, set[str]],
               own: dict[str, str]) -> dict[object, str | None]:
    """Each group of queries' fingerprint from what DuckDB's plans for them read, as a stored
    model's (`stored_prints`): key → (the queries, the models they name). `own`: each model
    table's fingerprint of its own rows. None where a plan cannot tell."""
    known = set(columns) | set(models)
    plans: dict[object, dict[str, frozenset[str] | None] | None] = {}
    with _planning(con):
        for key, (sqls, _) in queries.items():
            plan: dict[str, frozenset[str] | None] | None = {}
            for sql in sqls:
                one = reads(con, sql, known, columns)
                if one is None:
                    plan = None
                    break
                for table, cols in one.items():
                    plan[table] = (None if cols is None
                                   else (plan.get(table) or frozenset()) | cols)
            plans[key] = plan
    wanted = {(t, c) for plan in plans.values() if plan for t, c in plan.items() if c is not None}
    narrow = _column_digests(con, wanted, columns)
    out: dict[object, str | None] = {}
    for key, plan in plans.items():
        inputs = []
        for table, cols in sorted((plan or {}).items(), key=lambda item: item[0]):
            if cols is None and table not in own:
                plan = None
                break
            inputs.append((table, own[table] if cols is None else narrow[(table, cols)]))
        sqls, names = queries[key]
        out[key] = None if plan is None else digest(sqls, _views(models, codes, names), inputs)
    return out


def _column_digests(con: duckdb.DuckDBPyConnection, wanted: set[tuple[str, frozenset[str]]],
                    columns: dict[str, set[str]]) -> dict[tuple[str, frozenset[str]], str]:
    """(source table, columns) → those columns' names and types, the table's row count and the
    sum of a hash of those columns of every row: one scan per table."""
    types = dict(con.execute(
        "SELECT schema_name || '.' || table_name || '.' || column_name, data_type "
        "FROM duckdb_columns() WHERE database_name = current_database()").fetchall())
    out = {}
    for table in sorted({t for t, _ in wanted}):
        sets = sorted((sorted(c) for t, c in wanted if t == table), key=str)
        hashes = [f"sum(hash({', '.join(quote(c) for c in cols)}))" if cols else "0"
                  for cols in sets]
        schema, name = table.split(".", 1)
        rows, *sums = con.execute(f"SELECT count(*), {', '.join(hashes)} "
                                  f"FROM {quote(schema)}.{quote(name)}").fetchone()
        for cols, total in zip(sets, sums, strict=True):
            described = [f"{c} {types.get(f'{table}.{c}')}" for c in cols]
            out[(table, frozenset(cols))] = digest(described, rows, int(total or 0))
    return out


def model_fingerprints(order: list[Model], codes: dict[str, str],
                       tables: dict[str, str]) -> dict[str, str]:
    """Each model's whole fingerprint, in build order: its code and its inputs' fingerprints (a
    raw table's, an upstream model's). An input the warehouse lacks (read as empty) counts as
    such."""
    out: dict[str, str] = {}
    for model in order:
        inputs = sorted((i, out[i] if i in out else tables.get(i, "absent"))
                        for i in model.inputs)
        out[model.qualified] = digest(codes[model.qualified], inputs)
    return out
