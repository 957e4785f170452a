"""Google Analytics 4 → DuckDB schema `ga4_raw`, one table per configured report.

A dlt source: each report is a resource merged on (property_id, every dimension), with
delete-insert on (property_id, date), so a re-read day replaces that day whole. Each run reads,
per property, in windows of `window_days` (default one day a request), from `lookback_days`
before the last day read up to the property's today (its own time zone), both kept in dlt's
resource state. `pipelines.ga4.extract.extract` runs it, one dlt load per report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import dlt
from dlt.extract import DltResource
from google.analytics.data_v1beta.types import RunReportResponse

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
    windows: int = 0
    first_load: bool = False  # some property had no saved position: backfilled from start
    tokens: int = 0
    headers: RunReportResponse | None = None  # an answer's headers: the columns' GA4 types
    stopped: dict[str, str] = field(default_factory=dict)  # property → why, this report


def window_start(config: Ga4Config, last_read: str | None, override: date | None) -> date:
    """--start-date wins; a first run starts at START_DATE; later runs re-read the look-back
    (not bounded by START_DATE, whose default moves: a run after a long pause leaves no gap)."""
    if override is not None:
        return override
    if last_read is None:
        return config.start_date
    return date.fromisoformat(last_read) - timedelta(days=config.lookback_days)


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
    state = dlt.current.resource_state()
    last_read: dict[str, str] = state.setdefault("last_date", {})  # last day read, per property
    zones: dict[str, str] = state.setdefault("time_zone", {})
    for property_id in config.property_ids:
        if property_id in reader.stopped:  # a quota ran out in an earlier report of this run
            stats.stopped[property_id] = reader.stopped[property_id]
            continue
        start = window_start(config, last_read.get(property_id), start_override)
        stats.first_load = stats.first_load or property_id not in last_read
        for window in reader.windows(report, property_id, start, zones.get(property_id)):
            loaded_at = utc_now()
            stats.windows += 1
            for response in window.responses:  # a window is yielded whole, never a part of a day
                stats.pages += 1
                stats.tokens += response.property_quota.tokens_per_day.consumed
                if stats.headers is None:
                    stats.headers = response
                table = report_table(report, property_id, response, config)
                if table.num_rows:
                    stats.rows += table.num_rows
                    yield table
            yield dlt.mark.with_hints(metadata_table(report, property_id, window, loaded_at),
                                      _METADATA_HINTS, create_table_variant=True)
            if window.time_zone:
                zones[property_id] = window.time_zone
            end = window.end.isoformat()
            last_read[property_id] = max(end, last_read.get(property_id, end))
        if property_id in reader.stopped:
            stats.stopped[property_id] = reader.stopped[property_id]


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
