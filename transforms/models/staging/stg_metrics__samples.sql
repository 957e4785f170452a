-- Samples scraped from OnTrack's Prometheus /metrics endpoints, one per sample and scrape.
-- The series is the endpoint and the labels: two processes expose the same names.
SELECT
    'prometheus' AS source,
    target AS series_origin,
    observed_at,
    CAST(observed_at AS DATE) AS day,
    metric,
    kind,
    temporality,
    sample,
    labels,
    le,
    value,
    start_time
FROM metrics_raw.samples
