-- What this table means (grain, definition, owner, flywheel): kpi_app_metrics.yml beside it.
-- Counters: the day's increase (int_metric_increases: Prometheus' reset rule). Gauges: the
-- day's last, smallest and largest sample, across series (yabeda-sidekiq's cluster gauges are
-- reported by every process: summing them would count a queue once per process). Histograms:
-- the day's increase of count and sum, and the 95th percentile per route and queue
-- (int_histogram_quantiles: Prometheus' histogram_quantile). Events: the older JSON-lines shape.
WITH samples AS (
    SELECT * FROM intermediate.int_metric_samples
),
increases AS (
    SELECT * FROM intermediate.int_metric_increases WHERE increase IS NOT NULL
),
counters AS (
    SELECT day, source, metric, route, queue, COUNT(*) AS observations,
           SUM(increase) AS increase
    FROM increases
    WHERE kind = 'counter'
    GROUP BY day, source, metric, route, queue
),
counter_samples AS (
    SELECT day, source, metric, route, queue, COUNT(*) AS observations
    FROM samples
    WHERE kind = 'counter'
    GROUP BY day, source, metric, route, queue
),
gauge_ranked AS (
    SELECT day, source, metric, route, queue, value,
           ROW_NUMBER() OVER (PARTITION BY day, source, metric, route, queue
                              ORDER BY observed_at DESC, value DESC) AS newest
    FROM samples
    WHERE kind = 'gauge'
),
gauges AS (
    SELECT day, source, metric, route, queue, COUNT(*) AS observations,
           MAX(CASE WHEN newest = 1 THEN value END) AS value_last,
           MIN(value) AS value_min, MAX(value) AS value_max
    FROM gauge_ranked
    GROUP BY day, source, metric, route, queue
),
histogram_totals AS (
    SELECT day, source, metric, route, queue, MAX(kind) AS kind,
           SUM(CASE WHEN sample = 'count' THEN increase END) AS value_count,
           SUM(CASE WHEN sample = 'sum' THEN increase END) AS value_sum
    FROM increases
    WHERE kind IN ('histogram', 'summary')
    GROUP BY day, source, metric, route, queue
),
histogram_samples AS (
    SELECT day, source, metric, route, queue, COUNT(*) AS observations
    FROM samples
    WHERE kind IN ('histogram', 'summary') AND sample = 'count'
    GROUP BY day, source, metric, route, queue
),
quantiles AS (
    SELECT day, source, metric, route, queue, value_p95
    FROM intermediate.int_histogram_quantiles
    WHERE NOT all_series
),
histograms AS (
    SELECT h.day, h.source, h.metric, h.route, h.queue, h.kind,
           COALESCE(s.observations, 0) AS observations, h.value_count, h.value_sum,
           q.value_p95
    FROM histogram_totals AS h
    LEFT JOIN histogram_samples AS s
        ON h.day = s.day AND h.source = s.source AND h.metric = s.metric
        AND h.route IS NOT DISTINCT FROM s.route AND h.queue IS NOT DISTINCT FROM s.queue
    LEFT JOIN quantiles AS q
        ON h.day = q.day AND h.source = q.source AND h.metric = q.metric
        AND h.route IS NOT DISTINCT FROM q.route AND h.queue IS NOT DISTINCT FROM q.queue
),
events AS (
    SELECT day, metric_name, COUNT(*) AS observations, SUM(value) AS value_sum,
           MIN(value) AS value_min, MAX(value) AS value_max,
           quantile_cont(value, 0.95) AS value_p95
    FROM staging.stg_landing__ontrack_metrics
    GROUP BY day, metric_name
),
all_kinds AS (
    SELECT
        s.day, s.source, s.metric AS metric_name, s.route, s.queue, 'counter' AS kind,
        s.observations, COALESCE(c.increase, 0) AS increase,
        CAST(NULL AS DOUBLE) AS value_last, CAST(NULL AS DOUBLE) AS value_min,
        CAST(NULL AS DOUBLE) AS value_max, CAST(NULL AS DOUBLE) AS value_count,
        CAST(NULL AS DOUBLE) AS value_sum, CAST(NULL AS DOUBLE) AS value_p95
    FROM counter_samples AS s
    LEFT JOIN counters AS c
        ON s.day = c.day AND s.source = c.source AND s.metric = c.metric
        AND s.route IS NOT DISTINCT FROM c.route AND s.queue IS NOT DISTINCT FROM c.queue
    UNION ALL
    SELECT day, source, metric, route, queue, 'gauge', observations, NULL, value_last, value_min,
           value_max, NULL, NULL, NULL
    FROM gauges
    UNION ALL
    SELECT day, source, metric, route, queue, kind, observations, NULL, NULL, NULL, NULL,
           value_count, value_sum, value_p95
    FROM histograms
    UNION ALL
    SELECT day, 'events', metric_name, NULL, NULL, 'event', observations, NULL, NULL, value_min,
           value_max, NULL, value_sum, value_p95
    FROM events
)
-- One row per metric and dimensions: a name is one kind (the union's branches never meet).
SELECT
    day, source, metric_name, route, queue,
    MAX(kind) AS kind,
    SUM(observations) AS observations,
    MAX(increase) AS increase,
    MAX(value_last) AS value_last,
    MIN(value_min) AS value_min,
    MAX(value_max) AS value_max,
    MAX(value_count) AS value_count,
    MAX(value_sum) AS value_sum,
    MAX(value_p95) AS value_p95
FROM all_kinds
GROUP BY day, source, metric_name, route, queue
