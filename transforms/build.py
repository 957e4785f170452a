"""`thoth transform`: build every model in dependency order, in one transaction.

A failing model rolls the whole build back, so readers never see KPI tables from two builds.
Each build's row counts go to `platform.model_builds`; the row-count-drop data test reads them.
A table whose fingerprint (its code and every input, down to the raw tables: see
transforms.fingerprints) is the one it was last built from is kept as it is: the same inputs
make the same table, so an hourly build redoes only what the hour's change reaches.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from thoth.core import platform
from thoth.core.config import MIN_MEMORY_MB
from thoth.core.duck import limits, open_warehouse, transaction, utc_now
from thoth.core.errors import ThothError
from thoth.core.platform import builds, row_changes
from transforms import fingerprints, incremental
from transforms.project import (
    MODEL_SCHEMAS,
    SNAPSHOT_SOURCE,
    Model,
    build_order,
    discover,
    polars_function,
    unavailable,
)


@dataclass(frozen=True)
class ModelBuild:
    model: str
    rows: int | None
    seconds: float
    kept: bool = False  # its inputs and code unchanged since it was built: not rebuilt
    # An incremental model brought up to date by the rows the loads changed: how many of its
    # keys were made again (None: kept or built whole).
    applied: int | None = None


# Tables a model may read: every schema that is not a model schema or the platform's, and of the
# platform's only the loads' times (the snapshot, see SNAPSHOT_SOURCE).
_SOURCE_TABLES = ("WHERE database_name = current_database() AND (schema_name NOT IN ? "
                  "OR schema_name || '.' || table_name = ?)")


def warehouse_sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables the pipelines loaded, and platform.load_state."""
    rows = con.execute(
        f"SELECT schema_name || '.' || table_name FROM duckdb_tables() {_SOURCE_TABLES}",
        [[*MODEL_SCHEMAS, "platform"], SNAPSHOT_SOURCE],
    ).fetchall()
    return {r[0] for r in rows}


def source_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Each source table the pipelines loaded (and platform.load_state), with its columns."""
    out: dict[str, set[str]] = {}
    for table, column in con.execute(
        f"SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
        f"{_SOURCE_TABLES}",
        [[*MODEL_SCHEMAS, "platform"], SNAPSHOT_SOURCE],
    ).fetchall():
        out.setdefault(table, set()).add(column)
    return out


def snapshot_at(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The data's snapshot time: the end of the newest load of any source (None before any)."""
    if not platform.has_table(con, "load_state"):
        return None
    return con.execute("SELECT max(loaded_at) FROM platform.load_state").fetchone()[0]


def _count(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    return con.execute(f"SELECT count(*) FROM {model.qualified}").fetchall()[0][0]


def _kind(con: duckdb.DuckDBPyConnection, model: Model) -> str | None:
    """VIEW or TABLE: what the warehouse holds under the model's name (None: nothing)."""
    row = con.execute(
        "SELECT 'TABLE' FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? UNION ALL SELECT 'VIEW' FROM duckdb_views() "
        "WHERE database_name = current_database() AND schema_name = ? AND view_name = ?",
        [model.schema, model.name] * 2).fetchone()
    return row[0] if row else None


def _build_one(con: duckdb.DuckDBPyConnection, model: Model, sql: str | None,
               pseudonym_key: bytes) -> int | None:
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    held = _kind(con, model)
    if held is not None and held != kind:  # a view made a table (or back): REPLACE refuses
        con.execute(f"DROP {held} {model.qualified}")
    if model.sql is not None:
        con.execute(f"CREATE OR REPLACE {kind} {model.qualified} AS {sql}")
        if kind == "VIEW":
            return None
    else:
        _build_polars(con, model, pseudonym_key)
    return _count(con, model)


def _build_polars(con: duckdb.DuckDBPyConnection, model: Model, pseudonym_key: bytes) -> None:
    # The frames live outside DuckDB's buffers: DuckDB gives up seven eighths of its share
    # while they do (evicting what it cached), so the step's memory stays within its limit
    # (kpi_comment_activity's frames and sort take ~500 MB at scale 1; DuckDB only scans and
    # writes meanwhile).
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{max(limits().memory_mb // 8, MIN_MEMORY_MB)}MiB'")
    try:
        # Only the columns the model declares leave DuckDB (millions of rows at scale).
        frames = [con.sql(f"SELECT {', '.join(columns) or '*'} FROM {name}").pl()
                  for name, columns in model.func.polars_inputs.items()]
        result = polars_function(model, pseudonym_key)(*frames)
        del frames  # before the result is written
        if isinstance(result, pl.LazyFrame):
            result = result.collect()
        con.register("_polars_model_result", result)
        con.execute(f"CREATE OR REPLACE TABLE {model.qualified} AS "
                    "SELECT * FROM _polars_model_result")
        con.unregister("_polars_model_result")
    finally:
        con.execute(f"SET memory_limit = '{limit}'")


def build(warehouse: Path, *, pseudonym_key: bytes, log: Callable[[str], None] = print,
          absent_sources: frozenset[str] = frozenset(), full: bool = False) -> list[ModelBuild]:
    """`pseudonym_key`: the command's key, behind every student_key and tutor_key (the caller
    checks it is the warehouse's). `absent_sources`: raw schemas of sources not configured;
    models needing their missing tables are skipped with a line each (see `unavailable`).
    `full`: rebuild every table, its fingerprint unchanged or not."""
    con = open_warehouse(warehouse)
    try:
        models, sources = discover(), warehouse_sources(con)
        for name, missing in unavailable(models, sources, absent_sources).items():
            log(f"{name}: skipped, {', '.join(missing)} not loaded (source not configured)")
            del models[name]
        order = build_order(models, sources)
        columns = source_columns(con)
        prints = fingerprints.of_models(con, order, columns)
        sqls = prints.sqls
        before = {} if full else builds.fingerprints(con)
        specs = {m.qualified: found for m in order if (found := incremental.spec(m))}
        last = {} if full else incremental.states(con)
        seq = row_changes.newest(con)
        have = platform.relations(con)
        build_id, results = uuid.uuid4().hex[:12], []
        with transaction(con):
            for schema in MODEL_SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for model in order:
                started = time.perf_counter()
                name, found = model.qualified, specs.get(model.qualified)
                kept = (fingerprints.stored(model) and name in have
                        and before.get(name) == prints.stored[name])
                applied = (not kept and found is not None and name in have
                           and incremental.applicable(
                               con, found, last.get(name), prints.others.get(name),
                               prints.sums.get(found.changes_in)))
                try:
                    if kept or applied:
                        keys = applied and incremental.apply(con, model, found, sqls[name],
                                                             last[name].seq)
                        rows = _count(con, model)
                    else:
                        rows = _build_one(con, model, sqls.get(name), pseudonym_key)
                except duckdb.Error as exc:
                    raise ThothError(
                        f"model {name} failed: {str(exc).splitlines()[0]}") from None
                results.append(ModelBuild(name, rows, round(time.perf_counter() - started, 3),
                                          kept, keys if applied else None))
                what = "view" if rows is None else f"{rows:,} rows"
                log(f"{name}: {what}, " + (
                    "inputs unchanged, kept" if kept else
                    f"{keys:,} keys made again from the rows loads changed in "
                    f"{found.changes_in}, {results[-1].seconds:.2f} s" if applied else
                    f"{results[-1].seconds:.2f} s"))
            now = utc_now()
            builds.record(con, build_id, [(r.model, r.rows, r.seconds, now) for r in results],
                          snapshot_at=snapshot_at(con), engine="duckdb")
            built = prints.restated(con, order, columns)
            builds.record_fingerprints(con, built.stored, now)
            incremental.record(con, built.others, built.sums, specs, seq)
        return results
    finally:
        con.close()
