"""The steps, one function each on a Context: `thoth <step>` runs one alone, `thoth run` runs
CHAIN, the steps in order. CHAIN is the one statement of that order: `thoth run` iterates it, its
`--help` and the docs read it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from thoth.app.context import Context
from thoth.app.jobs import JOBS, Job
from thoth.core import platform
from thoth.core.duck import open_warehouse
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError

if TYPE_CHECKING:  # imported when used: `thoth status` needs neither storage nor products
    from thoth.core.storage import Target
    from warehouse.products import ProductsReport
    from warehouse.publish import PublishReport


@dataclass(frozen=True)
class Done:
    """What a step did: `rows` and `detail` for its line in `thoth run` (and platform.runs),
    `said` the last line of the command that ran it alone; `failed`: exit 1 (a data test)."""

    rows: int | None = None
    detail: str = ""
    said: str | None = None
    failed: bool = False


class Skip(Exception):
    """A step of the chain with nothing to do, e.g. GA4 without property ids."""


# --- the steps -------------------------------------------------------------------------------


def extract(ctx: Context, source: str, **flags: object) -> Done:
    """Load one source (its job in JOBS) into the warehouse; `flags` are its job's options."""
    job = JOBS[source]
    extra = job.extra(ctx)
    loads = job.module.run(ctx.warehouse, log=ctx.log, **flags, **extra)
    return Done(sum(x.rows_loaded for x in loads), job.said(loads, extra))


def archive(ctx: Context, *, apply: bool = False) -> Done:
    """`thoth retention`: the rows past their retention period shown, or with `apply` archived,
    verified and deleted."""
    from warehouse.governance import retention

    target = ctx.archive
    with ctx.lock():
        moves = retention.archive(ctx.warehouse, target, apply=apply, log=ctx.log,
                                  policies=retention.load_policies(ctx.retention.policies_path))
    archived = [m for m in moves if m.archive_id]
    if not apply:
        return Done()
    # What moved and where, in one line.
    return Done(sum(m.rows for m in archived), said=(
        f"retention: {sum(m.rows for m in archived):,} rows of {len(archived)} tables archived "
        f"under {target.url}" + "".join(f"; {m.policy.table} → {target.path(m.archive_id)}"
                                        for m in archived)))


def restore(ctx: Context, archive_id: str) -> Done:
    """`thoth retention --restore`: an archive's rows back in the warehouse."""
    from warehouse.governance import retention

    target = ctx.archive
    with ctx.lock():
        retention.restore(ctx.warehouse, target, archive_id, log=ctx.log,
                          pseudonym_key=lambda: ctx.pseudonym_key)
    return Done()


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
        if any(s["step"] == RETENTION.name and s["status"] == "ok"
               for s in json.loads(steps or "[]")):
            return run_id, started_at
    return None


def daily_retention(ctx: Context) -> Done:
    """Retention inside `thoth run`: applied once a UTC day whatever cron's cadence (a failed
    day is retried by the next run), and again that day only for rows that arrived past the
    cut-off since."""
    from warehouse.governance import retention

    settings = ctx.retention
    if not settings.in_run:
        raise Skip("RETENTION__IN_RUN is false: apply it with `thoth retention --apply`")
    policies = retention.load_policies(settings.policies_path)
    done = retention_done_today(ctx.warehouse)
    if done:
        # Archived now, never left in the warehouse for a day nor dropped unarchived.
        con = open_warehouse(ctx.warehouse, read_only=True)
        try:
            late = retention.late_rows(con, policies)
        finally:
            con.close()
        if not late:
            raise Skip(f"done today by run {done[0]} at {done[1]:%H:%M} UTC")
        ctx.log("retention: rows older than the cut-off arrived since run "
                f"{done[0]}: {', '.join(f'{t} {n:,}' for t, n in late.items())}; archiving them")
    target = ctx.archive
    moves = retention.archive(ctx.warehouse, target, apply=True, policies=policies, log=ctx.log)
    archived = [m for m in moves if m.archive_id]
    where = "; ".join(f"{m.policy.table}: {m.rows:,} rows before {m.cutoff:%Y-%m-%d} to "
                      f"{target.path(m.archive_id)}" for m in archived)
    return Done(sum(m.rows for m in archived),
                f"{len(policies)} policies, {len(archived)} archived to {target.url}"
                + (f" ({where})" if where else ""))


def lake(ctx: Context, *, full: bool = False) -> Done:
    """The raw tables to the lake as Parquet; `full`: every file written again."""
    from warehouse.lake import write_lake

    with ctx.lock():
        report = write_lake(ctx.warehouse, ctx.lake_target, full=full, log=ctx.log)
    return Done(report.rows,
                f"{len(report.tables)} tables to {report.target}: {report.written} files "
                f"written, {report.kept} kept, {len(report.removed)} removed",
                f"lake {report.target}: {len(report.tables)} tables, {report.rows:,} rows; "
                f"{report.written} files written, {report.kept} kept, {len(report.removed)} "
                f"removed; manifest {'written' if report.manifest_written else 'unchanged'} "
                f"({report.seconds:.1f} s)")


def lake_if_asked(ctx: Context) -> Done:
    """The lake inside `thoth run`: with the spark engine (its build reads it) or when asked."""
    if ctx.engine != "spark" and not ctx.lake_in_run:
        raise Skip(f"WAREHOUSE__ENGINE is {ctx.engine} and LAKE__IN_RUN is false")
    return lake(ctx)


def transform(ctx: Context) -> Done:
    """Every model built, in dependency order."""
    from thoth.app.engine import build_models

    results = build_models(ctx)
    return Done(sum(r.rows or 0 for r in results), f"{len(results)} models",
                f"built {len(results)} models in {sum(r.seconds for r in results):.1f} s")


def check(ctx: Context) -> Done:
    """The data tests; `failed` when one of error severity fails (its line is the detail)."""
    from transforms.checks import run_checks

    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        ctx.log(line)

    passed = run_checks(ctx.warehouse, log=keep, absent_sources=ctx.absent_sources)
    return Done(None, lines[-1] if lines else "", failed=not passed)


def checked(ctx: Context) -> Done:
    """The data tests inside `thoth run`: a failure stops the chain before publishing."""
    done = check(ctx)
    if done.failed:
        raise ThothError(done.detail or "data tests failed")
    return done


def publish(ctx: Context) -> Done:
    """The KPIs to the Looker target, then the data products to theirs."""
    target, products = ctx.publish_target, ctx.products_target
    with ctx.lock():
        report, made = publish_all(ctx, target, products)
    return Done(report.rows,
                f"{report.tables} tables to {report.target}: {len(report.uploaded)} files "
                f"uploaded, {len(report.unchanged)} unchanged, {len(report.deleted)} removed; "
                f"products to {made.target}: {len(made.written)} written, "
                f"{len(made.unchanged)} unchanged, {len(made.removed)} removed",
                f"published {report.tables} tables, {report.rows:,} rows to {report.target} in "
                f"{report.seconds:.1f} s: {len(report.uploaded)} files uploaded, "
                f"{len(report.unchanged)} unchanged, {len(report.deleted)} removed")


def publish_all(ctx: Context, target: Target,
                products: Target) -> tuple[PublishReport, ProductsReport]:
    """The KPIs to `target`, then the data products to `products`. A failure says truly what
    readers see: the previous publish, or the new KPIs without the new products."""
    from warehouse.products import check_targets
    from warehouse.products import publish_products as write_products
    from warehouse.publish import PublishFailed
    from warehouse.publish import publish as write_kpis

    check_targets(products, target)  # the attention lists never go to the Looker target
    try:
        report = write_kpis(ctx.warehouse, target, dataset=ctx.bigquery_dataset,
                            run_id=ctx.run_id, log=ctx.log)
    except PublishFailed as exc:
        raise PublishFailed(f"{exc}; the data products were not written", exc.live) from None
    try:
        made = write_products(ctx.warehouse, products, looker=target, run_id=report.run_id,
                              log=ctx.log, thresholds=ctx.attention)
    except ThothError as exc:
        raise PublishFailed(f"{exc}; the new KPI publish (run {report.run_id}) is live at "
                            f"{target.url}", live=True) from None
    return report, made


def erase_user(ctx: Context, user_id: str) -> Done:
    """One OnTrack user out of the warehouse, the archives, the data products and the lake, for
    good; the marts rebuilt without them."""
    from thoth.app.engine import check_pseudonym_key
    from transforms.build import build
    from warehouse.governance.archive_erasure import ArchiveErasure
    from warehouse.governance.erasure import check_user_id
    from warehouse.governance.erasure import erase_user as erase
    from warehouse.governance.lake_erasure import LakeErasure
    from warehouse.governance.products_erasure import ProductErasure

    user_id = check_user_id(user_id)
    key = ctx.pseudonym_key  # before anything changes
    check_pseudonym_key(ctx.warehouse, key)  # erased people's hashes must match the loads'
    archives, products, lake = ctx.archive, ctx.products_target, ctx.lake_target
    with ctx.lock():
        ctx.log(f"erasing OnTrack user {user_id} from {ctx.warehouse}, the archives under "
                f"{archives.url}, the data products under {products.url} and the lake under "
                f"{lake.url}:")
        erase(ctx.warehouse, user_id, pseudonym_key=key,
              steps=[ArchiveErasure(archives), ProductErasure(products), LakeErasure(lake)],
              log=ctx.log)
        results = build(ctx.warehouse, pseudonym_key=key, log=lambda line: None,
                        absent_sources=ctx.absent_sources)
    return Done(said=f"rebuilt {len(results)} models: staging and marts hold no trace of them; "
                "the next `thoth run` (or `thoth check` then `thoth publish`) replaces the "
                "published KPIs")


# --- the chain -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of `thoth run`: its name (in the run's lines and platform.runs), its function,
    `when`: when it does something other than run (for `--help` and the docs), and `command`:
    the `thoth` command that runs it alone."""

    name: str
    func: Callable[[Context], Done]
    when: str = ""
    command: str = ""
    # False: its failure fails the run (exit 1, alert) but the later steps still run.
    stops_chain: bool = True

    @property
    def about(self) -> str:
        """The step and its conditions in one phrase."""
        notes = [self.when] if self.when else []
        if not self.stops_chain:
            notes.append("its failure fails the run but not the chain")
        return self.name + (f" ({'; '.join(notes)})" if notes else "")


def extract_in_run(ctx: Context, source: str) -> Done:
    """A source inside `thoth run`: an optional one not configured is skipped, not failed (its
    KPIs are skipped by transform and check while the warehouse holds none of its data)."""
    job = JOBS[source]
    if job.setting and job.schema in ctx.absent_sources:
        raise Skip(f"{job.setting} is not set")
    return extract(ctx, source)


def _extract_step(job: Job) -> Step:
    return Step(f"extract {job.name}", partial(extract_in_run, source=job.name),
                f"skipped when {job.setting} is not set" if job.setting else "",
                f"thoth extract {job.name}", job.stops_chain)


def publish_step(target_url: str | None = None, products_url: str | None = None) -> Step:
    """Publish the KPIs to `target_url` (else PUBLISH__BUCKET_URL), then the data products to
    `products_url` (else PRODUCTS__BUCKET_URL), which may not be the KPIs' target."""
    return replace(PUBLISH, func=lambda ctx: publish(
        replace(ctx, publish_url=target_url, products_url=products_url)))


EXTRACT = [_extract_step(job) for job in JOBS.values()]
RETENTION = Step("retention", daily_retention, "once a UTC day; RETENTION__IN_RUN=false: never",
                 "thoth retention --apply")
LAKE = Step("lake", lake_if_asked, "only with WAREHOUSE__ENGINE=spark or LAKE__IN_RUN=true",
            "thoth lake")
TRANSFORM = Step("transform", transform, command="thoth transform")
CHECK = Step("check", checked, command="thoth check")
PUBLISH = Step("publish", publish, command="thoth publish")
BUILD = [TRANSFORM, CHECK, PUBLISH]  # what `thoth run --skip-extract` runs
# Retention after the loads (they drop archived rows again) and before the build, so the KPIs
# and the row-drop guard see the warehouse as it stays; the lake after both, so it does too,
# and before the build, which the spark engine runs from it.
CHAIN = [*EXTRACT, RETENTION, LAKE, *BUILD]


def arrows(steps: list[Step] = CHAIN) -> str:
    """The chain in short: `extract → retention → lake → transform → check → publish`."""
    return " → ".join(dict.fromkeys(step.name.split()[0] for step in steps))
