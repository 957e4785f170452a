"""`thoth run`, what cron runs: the steps of thoth/app/steps.py's CHAIN, in order.

One run at a time per warehouse (thoth/app/lock.py: a second run exits 75 at once, like
cron/thoth-cron). A failing step stops the chain, so the last good publish stays what readers
see; the run is recorded in `platform.runs` and the alert hook is called.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb
from dlt.common.exceptions import DltException

from thoth.app import alerts
from thoth.app.context import Context
from thoth.app.progress import Progress
from thoth.app.steps import CHAIN, CHECK, Skip, Step
from thoth.core import memory
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import runs
from thoth.core.platform.runs import StepResult
from thoth.core.redaction import redactor


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


def run(ctx: Context | Path, *, steps: list[Step] | None = None,
        progress: Progress | None = None, alert: Callable[[dict], None] | None = None) -> int:
    """Run the steps (CHAIN unless given) under the lock, on `ctx` (or a warehouse's own);
    0 when all succeed, 1 after the first failure."""
    steps = CHAIN if steps is None else steps
    progress = progress or Progress(len(steps))
    # Every line, error and alert of the run passes through it: no configured secret leaves.
    redact = redactor()
    ctx = replace(ctx if isinstance(ctx, Context) else Context(ctx),
                  log=lambda line: progress.log(redact(line)))
    with ctx.lock():
        return _run_locked(ctx, steps, progress, redact, alert or _configured_alert(ctx))


def _configured_alert(ctx: Context) -> Callable[[dict], None]:
    alerting = ctx.alerts
    return lambda payload: alerts.send(payload, command=alerting.command,
                                       webhook_url=alerting.webhook_url, log=ctx.log)


def _run_locked(ctx: Context, steps: list[Step], progress: Progress,
                redact: Callable[[str], str], alert: Callable[[dict], None]) -> int:
    run_id, started_at, clock = uuid.uuid4().hex[:12], _now(), time.perf_counter()
    ctx = replace(ctx, run_id=run_id)
    warehouse, log = ctx.warehouse, ctx.log
    log(f"run {run_id}: {' → '.join(s.name for s in steps)}; warehouse {warehouse}")
    results: list[StepResult] = []
    failed: tuple[str, str] | None = None  # the first failure: the run's status and alert
    stopped = False  # by a failure of a step that stops the chain
    unexpected: BaseException | None = None
    # The first failure says itself what readers see (a publish's: `live`, the new KPIs).
    said, live = False, False
    memory.settle()
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
            done = step.func(ctx)
            result = StepResult(step.name, "ok", done.rows, 0.0, redact(done.detail))
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
        memory.release()
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
