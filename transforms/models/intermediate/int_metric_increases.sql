-- How much each cumulative series (counter, histogram bucket/count/sum) grew since its previous
-- sample, by Prometheus' increase() rule: a value lower than the one before, or a new start
-- time (a process restart), counts whole; the first sample of a series is only a baseline.
-- Delta points are increases already. The increase belongs to the day of the later sample.
WITH cumulative AS (
    SELECT
        *,
        LAG(value) OVER (PARTITION BY source, series_origin, metric, sample, labels, le
                         ORDER BY observed_at) AS previous_value,
        LAG(start_time) OVER (PARTITION BY source, series_origin, metric, sample, labels, le
                              ORDER BY observed_at) AS previous_start
    FROM intermediate.int_metric_samples
    WHERE temporality = 'cumulative' AND sample IN ('value', 'bucket', 'count', 'sum')
)
SELECT
    source, series_origin, observed_at, day, metric, kind, sample, labels, le, route, queue,
    CASE
        WHEN previous_value IS NULL THEN NULL
        WHEN value < previous_value THEN value
        WHEN start_time IS NOT NULL AND previous_start IS NOT NULL
             AND start_time <> previous_start THEN value
        ELSE value - previous_value
    END AS increase,
    previous_value IS NOT NULL
        AND (value < previous_value
             OR (start_time IS NOT NULL AND previous_start IS NOT NULL
                 AND start_time <> previous_start)) AS reset
FROM cumulative
UNION ALL
SELECT
    source, series_origin, observed_at, day, metric, kind, sample, labels, le, route, queue,
    value AS increase,
    FALSE AS reset
FROM intermediate.int_metric_samples
WHERE temporality = 'delta' AND sample IN ('value', 'bucket', 'count', 'sum')
