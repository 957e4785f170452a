"""RunReport responses → typed Arrow tables. Every value arrives as a string: metrics are cast
by their declared type (integers → BIGINT, everything else → DOUBLE), `date` (YYYYMMDD) becomes
a DATE, other dimensions stay text."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
from google.analytics.data_v1beta.types import MetricType, RunReportResponse

from pipelines.ga4.config import Report, column_name


def _day(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:  # GA4 writes some integer totals as "12.0"
        return int(float(value))


def report_table(report: Report, property_id: str, response: RunReportResponse) -> pa.Table:
    """One page of a report as a table: property_id, the dimensions, then the metrics."""
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
        if types.get(name) == MetricType.TYPE_INTEGER:
            columns[column_name(name)] = pa.array([_integer(v) for v in values], pa.int64())
        else:  # float, seconds, currency, …: all doubles
            columns[column_name(name)] = pa.array([float(v) for v in values], pa.float64())
    return _table(columns, not_null=report.key_columns)


def _table(columns: dict[str, pa.Array], not_null: list[str]) -> pa.Table:
    # Key columns are NOT NULL in dlt's schema (primary key): say so in Arrow's too.
    schema = pa.schema([pa.field(name, array.type, nullable=name not in not_null)
                        for name, array in columns.items()])
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def metadata_table(report: Report, property_id: str, response: RunReportResponse,
                   start: date, end: date, loaded_at: datetime) -> pa.Table:
    """The response's caveats, one row per day it covered, so a KPI on any day can say whether
    its data was sampled, thresholded or lost rows into "(other)"."""
    meta = response.metadata
    read = sum(s.samples_read_count for s in meta.sampling_metadatas)
    space = sum(s.sampling_space_size for s in meta.sampling_metadatas)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    n = len(days)
    return _table({
        "report": pa.array([report.name] * n, pa.string()),
        "property_id": pa.array([property_id] * n, pa.string()),
        "date": pa.array(days, pa.date32()),
        "data_loss_from_other_row": pa.array([bool(meta.data_loss_from_other_row)] * n),
        "subject_to_thresholding": pa.array([bool(meta.subject_to_thresholding)] * n),
        # NULL when the report was not sampled; else the share of the data GA4 read.
        "sampling_ratio": pa.array([read / space if space else None] * n, pa.float64()),
        "time_zone": pa.array([meta.time_zone or None] * n, pa.string()),
        "currency_code": pa.array([meta.currency_code or None] * n, pa.string()),
        "loaded_at": pa.array([loaded_at] * n, pa.timestamp("us", tz="UTC")),
    }, not_null=["report", "property_id", "date"])
