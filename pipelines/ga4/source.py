"""Google Analytics 4 → DuckDB schema `ga4_raw`, one table per configured report.

A dlt source: each report is a resource merged on (property_id, every dimension), with
delete-insert on (property_id, date), so a re-read day replaces that day whole. Each run reads
from `lookback_days` before the newest date loaded (kept per property in dlt's resource state).
`pipelines.ga4.load.extract` runs it, one dlt load per report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import dlt
from dlt.extract import DltResource

from pipelines.ga4 import settings
from pipelines.ga4.config import Ga4Config, Report
from pipelines.ga4.helpers.client import ReportReader
from pipelines.ga4.helpers.convert import metadata_table, report_table
from thoth.core.duck import utc_now


@dataclass
class ReportStats:
    """What one report's extract read, for the log line and platform.load_state."""

    rows: int = 0
    pages: int = 0
    first_load: bool = False  # some property had no saved position: backfilled from start
    tokens: int = 0
    tokens_remaining: dict[str, int] = field(default_factory=dict)


def window_start(config: Ga4Config, last_loaded: str | None, override: date | None) -> date:
    """--start-date wins; a first run starts at START_DATE; later runs re-read the look-back
    (not bounded by START_DATE, whose default moves: a run after a long pause leaves no gap)."""
    if override is not None:
        return override
    if last_loaded is None:
        return config.start_date
    return date.fromisoformat(last_loaded) - timedelta(days=config.lookback_days)


# Its own keys, stated in full: a table variant inherits the report's merge_key otherwise, and
# one report's load would delete the other reports' metadata for the same days.
_METADATA_HINTS = dlt.mark.make_hints(
    table_name=settings.METADATA_TABLE,
    primary_key=["report", "property_id", "date"],
    merge_key=["report", "property_id", "date"],
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)


def _report_rows(report: Report, config: Ga4Config, reader: ReportReader,
                 start_override: date | None, stats: ReportStats) -> Iterator[object]:
    last_dates: dict[str, str] = dlt.current.resource_state().setdefault("last_date", {})
    for property_id in config.property_ids:
        start = window_start(config, last_dates.get(property_id), start_override)
        stats.first_load = stats.first_load or property_id not in last_dates
        loaded_at = utc_now()
        newest: date | None = None
        first = None
        for page in reader.pages(report, property_id, start):
            if first is None:
                first = page.response
            stats.pages += 1
            quota = page.response.property_quota.tokens_per_day
            stats.tokens += quota.consumed
            stats.tokens_remaining[property_id] = quota.remaining
            table = report_table(report, property_id, page.response)
            if table.num_rows:
                stats.rows += table.num_rows
                page_newest = max(table.column("date").to_pylist())
                newest = max(newest or page_newest, page_newest)
                yield table
        end = max(date.today(), newest or start)
        yield dlt.mark.with_hints(
            metadata_table(report, property_id, first, start, end, loaded_at),
            _METADATA_HINTS, create_table_variant=True,
        )
        if newest is not None:
            last_dates[property_id] = max(newest.isoformat(),
                                          last_dates.get(property_id, newest.isoformat()))


@dlt.source(name="ga4", max_table_nesting=0)
def ga4(config: Ga4Config, reader: ReportReader, start_override: date | None = None,
        stats: dict[str, ReportStats] | None = None) -> Iterator[DltResource]:
    """One resource per report in `config`; `stats` (if given) collects per-report counts."""
    for report in config.reports:
        report_stats = ReportStats()
        if stats is not None:
            stats[report.name] = report_stats
        yield dlt.resource(
            _report_rows,
            name=report.name,
            primary_key=report.key_columns,
            merge_key=["property_id", "date"],
            write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        )(report, config, reader, start_override, report_stats)

