"""`thoth check`: the data tests declared beside each model, plus the KPI catalogue (each KPI's
YAML complete, its raw data loaded).

Each test is a query counting the rows that break it (transforms/data_tests.py), plus the
row-count guard of history tables (transforms/row_drop.py). A test whose query and inputs are
those of a test the last check ran (their fingerprint: transforms.fingerprints) is not run
again: its result stands, recorded again under this check. Every result has a severity: a
failed `error` fails the check and the publish step refuses to run after it; a failed `warn` is
printed as WARN and recorded, and blocks nothing. Results go to `platform.check_results`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from thoth.core import classification, platform
from thoth.core.duck import open_warehouse, transaction, utc_now
from thoth.core.errors import ThothError
from thoth.core.platform.checks import last_results
from transforms import fingerprints, row_drop
from transforms.data_tests import ERROR, WARN, DataTest, data_tests, identity_detail
from transforms.project import Model, build_order, discover, unavailable

__all__ = ["CheckResult", "DataTest", "data_tests", "last_warnings", "run_checks"]


@dataclass(frozen=True)
class CheckResult:
    model: str
    test: str
    column: str | None
    failures: int
    detail: str = ""
    severity: str = ERROR  # error: blocks publishing; warn: reported and alerted only
    fingerprint: str | None = None  # of the test's query and inputs; None: never reused

    @property
    def passed(self) -> bool:
        return self.failures == 0

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity != WARN

    @property
    def where(self) -> str:
        if self.test in ("identity", "expression"):  # `column` holds the test's own name
            return f"{self.model} [{self.column}]"
        return f"{self.model}.{self.column}" if self.column else self.model


def _run_test(con: duckdb.DuckDBPyConnection, test: DataTest,
              fingerprint: str | None = None) -> CheckResult:
    (failures,) = con.execute(test.sql).fetchall()[0]
    detail = ""
    if failures and test.examples_sql:
        detail = identity_detail(test, con.execute(test.examples_sql).fetchall(), failures)
    return CheckResult(test.model, test.test, test.column, failures, detail, test.severity,
                       fingerprint)


def _test_prints(con: duckdb.DuckDBPyConnection, models: dict[str, Model], built: set[str],
                 tests: list[DataTest]) -> dict[int, str | None]:
    """Each test's fingerprint (by its place in `tests`): its query and severity, and what the
    query reads now, as DuckDB's plan for it says (of a source table or a model table alike,
    the columns it reads), so an hour that changed no column a test reads runs it not again."""
    from transforms.build import source_columns

    present = {name: m for name, m in models.items() if name in built}
    try:
        order = build_order(present, built)
    except ThothError:  # a model reads what is not there: it fails its own test below
        return {}
    columns = source_columns(con)
    _, codes = fingerprints.code_of(order, columns)
    # A model table's own rows, not what it was built from, and of them only the columns the
    # test reads: whatever changed those is tested again (an hour's submitted tasks change
    # int_expected_tasks' dates, not the keys its grain test and int_task_submissions' read).
    tables = fingerprints.table_columns(
        con, {m.qualified for m in order if fingerprints.stored(m)})
    queries = {i: ([t.sql, t.examples_sql or "", t.severity], {t.model, *t.reads})
               for i, t in enumerate(tests)}
    plans = {i: ([q for q in sqls[:2] if q], names) for i, (sqls, names) in queries.items()}
    prints = fingerprints.of_queries(con, plans, present, codes, columns | tables, {})
    return {i: None if prints[i] is None else fingerprints.digest(queries[i][0], prints[i])
            for i in queries}


def _last_by_fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """The last check's results by their test's fingerprint: (failures, detail)."""
    if not platform.has_column(con, "check_results", "fingerprint"):
        return {}
    return {f: (n, d or "") for f, n, d in con.execute(
        "SELECT fingerprint, failures, detail FROM platform.check_results WHERE check_run_id = "
        "(SELECT check_run_id FROM platform.check_results ORDER BY checked_at DESC LIMIT 1) "
        "AND fingerprint IS NOT NULL").fetchall()}


def run_checks(warehouse: Path, *, log: Callable[[str], None] = print,
               absent_sources: frozenset[str] = frozenset()) -> bool:
    """Run every data test; record and print the results; True when all pass. Models skipped by
    the build because their source is not configured (`absent_sources`) are skipped here too."""
    from transforms.catalogue import catalogue_problems

    models = discover()
    con = open_warehouse(warehouse)
    try:
        platform.ensure(con, "check_results")
        built = platform.relations(con)
        last = _last_by_fingerprint(con)
        results: list[CheckResult] = []
        skipped = unavailable(models, built, absent_sources)
        for name, missing in skipped.items():
            log(f"skipped {name}: {', '.join(missing)} not loaded (source not configured)")
        # An identity with a skipped model is skipped too.
        tests = {model.qualified: [t for t in data_tests(model) if t.reads <= built]
                 for model in models.values()
                 if model.qualified not in skipped and model.qualified in built}
        planned = [t for model_tests in tests.values() for t in model_tests]
        by_place = _test_prints(con, models, built, planned)
        prints = iter([by_place.get(i) for i in range(len(planned))])
        for model in models.values():
            if model.qualified in skipped:
                continue
            if model.qualified not in built:
                results.append(CheckResult(model.qualified, "built", None, 1,
                                           "not built: run `thoth transform`"))
                continue
            for test in tests[model.qualified]:
                fingerprint = next(prints)
                if fingerprint in last:  # same query, same inputs: the same result
                    results.append(CheckResult(test.model, test.test, test.column,
                                               *last[fingerprint], test.severity, fingerprint))
                else:
                    results.append(_run_test(con, test, fingerprint))
            drop = row_drop.check(con, model, models)
            if drop:
                results.append(CheckResult(model.qualified, "max_row_drop", None, *drop))
        for problem in catalogue_problems(models, built, frozenset(skipped)):
            results.append(CheckResult("KPI catalogue", "catalogue", None, 1, problem))
        # Governance: no secret stored, no unclassified column in a model (classification.yml).
        for table, problem in classification.problems(con):
            results.append(CheckResult(table, "classification", None, 1, problem))
        # New source columns nobody classified yet: kept out of models and publishing, named as
        # a warning that blocks nothing (a Doubtfire upgrade must not stop every KPI).
        for table, problem in classification.unclassified_warnings(con):
            results.append(CheckResult(table, "classification", None, 1, problem, WARN))
        _record(con, results)
    finally:
        con.close()
    failed = [r for r in results if r.blocking]
    warned = [r for r in results if not r.passed and not r.blocking]
    for r in warned:
        log(f"WARN {r.test} {r.where}: {r.detail or f'{r.failures:,} rows'} (not blocking)")
    for r in failed:
        log(f"FAIL {r.test} {r.where}: {r.detail or f'{r.failures:,} rows'}")
    passed = len(results) - len(failed) - len(warned)
    log(f"{len(results)} checks, {passed} passed, {len(failed)} failed"
        + (f", {len(warned)} warnings (not blocking)" if warned else ""))
    return not failed


def _record(con: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    run_id, now = uuid.uuid4().hex[:12], utc_now()
    with transaction(con):  # one commit, not one per row (~1 s for 338 rows at scale 1)
        con.executemany(
            "INSERT INTO platform.check_results (check_run_id, checked_at, model, test, "
            "column_name, failures, passed, detail, severity, fingerprint) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[run_id, now, r.model, r.test, r.column, r.failures, r.passed, r.detail or None,
              r.severity, r.fingerprint] for r in results],
        )


def last_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The failed tests of the most recent `thoth check` that block nothing, one line each."""
    return [f"{r.test} {r.where}: {r.detail or f'{r.failures:,} rows'}"
            for r in (CheckResult(model, test, column, failures, detail or "", severity)
                      for model, test, column, failures, _, detail, severity
                      in last_results(con, failed_only=True))
            if r.severity == WARN]
