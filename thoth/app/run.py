"""`thoth run`, what cron runs: extract (OnTrack, GA4, landing, metrics scrape) → retention
(once a UTC day) → lake (with the spark engine) → transform → check → publish.

One run at a time per warehouse (a lock file; a second run exits 75 at once, like
cron/thoth-cron). A failing step stops the chain, so the last good publish stays what readers
see; the run is recorded in `platform.runs` and the alert hook is called.
"""

from __future__ import annotations

import fcntl
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from dlt.common.exceptions import DltException

from pipelines import unconfigured_sources
from thoth.app import alerts
from thoth.app.progress import Progress
from thoth.core import config, platform
from thoth.core.duck import open_warehouse
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import runs
from thoth.core.platform.runs import StepResult
from thoth.core.redaction import redactor

if TYPE_CHECKING:  # imported when used: `thoth status` needs neither storage nor products
    from thoth.core.storage import Target
    from warehouse.lake import LakeReport
    from warehouse.products import ProductsReport
    from warehouse.publish import PublishReport

EXIT_LOCKED = 75  # EX_TEMPFAIL, as cron/thoth-cron


class RunLocked(ThothError):
    exit_code = EXIT_LOCKED


class Skip(Exception):
    """A step with nothing to do, e.g. GA4 without property ids."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Held for the whole run; the kernel releases it when the process dies, even on SIGKILL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another `thoth run` or `thoth publish` holds {path}; this one did "
                            f"nothing (exit {EXIT_LOCKED})") from None
        yield


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[[Path, str, Callable[[str], None]], tuple[int | None, str]]
    unit: str = "rows"
    # False: its failure fails the run (exit 1, alert) but the later steps still run, for a
    # source whose gap the next run fills (a missed metrics scrape loses no increase).
    stops_chain: bool = True


def _extract_ontrack(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from pipelines.ontrack import job
    from warehouse.governance.after_load import apply as governance

    loads = job.run(warehouse, guard=governance, log=log)
    return sum(x.rows_loaded for x in loads), f"{len(loads)} tables"


def _extract_ga4(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from pipelines.ga4 import job

    # Not configured is not an error: the platform runs without GA4 until someone sets it (its
    # KPIs are skipped by transform and check while the warehouse holds no GA4 data).
    if "ga4_raw" in unconfigured_sources():
        raise Skip("SOURCES__GA4__PROPERTY_IDS is not set")
    loads = job.run(warehouse, log=log)
    return sum(x.rows_loaded for x in loads), f"{len(loads)} reports"


def _extract_landing(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from pipelines.landing import job

    # Like GA4: no landing zone configured is no error; its KPIs are skipped meanwhile.
    if "landing_raw" in unconfigured_sources():
        raise Skip("LANDING__BUCKET_URL is not set")
    feeds: list = []
    loads = job.run(warehouse, log=log, feed_runs=feeds)
    # A file that could not be read is quarantined and the step goes on: say so in its line.
    lines = sum(f.quarantined_lines for f in feeds)
    files = sum(f.quarantined_files for f in feeds)
    bad = f"; {lines:,} lines and {files:,} files quarantined" if lines or files else ""
    return sum(x.rows_loaded for x in loads), f"{len(loads)} feeds{bad}"


def _extract_metrics(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from pipelines.metrics import job

    # Like GA4: no scrape URLs is no error. An endpoint that fails fails this step (after the
    # other endpoints were stored) and the run, but not the chain: see EXTRACT.
    if "metrics_raw" in unconfigured_sources():
        raise Skip("SOURCES__ONTRACK_METRICS__SCRAPE_URLS is not set")
    loads = job.run(warehouse, log=log)
    return sum(x.rows_loaded for x in loads), "; ".join(x.flags or "" for x in loads)


def _transform(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from thoth.app.engine import build_models

    results = build_models(warehouse, log=log, absent_sources=unconfigured_sources())
    return sum(r.rows or 0 for r in results), f"{len(results)} models"


def _check(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from transforms.checks import run_checks

    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        log(line)

    if not run_checks(warehouse, log=keep, absent_sources=unconfigured_sources()):
        raise ThothError(lines[-1] if lines else "data tests failed")
    return None, lines[-1] if lines else ""


def retention_done_today(warehouse: Path) -> tuple[str, datetime] | None:
    """The run (id, start) that applied retention this UTC day, if one did: a retention step
    recorded `ok` in platform.runs (a run that failed later still applied it)."""
    today = datetime.combine(_now().date(), datetime.min.time())
    con = open_warehouse(warehouse, read_only=True)
    try:
        if not platform.has_table(con, "runs"):
            return None
        rows = con.execute("SELECT run_id, started_at, CAST(steps AS VARCHAR) FROM platform.runs "
                           "WHERE started_at >= ? ORDER BY started_at", [today]).fetchall()
    finally:
        con.close()
    for run_id, started_at, steps in rows:
        if any(s["step"] == RETENTION_STEP and s["status"] == "ok"
               for s in json.loads(steps or "[]")):
            return run_id, started_at
    return None


def _retention(warehouse: Path, run_id: str, log: Callable[[str], None]):
    from thoth.core.storage import configured_archive
    from warehouse.governance import retention

    # Once a UTC day whatever cron's cadence; a failed day is retried by the next run.
    archive = config.resolve(config.RetentionConfig())
    if not archive.in_run:
        raise Skip("RETENTION__IN_RUN is false: apply it with `thoth retention --apply`")
    policies = retention.load_policies(archive.policies_path)
    done = retention_done_today(warehouse)
    if done:
        # Again the same day only for rows that arrived past the cut-off since: archived now,
        # never left in the warehouse for a day nor dropped unarchived.
        con = open_warehouse(warehouse, read_only=True)
        try:
            late = retention.late_rows(con, policies)
        finally:
            con.close()
        if not late:
            raise Skip(f"done today by run {done[0]} at {done[1]:%H:%M} UTC")
        log("retention: rows older than the cut-off arrived since run "
            f"{done[0]}: {', '.join(f'{t} {n:,}' for t, n in late.items())}; archiving them")
    target = configured_archive()
    moves = retention.archive(warehouse, target, apply=True, policies=policies, log=log)
    archived = [m for m in moves if m.archive_id]
    where = "; ".join(f"{m.policy.table}: {m.rows:,} rows before {m.cutoff:%Y-%m-%d} to "
                      f"{target.path(m.archive_id)}" for m in archived)
    return (sum(m.rows for m in archived),
            f"{len(policies)} policies, {len(archived)} archived to {target.url}"
            + (f" ({where})" if where else ""))


def write_lake(warehouse: Path, *, full: bool = False, url: str | None = None,
               log: Callable[[str], None]) -> LakeReport:
    """The raw tables to the lake as configured (`[lake]`), or to `url`; never where the KPIs,
    the data products or the archives go."""
    from warehouse.lake import write_lake as write

    return write(warehouse, lake_target(url), full=full, log=log)


def lake_target(url: str | None = None) -> Target:
    """The lake as configured (or `url`), refused where the KPIs, the data products or the
    archives go: its sweep removes files it does not name."""
    from thoth.core.storage import configured_archive, configured_lake
    from warehouse.lake import check_apart

    lake = configured_lake(url)
    looker, products = publish_targets()
    check_apart(lake, {"PUBLISH__BUCKET_URL": looker, "PRODUCTS__BUCKET_URL": products,
                       "RETENTION__ARCHIVE_URL": configured_archive()})
    return lake


def _lake(warehouse: Path, run_id: str, log: Callable[[str], None]):
    # After the loads and retention (the lake mirrors the warehouse as it stays), before the
    # build: the spark engine builds from it.
    engine = config.resolve(config.WarehouseConfig()).engine
    if engine != "spark" and not config.resolve(config.LakeConfig()).in_run:
        raise Skip(f"WAREHOUSE__ENGINE is {engine} and LAKE__IN_RUN is false")
    report = write_lake(warehouse, log=log)
    return report.rows, (f"{len(report.tables)} tables to {report.target}: {report.written} "
                         f"files written, {report.kept} kept, {len(report.removed)} removed")


def publish_step(target_url: str | None = None, products_url: str | None = None) -> Step:
    """Publish the KPIs to `target_url` (else PUBLISH__BUCKET_URL), then the data products to
    `products_url` (else PRODUCTS__BUCKET_URL), which may not be the KPIs' target."""

    def _publish(warehouse: Path, run_id: str, log: Callable[[str], None]):
        report, made = publish_all(warehouse, *publish_targets(target_url, products_url),
                                   run_id=run_id, log=log)
        return report.rows, (f"{report.tables} tables to {report.target}: "
                             f"{len(report.uploaded)} files uploaded, "
                             f"{len(report.unchanged)} unchanged, {len(report.deleted)} removed; "
                             f"products to {made.target}: {len(made.written)} written, "
                             f"{len(made.unchanged)} unchanged, {len(made.removed)} removed")

    return Step("publish", _publish)


def publish_all(warehouse: Path, target: Target, products: Target, *, run_id: str | None = None,
                log: Callable[[str], None]) -> tuple[PublishReport, ProductsReport]:
    """The KPIs to `target`, then the data products to `products`. A failure says truly what
    readers see: the previous publish, or the new KPIs without the new products."""
    from warehouse.products import check_targets
    from warehouse.publish import PublishFailed, publish

    check_targets(products, target)  # the attention lists never go to the Looker target
    dataset = config.resolve(config.PublishConfig()).bigquery_dataset
    try:
        report = publish(warehouse, target, dataset=dataset, run_id=run_id, log=log)
    except PublishFailed as exc:
        raise PublishFailed(f"{exc}; the data products were not written", exc.live) from None
    try:
        made = publish_products(warehouse, products, target, run_id=report.run_id, log=log)
    except ThothError as exc:
        raise PublishFailed(f"{exc}; the new KPI publish (run {report.run_id}) is live at "
                            f"{target.url}", live=True) from None
    return report, made


def publish_targets(target_url: str | None = None,
                    products_url: str | None = None) -> tuple[Target, Target]:
    """The Looker target and the products target, as configured unless given."""
    from thoth.core.storage import configured_products, configured_publish

    return configured_publish(target_url), configured_products(products_url)


def publish_products(warehouse: Path, products: Target, looker: Target, *,
                     run_id: str | None = None, log: Callable[[str], None]) -> ProductsReport:
    """The data products, with the attention thresholds from configuration."""
    from warehouse.products import publish_products as publish
    from warehouse.products.attention import Thresholds

    return publish(warehouse, products, looker=looker, run_id=run_id, log=log,
                   thresholds=Thresholds.from_config(config.products_attention_option))


EXTRACT = [Step("extract ontrack", _extract_ontrack), Step("extract ga4", _extract_ga4),
           Step("extract landing", _extract_landing),
           # An endpoint down during a deploy must not hold back every KPI for the hour.
           Step("extract metrics", _extract_metrics, stops_chain=False)]
RETENTION_STEP = "retention"
RETENTION = Step(RETENTION_STEP, _retention)
LAKE = Step("lake", _lake)
TRANSFORM, CHECK = Step("transform", _transform), Step("check", _check)
BUILD = [TRANSFORM, CHECK, publish_step()]  # what `thoth run --skip-extract` runs
# Retention after the loads (they drop archived rows again) and before the build, so the KPIs
# and the row-drop guard see the warehouse as it stays; the lake after both, so it does too.
STEPS = [*EXTRACT, RETENTION, LAKE, *BUILD]



def _storage_errors() -> tuple[type[BaseException], ...]:
    from thoth.core.storage import storage_errors

    return storage_errors()


def _storage_cause(exc: BaseException) -> str:
    from thoth.core.storage import cause

    return cause(exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _step_line(result: StepResult) -> str:
    if result.status == "skipped":
        return f"{result.step}: skipped ({result.detail})"
    rows = f"{result.rows:,} rows, " if result.rows is not None else ""
    detail = f"; {result.detail}" if result.detail else ""
    return f"{result.step}: {result.status}, {rows}{result.seconds:.1f} s{detail}"


def summary(run_id: str, status: str, seconds: float, results: list[StepResult]) -> str:
    width = max(len(r.step) for r in results) if results else 0
    lines = [f"run {run_id} {status} in {seconds:.1f} s"]
    for r in results:
        rows = f"{r.rows:>12,} rows" if r.rows is not None else " " * 17
        lines.append(f"  {r.step:<{width}}  {r.status:<7}  {rows}  {r.seconds:6.1f} s"
                     + (f"  {r.detail}" if r.detail else ""))
    return "\n".join(lines)


def run(warehouse: Path, *, steps: list[Step] | None = None, progress: Progress | None = None,
        alert: Callable[[dict], None] | None = None) -> int:
    """Run the steps under the lock; 0 when all succeed, 1 after the first failure."""
    steps = STEPS if steps is None else steps
    progress = progress or Progress(len(steps))
    # Every line, error and alert of the run passes through it: no configured secret leaves.
    redact = redactor()
    log = lambda line: progress.log(redact(line))  # noqa: E731
    with run_lock(config.run_lock_file(warehouse)):
        return _run_locked(warehouse, steps, progress, log, redact,
                           alert or _configured_alert(log))


def _configured_alert(log: Callable[[str], None]) -> Callable[[dict], None]:
    alerting = config.resolve(config.AlertsConfig())
    return lambda payload: alerts.send(payload, command=alerting.command,
                                       webhook_url=alerting.webhook_url, log=log)


def _run_locked(warehouse: Path, steps: list[Step], progress: Progress,
                log: Callable[[str], None], redact: Callable[[str], str],
                alert: Callable[[dict], None]) -> int:
    run_id, started_at, clock = uuid.uuid4().hex[:12], _now(), time.perf_counter()
    log(f"run {run_id}: {' → '.join(s.name for s in steps)}; warehouse {warehouse}")
    results: list[StepResult] = []
    failed: tuple[str, str] | None = None  # the first failure: the run's status and alert
    stopped = False  # by a failure of a step that stops the chain
    unexpected: BaseException | None = None
    # The first failure says itself what readers see (a publish's: `live`, the new KPIs).
    said, live = False, False
    try:
        runs.start(warehouse, run_id, started_at)
    except (ThothError, duckdb.Error) as exc:  # e.g. the warehouse is held by a manual load
        failed = ("start", redact(_one_line(exc)))
    for step in steps if failed is None else []:
        progress.begin(step.name)
        begun = time.perf_counter()
        error: str | None = None
        states: bool | None = None  # PublishFailed.live: the error says what readers see
        try:
            rows, detail = step.func(warehouse, run_id, log)
            result = StepResult(step.name, "ok", rows, 0.0, redact(detail))
        except Skip as exc:
            result = StepResult(step.name, "skipped", None, 0.0, redact(str(exc)))
        except (ThothError, duckdb.Error, DltException) as exc:
            error = redact(_one_line(exc))
            states = getattr(exc, "live", None)
        except _storage_errors() as exc:  # a target no step named: still one line
            error = redact(f"storage: {_storage_cause(exc)}")
        except BaseException as exc:  # a bug or Ctrl-C: recorded and alerted, then re-raised
            error = redact(f"{type(exc).__name__}: {_one_line(exc)}")
            unexpected = exc
        if error is not None:
            result = StepResult(step.name, "failed", None, 0.0, error)
            if failed is None:
                failed, said, live = (step.name, error), states is not None, bool(states)
            stopped = step.stops_chain or unexpected is not None
        result.seconds = round(time.perf_counter() - begun, 3)
        results.append(result)
        progress.end(_step_line(result))
        if stopped:
            break
    status = "failed" if failed else "succeeded"
    seconds = time.perf_counter() - clock
    try:
        runs.finish(warehouse, run_id, ended_at=_now(), status=status, steps=results,
                    failed_step=failed[0] if failed else None,
                    error=failed[1] if failed else None)
    except (ThothError, duckdb.Error) as exc:
        log(f"could not record the run in platform.runs: {_one_line(exc)}")
    log(summary(run_id, status, seconds, results))
    # Warnings of this run's check (data tests of warn severity, unclassified columns): alerted,
    # never blocking.
    checked = any(r.step == CHECK.name and r.status == "ok" for r in results)
    warnings = _check_warnings(warehouse) if checked else []
    also = f" {len(warnings)} warning(s): {'; '.join(warnings)}" if warnings else ""
    if failed:
        step, error = failed
        kept = ("" if said else " (the last good publish stays in place)" if stopped else
                " (the other steps ran and published without it)")
        text = f"thoth run {run_id} failed at {step} on {socket.gethostname()}: {error}{kept}"
        log(text)
        alert({"text": text + also, "run_id": run_id, "step": step, "error": error,
               "warnings": warnings, "host": socket.gethostname(), "warehouse": str(warehouse),
               "started_at": started_at.isoformat() + "Z", "new_kpis_live": live})
        if unexpected is not None:
            raise unexpected
        return 1
    if warnings:  # the run succeeded and published; someone still has to classify a column
        text = f"thoth run {run_id} succeeded on {socket.gethostname()} with{also}"
        log(text)
        alert({"text": text, "run_id": run_id, "step": None, "error": None, "level": "warning",
               "warnings": warnings, "host": socket.gethostname(), "warehouse": str(warehouse),
               "started_at": started_at.isoformat() + "Z"})
    return 0


def _check_warnings(warehouse: Path) -> list[str]:
    """The last check's failed tests of warn severity, e.g. source columns nobody has
    classified yet (loaded, kept out of the marts and of publishing)."""
    from thoth.core.duck import open_warehouse
    from transforms.checks import last_warnings

    if not warehouse.exists():
        return []
    try:
        con = open_warehouse(warehouse, read_only=True)
    except ThothError:
        return []
    try:
        return last_warnings(con)
    finally:
        con.close()
