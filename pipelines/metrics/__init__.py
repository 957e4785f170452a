"""OnTrack's application metrics in the standard formats a Rails stack emits.

Two producers, one sample shape (`samples.SCHEMA`):
- a Prometheus `/metrics` endpoint (yabeda-prometheus, prometheus_exporter): `scrape` reads the
  text exposition format with prometheus_client's own parser, `extract` stores every sample with
  its labels and the scrape time in `metrics_raw.samples` (`thoth extract metrics`);
- an OpenTelemetry Collector's `file` exporter (OTLP JSON, one ExportMetricsServiceRequest a
  line) landed in the landing zone's `ontrack_metrics` feed: `otlp` turns a line into samples,
  which the landing pipeline stores in `landing_raw.ontrack_metric_points`.
Cumulative values stay as they came; increases (with Prometheus' reset rule) are derived in the
SQL models. `python -m pipelines.metrics` runs the scrape alone.
"""
