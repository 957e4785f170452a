"""`thoth check`: the data tests declared beside each model, plus the KPI catalogue's lineage.

Each test is a query counting the rows that break it. Results go to `platform.check_results`;
the publish step refuses to run after a failed check.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from thoth.duck import open_warehouse, utc_now
from thoth.duck import quote as _q
from thoth.errors import ThothError
from transforms.project import Model, discover, unavailable
from warehouse import classification

# A KPI table that shrinks by more than this between two builds is a failed or partial load.
DEFAULT_MAX_ROW_DROP = 0.15

DDL = """
CREATE SCHEMA IF NOT EXISTS platform;
CREATE TABLE IF NOT EXISTS platform.check_results (
    check_run_id VARCHAR NOT NULL,
    checked_at   TIMESTAMP NOT NULL,
    model        VARCHAR NOT NULL,
    test         VARCHAR NOT NULL,
    column_name  VARCHAR,
    failures     BIGINT NOT NULL,
    passed       BOOLEAN NOT NULL,
    detail       VARCHAR
);
"""


@dataclass(frozen=True)
class CheckResult:
    model: str
    test: str
    column: str | None
    failures: int
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.failures == 0


@dataclass(frozen=True)
class DataTest:
    model: str
    test: str
    column: str | None
    sql: str  # counts failing rows



def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _column_tests(model: Model, column: str, spec: object) -> Iterator[DataTest]:
    table, col = model.qualified, _q(column)
    for test in spec or []:
        name, arg = (test, None) if isinstance(test, str) else next(iter(test.items()))
        if name == "not_null":
            sql = f"SELECT count(*) FROM {table} WHERE {col} IS NULL"
        elif name == "unique":
            sql = (f"SELECT count(*) FROM (SELECT {col} FROM {table} WHERE {col} IS NOT NULL "
                   f"GROUP BY {col} HAVING count(*) > 1)")
        elif name == "accepted_values":
            values = ", ".join(_literal(v) for v in arg)
            sql = f"SELECT count(*) FROM {table} WHERE {col} NOT IN ({values})"
        elif name == "range":
            bounds = [f"{col} < {arg['min']}" if "min" in arg else None,
                      f"{col} > {arg['max']}" if "max" in arg else None]
            sql = f"SELECT count(*) FROM {table} WHERE " + " OR ".join(b for b in bounds if b)
        elif name == "relationships":
            parent, parent_col = arg.rsplit(".", 1)
            sql = (f"SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND {col} NOT IN "
                   f"(SELECT {_q(parent_col)} FROM {parent})")
        else:
            raise ThothError(f"{model.path.with_suffix('.yml')}: unknown test {name!r} on {column}")
        yield DataTest(table, name, column, sql)


def data_tests(model: Model) -> Iterator[DataTest]:
    meta = model.meta
    for column, spec in (meta.get("columns") or {}).items():
        yield from _column_tests(model, column, (spec or {}).get("tests"))
    if meta.get("grain"):
        cols = ", ".join(_q(c) for c in meta["grain"])
        yield DataTest(model.qualified, "unique_grain", ",".join(meta["grain"]),
                       f"SELECT count(*) FROM (SELECT {cols} FROM {model.qualified} "
                       f"GROUP BY ALL HAVING count(*) > 1)")


def _row_drop(con: duckdb.DuckDBPyConnection, model: Model) -> CheckResult | None:
    limit = model.meta.get("max_row_drop", DEFAULT_MAX_ROW_DROP)
    builds = con.execute(
        "SELECT rows FROM platform.model_builds WHERE model = ? AND rows IS NOT NULL "
        "ORDER BY built_at DESC LIMIT 2", [model.qualified],
    ).fetchall()
    if len(builds) < 2 or not builds[1][0]:
        return None
    now, before = builds[0][0], builds[1][0]
    dropped = (before - now) / before
    return CheckResult(model.qualified, "max_row_drop", None, int(dropped > limit),
                       f"{before:,} → {now:,} rows ({dropped:+.0%} drop, limit {limit:.0%})"
                       if dropped > limit else "")


def run_checks(warehouse: Path, *, log: Callable[[str], None] = print,
               absent_sources: frozenset[str] = frozenset()) -> bool:
    """Run every data test; record and print the results; True when all pass. Models skipped by
    the build because their source is not configured (`absent_sources`) are skipped here too."""
    from transforms.catalogue import catalogue_problems

    models = discover()
    con = open_warehouse(warehouse)
    try:
        con.execute(DDL)
        built = {r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views()"
        ).fetchall()}
        results: list[CheckResult] = []
        skipped = unavailable(models, built, absent_sources)
        for name, missing in skipped.items():
            log(f"skipped {name}: {', '.join(missing)} not loaded (source not configured)")
        for model in models.values():
            if model.qualified in skipped:
                continue
            if model.qualified not in built:
                results.append(CheckResult(model.qualified, "built", None, 1,
                                           "not built: run `thoth transform`"))
                continue
            for test in data_tests(model):
                (failures,) = con.execute(test.sql).fetchall()[0]
                results.append(CheckResult(test.model, test.test, test.column, failures))
            if model.materialized == "table":
                drop = _row_drop(con, model)
                if drop:
                    results.append(drop)
        for problem in catalogue_problems(models, built, frozenset(skipped)):
            results.append(CheckResult("transforms/kpis.yml", "catalogue", None, 1, problem))
        # Governance: no secret stored, no unclassified column in a model (classification.yml).
        for table, problem in classification.problems(con):
            results.append(CheckResult(table, "classification", None, 1, problem))
        warnings = governance_warnings(con)
        _record(con, results)
    finally:
        con.close()
    for line in warnings:
        log(f"WARN classification {line}")
    failed = [r for r in results if not r.passed]
    for r in failed:
        where = f"{r.model}.{r.column}" if r.column else r.model
        log(f"FAIL {r.test} {where}: {r.detail or f'{r.failures:,} rows'}")
    log(f"{len(results)} checks, {len(results) - len(failed)} passed, {len(failed)} failed")
    return not failed


def governance_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Warnings that never fail the check, so publishing goes on: source columns nobody has
    classified yet (loaded, treated as personal until then; warehouse/classification.py)."""
    return classification.unclassified_warnings(con)


def _record(con: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    run_id, now = uuid.uuid4().hex[:12], utc_now()
    con.executemany(
        "INSERT INTO platform.check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [[run_id, now, r.model, r.test, r.column, r.failures, r.passed, r.detail or None]
         for r in results],
    )


def last_check_passed(con: duckdb.DuckDBPyConnection) -> bool | None:
    """Whether the most recent `thoth check` passed; None when none has run."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'platform' "
                       "AND table_name = 'check_results'").fetchall():
        return None
    row = con.execute(
        "SELECT bool_and(passed) FROM platform.check_results WHERE check_run_id = "
        "(SELECT check_run_id FROM platform.check_results ORDER BY checked_at DESC LIMIT 1)"
    ).fetchall()[0]
    return row[0]
