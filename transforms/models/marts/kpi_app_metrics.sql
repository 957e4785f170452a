-- What this table means (grain, definition, owner, flywheel): kpi_app_metrics.yml beside it.
SELECT
    day,
    metric_name,
    COUNT(*) AS observations,
    SUM(value) AS value_sum,
    MIN(value) AS value_min,
    MAX(value) AS value_max,
    quantile_cont(value, 0.95) AS value_p95
FROM staging.stg_landing__ontrack_metrics
GROUP BY day, metric_name
