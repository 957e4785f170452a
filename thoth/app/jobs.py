"""The extract jobs, by source name: the one registry `thoth extract <source>` (its subcommands
are made from it) and `thoth run` (its extract steps, in this order) read. Each job is its
source's `pipelines/<source>/job.py`: its DESCRIPTION, its flags (`add_arguments`) and `run`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pipelines.ga4 import job as ga4
from pipelines.landing import job as landing
from pipelines.metrics import job as metrics
from pipelines.ontrack import job as ontrack
from thoth.core.platform.load_state import TableLoad

if TYPE_CHECKING:
    from thoth.app.context import Context


def _governance(ctx: Context) -> dict[str, Any]:
    """OnTrack's loads pass through the load guard (retention cut-offs, erasures), with the
    command's pseudonym key (resolved only if someone is erased)."""
    from thoth.core import load_guard

    return {"guard": load_guard.guard(lambda: ctx.pseudonym_key)}


def _feed_runs(ctx: Context) -> dict[str, Any]:
    return {"feed_runs": []}


def _counted(unit: str) -> Callable[[list[TableLoad], dict[str, Any]], str]:
    return lambda loads, extra: f"{len(loads)} {unit}"


def _feeds(loads: list[TableLoad], extra: dict[str, Any]) -> str:
    # A file that could not be read is quarantined and the step goes on: say so in its line.
    feeds = extra["feed_runs"]
    lines = sum(f.quarantined_lines for f in feeds)
    files = sum(f.quarantined_files for f in feeds)
    bad = f"; {lines:,} lines and {files:,} files quarantined" if lines or files else ""
    return f"{len(loads)} feeds{bad}"


def _flags(loads: list[TableLoad], extra: dict[str, Any]) -> str:
    return "; ".join(x.flags or "" for x in loads)


@dataclass(frozen=True)
class Job:
    name: str  # `thoth extract <name>`; `extract <name>` in `thoth run`
    module: ModuleType
    help: str  # its line in `thoth extract --help`
    schema: str  # the raw schema it loads
    # An optional source's setting: not set, `thoth run` skips it (and its KPIs are skipped).
    setting: str | None = None
    # False: its failure fails the run but the later steps still run, for a source whose gap
    # the next run fills.
    stops_chain: bool = True
    # What the app hands its `run` beyond the flags, made afresh for each run from its context.
    extra: Callable[[Context], dict[str, Any]] = field(default=lambda ctx: {}, repr=False)
    # Its loads in one line, for `thoth run`.
    said: Callable[[list[TableLoad], dict[str, Any]], str] = field(
        default=_counted("tables"), repr=False)

    @property
    def description(self) -> str:
        return self.module.DESCRIPTION


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("ontrack", ontrack, "OnTrack database tables → ontrack_raw", "ontrack_raw",
        extra=_governance),
    Job("ga4", ga4, "Google Analytics 4 reports → ga4_raw", "ga4_raw",
        setting="SOURCES__GA4__PROPERTY_IDS", said=_counted("reports")),
    Job("landing", landing, "stream files from the landing zone → landing_raw", "landing_raw",
        setting="LANDING__BUCKET_URL", extra=_feed_runs, said=_feeds),
    # An endpoint down during a deploy must not hold back every KPI for the hour: a missed
    # scrape loses no increase.
    Job("metrics", metrics, "scrape OnTrack's Prometheus /metrics endpoints → metrics_raw",
        "metrics_raw", setting="SOURCES__ONTRACK_METRICS__SCRAPE_URLS", stops_chain=False,
        said=_flags),
)}
