-- What this table means (grain, definition, owner, flywheel): kpi_background_waits.yml beside it.
-- Read from yabeda-sidekiq's and yabeda-activerecord's metrics (README, producer guide), through
-- the same increases and samples as kpi_app_metrics; the p95 is histogram_quantile's, as there.
WITH samples AS (
    SELECT * FROM intermediate.int_metric_samples
    WHERE metric IN ('sidekiq_job_latency_seconds', 'sidekiq_queue_latency',
                     'sidekiq_jobs_waiting_count', 'activerecord_connection_pool_waiting')
),
days AS (
    SELECT day, source FROM samples GROUP BY day, source
),
latency AS (
    SELECT day, source, le, sample, SUM(increase) AS increase
    FROM intermediate.int_metric_increases
    WHERE metric = 'sidekiq_job_latency_seconds' AND increase IS NOT NULL
    GROUP BY day, source, le, sample
),
jobs AS (
    SELECT day, source, SUM(increase) AS jobs_waited
    FROM latency
    WHERE sample = 'count'
    GROUP BY day, source
),
bounded AS (
    SELECT
        day, source, le, increase AS cumulative,
        MAX(CASE WHEN le = CAST('Infinity' AS DOUBLE) THEN increase END)
            OVER (PARTITION BY day, source) AS total,
        MAX(CASE WHEN le < CAST('Infinity' AS DOUBLE) THEN le END)
            OVER (PARTITION BY day, source) AS highest_bound,
        LAG(le) OVER (PARTITION BY day, source ORDER BY le) AS lower_le,
        LAG(increase) OVER (PARTITION BY day, source ORDER BY le) AS lower_cumulative
    FROM latency
    WHERE sample = 'bucket'
),
target AS (
    SELECT day, source, MIN(le) AS le
    FROM bounded
    WHERE total > 0 AND le < CAST('Infinity' AS DOUBLE) AND cumulative >= 0.95 * total
    GROUP BY day, source
),
p95 AS (
    SELECT
        b.day, b.source,
        CASE
            WHEN MAX(b.highest_bound) IS NULL THEN NULL
            WHEN MAX(t.le) IS NULL THEN MAX(b.highest_bound)
            ELSE MAX(CASE WHEN b.le = t.le THEN
                CASE
                    WHEN b.lower_le IS NULL AND b.le <= 0 THEN b.le
                    ELSE COALESCE(b.lower_le, 0) + (b.le - COALESCE(b.lower_le, 0))
                        * (0.95 * b.total - COALESCE(b.lower_cumulative, 0))
                        / (b.cumulative - COALESCE(b.lower_cumulative, 0))
                END END)
        END AS job_latency_p95_seconds
    FROM bounded AS b
    LEFT JOIN target AS t ON b.day = t.day AND b.source = t.source
    WHERE b.total > 0
    GROUP BY b.day, b.source
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
