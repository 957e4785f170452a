"""OTLP JSON files from an OpenTelemetry Collector's file exporter in the ontrack_metrics feed:
built with the opentelemetry-proto classes, landed (plain and gzipped, beside the older JSON
lines), ingested exactly once with their bad lines quarantined, and summed up in
kpi_app_metrics with known numbers."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format
from landing_helpers import jsonl, local_landing, rows
from metrics_helpers import NS, attrs, otlp_line
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from test_metrics_scrape import built

DAY = "2024/03/11"
T0 = 1710144000  # 2024-03-11 08:00 UTC
CUMULATIVE, DELTA = 2, 1


def _at(minutes: int) -> str:
    return str((T0 + minutes * 60) * NS)


def requests(minutes: int, value: int, started: int = 0) -> dict:
    """yabeda's rails_requests_total through the Collector's prometheus receiver, which drops
    `_total` from a counter's name: the reader puts it back."""
    return {"name": "rails_requests", "sum": {
        "aggregation_temporality": CUMULATIVE, "is_monotonic": True,
        "data_points": [{"attributes": attrs(controller="units", action="index"),
                         "start_time_unix_nano": _at(started), "time_unix_nano": _at(minutes),
                         "as_int": str(value)}]}}


def pool_waiting(minutes: int, value: float) -> dict:
    return {"name": "activerecord_connection_pool_waiting", "gauge": {"data_points": [
        {"attributes": attrs(config="primary"), "time_unix_nano": _at(minutes),
         "as_double": value}]}}


def enqueued(minutes: int, value: int) -> dict:
    return {"name": "sidekiq_jobs_enqueued_total", "sum": {
        "aggregation_temporality": DELTA, "is_monotonic": True,
        "data_points": [{"attributes": attrs(queue="default", worker="PdfJob"),
                         "start_time_unix_nano": _at(minutes - 1),
                         "time_unix_nano": _at(minutes), "as_int": str(value)}]}}


def latency(minutes: int, counts: list[int], total: float) -> dict:
    """sidekiq_job_latency with unit s (the receiver drops `_seconds`): bounds 0.1, 0.5, 1."""
    return {"name": "sidekiq_job_latency", "unit": "s", "histogram": {
        "aggregation_temporality": CUMULATIVE, "data_points": [{
            "attributes": attrs(queue="default", worker="PdfJob"),
            "start_time_unix_nano": _at(0), "time_unix_nano": _at(minutes),
            "count": str(sum(counts)), "sum": total, "bucket_counts": [str(c) for c in counts],
            "explicit_bounds": [0.1, 0.5, 1.0]}]}}


def connections(minutes: int, value: int) -> dict:
    """A non-monotonic cumulative sum (an UpDownCounter) is a level: a gauge."""
    return {"name": "db.client.connections.usage", "unit": "{connection}", "sum": {
        "aggregation_temporality": CUMULATIVE, "is_monotonic": False,
        "data_points": [{"start_time_unix_nano": _at(0), "time_unix_nano": _at(minutes),
                         "as_int": str(value)}]}}


def _with_enum_names(line: str) -> str:
    """The same request as MessageToJson writes it by default (enums by name)."""
    request = json_format.Parse(line, ExportMetricsServiceRequest())
    return json_format.MessageToJson(request, indent=None) + "\n"


def test_collector_files_are_ingested_once_and_summed_per_day(tmp_path: Path):
    landing = local_landing(tmp_path / "landing")
    first = "".join([
        otlp_line([requests(1, 10), pool_waiting(1, 0), latency(1, [1, 0, 0, 0], 0.05),
                   enqueued(1, 3), connections(1, 4)]),
        otlp_line([requests(31, 16), pool_waiting(31, 3), enqueued(31, 4), connections(31, 7)]),
    ])
    landing.write(f"ontrack_metrics/{DAY}/metrics.json", first)
    # The Collector's rotated file, gzipped on upload; beside it the older JSON lines, a line
    # whose histogram does not fit its bounds, and a traces line sent to the wrong feed.
    bad_histogram = otlp_line([latency(50, [1, 2], 1.0)])
    traces = json.dumps({"resourceSpans": []}) + "\n"
    second = "".join([
        _with_enum_names(otlp_line([requests(61, 2, started=60), pool_waiting(61, 1),
                                    latency(61, [11, 5, 3, 1], 6.15)])),
        jsonl([{"time": "2024-03-11T09:30:00Z", "name": "jobs.queue_depth", "value": 2}]),
        bad_histogram, traces, "\n",
    ])
    landing.write(f"ontrack_metrics/{DAY}/metrics-2024-03-11T09-00-00.json.gz", second,
                  gz=True)
    warehouse = tmp_path / "w.duckdb"
    log = landing.extract(warehouse)
    assert any(line.startswith(f"landing.ontrack_metrics/{DAY}/metrics.json: 0 rows and 14 OTLP "
                               "data points (2 lines) from 2 lines, 0 quarantined")
               for line in log)
    assert rows(warehouse, "SELECT path, lines, rows, point_lines, points, quarantined_lines, "
                           "blank_lines FROM landing_raw._files ORDER BY path") == [
        (f"ontrack_metrics/{DAY}/metrics-2024-03-11T09-00-00.json.gz", 5, 1, 1, 8, 2, 1),
        (f"ontrack_metrics/{DAY}/metrics.json", 2, 0, 2, 14, 0, 0)]
    assert rows(warehouse, "SELECT line_number, reason FROM landing_raw.quarantine "
                           "ORDER BY line_number") == [
        (3, "sidekiq_job_latency_seconds: 2 bucket counts for 3 bounds (expected one more "
            "count than bounds)"),
        (4, "OTLP traces or logs, not metrics: send only the Collector's metrics pipeline to "
            "this feed")]
    again = landing.extract(warehouse)  # exactly once: nothing is read again
    assert not any("points" in line and "from" in line for line in again)
    assert rows(warehouse, "SELECT count(*) FROM landing_raw.ontrack_metric_points") == [(22,)]

    built(warehouse)
    got = rows(warehouse, "SELECT source, metric_name, route, queue, kind, observations, "
                          "increase, value_last, value_min, value_max, value_count, "
                          "round(value_sum, 9), value_p95 FROM marts.kpi_app_metrics "
                          "ORDER BY ALL")
    assert got == [
        ("events", "jobs.queue_depth", None, None, "event", 1, None, None, 2.0, 2.0, None, 2.0,
         2.0),
        ("otlp", "activerecord_connection_pool_waiting", None, None, "gauge", 3, None, 1.0,
         0.0, 3.0, None, None, None),
        # An UpDownCounter: its last, smallest and largest level.
        ("otlp", "db.client.connections.usage", None, None, "gauge", 2, None, 7.0, 4.0, 7.0,
         None, None, None),
        # 10 → 16 (+6), then a new start time: 2 counts whole.
        ("otlp", "rails_requests_total", "units#index", None, "counter", 3, 8.0, None, None,
         None, None, None, None),
        # Buckets 0.1/0.5/1/+Inf grew by 10/15/18/19: the 95th (rank 18.05) is in +Inf, so
        # the highest finite bound, as histogram_quantile answers.
        ("otlp", "sidekiq_job_latency_seconds", None, "default", "histogram", 2, None, None,
         None, None, 19.0, 6.1, 1.0),
        # Delta points are increases already: 3 + 4.
        ("otlp", "sidekiq_jobs_enqueued_total", None, "default", "counter", 2, 7.0, None, None,
         None, None, None, None),
    ]
