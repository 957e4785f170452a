"""RunReport responses → typed Arrow tables. Every value arrives as a string: metrics are cast
by their declared type — whole numbers → BIGINT, except the ones GA4 reports with fractions
(conversions, keyEvents, …: DOUBLE, never truncated), everything else → DOUBLE; `date`
(YYYYMMDD, the property's time zone) becomes a DATE, other dimensions stay text."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import pyarrow as pa
from google.analytics.data_v1beta.types import MetricType, ResponseMetaData, RunReportResponse

from pipelines.ga4.config import Ga4Config, Report, column_name
from pipelines.ga4.helpers.client import Window
from thoth.core.errors import ThothError

# What a GA4 metric type means, for the column's description (MetricType's docs).
UNITS = {
    MetricType.TYPE_INTEGER: "a whole number",
    MetricType.TYPE_FLOAT: "a number",
    MetricType.TYPE_SECONDS: "seconds",
    MetricType.TYPE_MILLISECONDS: "milliseconds",
    MetricType.TYPE_MINUTES: "minutes",
    MetricType.TYPE_HOURS: "hours",
    MetricType.TYPE_STANDARD: "a custom metric of standard type",
    MetricType.TYPE_CURRENCY: "an amount of money in the row's currency_code",
    MetricType.TYPE_FEET: "feet",
    MetricType.TYPE_MILES: "miles",
    MetricType.TYPE_METERS: "meters",
    MetricType.TYPE_KILOMETERS: "kilometers",
}


def _day(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def _whole(value: str) -> int | None:
    """The integer a value spells ("12", "12.0"), or None when it has a fraction."""
    try:
        return int(value)
    except ValueError:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return int(number) if number == number.to_integral_value() else None


def is_whole_column(config: Ga4Config, name: str, kind: int) -> bool:
    return kind == MetricType.TYPE_INTEGER and not config.fractional(name)


def has_currency(response: RunReportResponse) -> bool:
    return any(h.type_ == MetricType.TYPE_CURRENCY for h in response.metric_headers)


def report_table(report: Report, property_id: str, response: RunReportResponse,
                 config: Ga4Config) -> pa.Table:
    """One page of a report as a table: property_id, the dimensions, then the metrics (and
    currency_code when a metric is money)."""
    dims = [h.name for h in response.dimension_headers] or list(report.dimensions)
    types = {h.name: h.type_ for h in response.metric_headers}
    rows = response.rows
    columns: dict[str, pa.Array] = {
        "property_id": pa.array([property_id] * len(rows), pa.string()),
    }
    for i, name in enumerate(dims):
        values = [r.dimension_values[i].value for r in rows]
        if name == "date":
            columns[column_name(name)] = pa.array([_day(v) for v in values], pa.date32())
        else:
            columns[column_name(name)] = pa.array(values, pa.string())
    metrics = [h.name for h in response.metric_headers] or list(report.metrics)
    for i, name in enumerate(metrics):
        values = [r.metric_values[i].value for r in rows]
        if is_whole_column(config, name, types.get(name)):
            numbers = [_whole(v) for v in values]
            if None in numbers:
                bad = numbers.index(None)
                day = _day(rows[bad].dimension_values[dims.index("date")].value)
                raise ThothError(
                    f"GA4 report {report.name!r} for property {property_id}: {name} came back "
                    f"as {values[bad]!r} on {day}, though GA4 declares it TYPE_INTEGER; nothing "
                    "of this report was "
                    f"loaded: add {name} to SOURCES__GA4__FRACTIONAL_METRICS (kept as DOUBLE, "
                    "never truncated) and run `thoth extract ga4 --full-refresh`")
            columns[column_name(name)] = pa.array(numbers, pa.int64())
        else:  # float, seconds, currency, fractional counts: doubles, parsed exactly
            columns[column_name(name)] = pa.array([float(v) for v in values], pa.float64())
    if has_currency(response):
        code = response.metadata.currency_code or None
        columns["currency_code"] = pa.array([code] * len(rows), pa.string())
    return _table(columns, not_null=report.key_columns)


def column_comments(report: Report, response: RunReportResponse,
                    config: Ga4Config) -> dict[str, str]:
    """Each column's description: the GA4 field it holds, its GA4 type and unit, its storage."""
    comments = {"property_id": "GA4 property id (numeric)"}
    for header in response.dimension_headers:
        comments[column_name(header.name)] = (
            "GA4 dimension date: the day in the property's time zone (YYYYMMDD), as DATE"
            if header.name == "date" else f"GA4 dimension {header.name}, as text")
    for header in response.metric_headers:
        kind = MetricType(header.type_)
        stored = "BIGINT" if is_whole_column(config, header.name, header.type_) else "DOUBLE"
        note = (", which GA4 reports with fractions (attribution credit), kept exactly"
                if kind == MetricType.TYPE_INTEGER and stored == "DOUBLE" else "")
        comments[column_name(header.name)] = (
            f"GA4 metric {header.name}: {kind.name} ({UNITS.get(kind, kind.name)}){note}, "
            f"as {stored}")
    if has_currency(response):
        comments["currency_code"] = ("ISO 4217 currency of the row's money metrics: "
                                     "SOURCES__GA4__CURRENCY_CODE, else the property's own")
    return comments


def _table(columns: dict[str, pa.Array], not_null: list[str]) -> pa.Table:
    # Key columns are NOT NULL in dlt's schema (primary key): say so in Arrow's too.
    schema = pa.schema([pa.field(name, array.type, nullable=name not in not_null)
                        for name, array in columns.items()])
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _json(value: object) -> str | None:
    return json.dumps(value, sort_keys=True) if value else None


def _truncation(meta: ResponseMetaData) -> list[dict]:
    return [{"type": r.data_truncation_type.name, "message": r.data_truncation_message or None,
             "date": r.data_truncation_date or None,
             "date_ranges": [{"start": d.start_date, "end": d.end_date}
                             for d in r.data_truncation_date_ranges] or None}
            for r in meta.data_truncation_reasons]


def _restrictions(meta: ResponseMetaData) -> list[dict]:
    if "schema_restriction_response" not in meta:
        return []
    return [{"metric": r.metric_name, "restricted": [t.name for t in r.restricted_metric_types]}
            for r in meta.schema_restriction_response.active_metric_restrictions]


def metadata_table(report: Report, property_id: str, window: Window,
                   loaded_at: datetime) -> pa.Table:
    """The window's caveats, one row per day it covered, so a KPI on any day can say whether
    its data was sampled, thresholded, folded into "(other)", truncated or restricted. A flag
    set on any page of the window holds for the window."""
    pages = [r.metadata for r in window.responses]
    first = pages[0]
    read = sum(s.samples_read_count for s in first.sampling_metadatas)
    space = sum(s.sampling_space_size for s in first.sampling_metadatas)
    days = [window.start + timedelta(days=i)
            for i in range((window.end - window.start).days + 1)]
    n = len(days)

    def same(value: object, kind: pa.DataType | None = None) -> pa.Array:
        return pa.array([value] * n, kind)

    return _table({
        "report": same(report.name, pa.string()),
        "property_id": same(property_id, pa.string()),
        "date": pa.array(days, pa.date32()),
        "window_start": same(window.start, pa.date32()),
        "window_end": same(window.end, pa.date32()),
        "row_count": same(window.responses[0].row_count, pa.int64()),
        "data_loss_from_other_row": same(any(m.data_loss_from_other_row for m in pages)),
        "subject_to_thresholding": same(any(m.subject_to_thresholding for m in pages)),
        # NULL when the report was not sampled; else the share of the data GA4 read.
        "sampling_ratio": same(read / space if space else None, pa.float64()),
        "empty_reason": same(first.empty_reason or None, pa.string()),
        "data_truncation": same(_json(_truncation(first)), pa.string()),
        "schema_restrictions": same(_json(_restrictions(first)), pa.string()),
        "time_zone": same(first.time_zone or None, pa.string()),
        "currency_code": same(first.currency_code or None, pa.string()),
        "loaded_at": same(loaded_at, pa.timestamp("us", tz="UTC")),
    }, not_null=["report", "property_id", "date"])
