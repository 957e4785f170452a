-- Prometheus scrapes and OTLP points as one set of samples, with the labels kept as KPI
-- dimensions: route (controller#action, as yabeda-rails labels a request) and queue (Sidekiq).
WITH samples AS (
    SELECT source, series_origin, observed_at, day, metric, kind, temporality, sample, labels,
           le, value, start_time
    FROM staging.stg_metrics__samples
    UNION ALL
    SELECT source, series_origin, observed_at, day, metric, kind, temporality, sample, labels,
           le, value, start_time
    FROM staging.stg_landing__ontrack_metric_points
)
SELECT
    samples.*,
    CASE WHEN json_extract_string(labels, '$.controller') IS NOT NULL
              AND json_extract_string(labels, '$.action') IS NOT NULL
         THEN json_extract_string(labels, '$.controller') || '#'
              || json_extract_string(labels, '$.action') END AS route,
    json_extract_string(labels, '$.queue') AS queue
FROM samples
