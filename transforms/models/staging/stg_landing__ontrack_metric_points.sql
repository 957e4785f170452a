-- Data points of OTLP metrics lines (an OpenTelemetry Collector's file exporter) in the
-- landing zone's ontrack_metrics feed. A series goes on across files: its origin is the
-- resource (job/instance), which the labels already hold.
SELECT
    'otlp' AS source,
    'otlp' AS series_origin,
    observed_at,
    CAST(observed_at AS DATE) AS day,
    metric,
    kind,
    temporality,
    sample,
    labels,
    le,
    value,
    start_time,
    source_file,
    line_number
FROM landing_raw.ontrack_metric_points
