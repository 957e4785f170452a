-- The day's 95th percentile of each histogram as Prometheus' histogram_quantile computes it
-- from the day's bucket increases (int_metric_increases): per metric, route and queue
-- (kpi_app_metrics), and per metric across all its series (all_series: kpi_background_waits'
-- job latency over every queue), buckets summed before the quantile, as Prometheus sums rates.
WITH increases AS (
    SELECT * FROM intermediate.int_metric_increases
    WHERE kind = 'histogram' AND sample = 'bucket' AND increase IS NOT NULL
),
buckets AS (
    SELECT day, source, metric, route, queue, FALSE AS all_series, le,
           SUM(increase) AS cumulative
    FROM increases
    GROUP BY day, source, metric, route, queue, le
    UNION ALL
    SELECT day, source, metric, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), TRUE, le,
           SUM(increase)
    FROM increases
    GROUP BY day, source, metric, le
),
bounded AS (
    SELECT
        *,
        MAX(CASE WHEN le = CAST('Infinity' AS DOUBLE) THEN cumulative END)
            OVER (PARTITION BY day, source, metric, route, queue, all_series) AS total,
        MAX(CASE WHEN le < CAST('Infinity' AS DOUBLE) THEN le END)
            OVER (PARTITION BY day, source, metric, route, queue, all_series) AS highest_bound,
        LAG(le) OVER (PARTITION BY day, source, metric, route, queue, all_series ORDER BY le)
            AS lower_le,
        LAG(cumulative)
            OVER (PARTITION BY day, source, metric, route, queue, all_series ORDER BY le)
            AS lower_cumulative
    FROM buckets
),
-- The first finite bucket holding the 95th percentile's rank; none: it is in +Inf.
target AS (
    SELECT day, source, metric, route, queue, all_series, MIN(le) AS le
    FROM bounded
    WHERE total > 0 AND le < CAST('Infinity' AS DOUBLE) AND cumulative >= 0.95 * total
    GROUP BY day, source, metric, route, queue, all_series
)
SELECT
    b.day, b.source, b.metric, b.route, b.queue, b.all_series,
    CASE
        -- Fewer than two buckets: no quantile (histogram_quantile gives NaN).
        WHEN MAX(b.highest_bound) IS NULL THEN NULL
        -- In the +Inf bucket: the highest finite bound, as histogram_quantile returns.
        WHEN MAX(t.le) IS NULL THEN MAX(b.highest_bound)
        ELSE MAX(CASE WHEN b.le = t.le THEN
            CASE
                WHEN b.lower_le IS NULL AND b.le <= 0 THEN b.le
                ELSE COALESCE(b.lower_le, 0) + (b.le - COALESCE(b.lower_le, 0))
                    * (0.95 * b.total - COALESCE(b.lower_cumulative, 0))
                    / (b.cumulative - COALESCE(b.lower_cumulative, 0))
            END END)
    END AS value_p95
FROM bounded AS b
LEFT JOIN target AS t
    ON b.day = t.day AND b.source = t.source AND b.metric = t.metric
    AND b.route IS NOT DISTINCT FROM t.route AND b.queue IS NOT DISTINCT FROM t.queue
    AND b.all_series = t.all_series
-- No increase in the day (total 0 or no +Inf bucket): no row, so no quantile.
WHERE b.total > 0
GROUP BY b.day, b.source, b.metric, b.route, b.queue, b.all_series
