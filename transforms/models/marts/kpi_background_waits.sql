-- What this table means (grain, definition, owner, flywheel): kpi_background_waits.yml beside it.
-- Read from yabeda-sidekiq's and yabeda-activerecord's metrics (docs/sources/metrics.md), through
-- the same increases and samples as kpi_app_metrics; the p95 is histogram_quantile's over every
-- queue's buckets summed (int_histogram_quantiles' all_series).
WITH samples AS (
    SELECT * FROM intermediate.int_metric_samples
    WHERE metric IN ('sidekiq_job_latency_seconds', 'sidekiq_queue_latency',
                     'sidekiq_jobs_waiting_count', 'activerecord_connection_pool_waiting')
),
days AS (
    SELECT day, source FROM samples GROUP BY day, source
),
jobs AS (
    SELECT day, source, SUM(increase) AS jobs_waited
    FROM intermediate.int_metric_increases
    WHERE metric = 'sidekiq_job_latency_seconds' AND sample = 'count' AND increase IS NOT NULL
    GROUP BY day, source
),
p95 AS (
    SELECT day, source, value_p95 AS job_latency_p95_seconds
    FROM intermediate.int_histogram_quantiles
    WHERE metric = 'sidekiq_job_latency_seconds' AND all_series
),
gauges AS (
    SELECT
        day, source,
        MAX(CASE WHEN metric = 'sidekiq_queue_latency' THEN value END)
            AS queue_latency_max_seconds,
        MAX(CASE WHEN metric = 'sidekiq_jobs_waiting_count' THEN value END) AS jobs_waiting_max,
        MAX(CASE WHEN metric = 'activerecord_connection_pool_waiting' THEN value END)
            AS db_pool_waiting_max
    FROM samples
    WHERE kind = 'gauge'
    GROUP BY day, source
)
SELECT
    d.day,
    d.source,
    j.jobs_waited,
    p.job_latency_p95_seconds,
    g.queue_latency_max_seconds,
    g.jobs_waiting_max,
    g.db_pool_waiting_max
FROM days AS d
LEFT JOIN jobs AS j ON d.day = j.day AND d.source = j.source
LEFT JOIN p95 AS p ON d.day = p.day AND d.source = p.source
LEFT JOIN gauges AS g ON d.day = g.day AND d.source = g.source
