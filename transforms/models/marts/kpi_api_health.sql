-- What this table means (grain, definition, owner, flywheel): kpi_api_health.yml beside it.
-- A day is read from one source because a request nginx logged is usually in Rails' log too:
-- counting both would count it twice.
WITH api AS (
    SELECT *
    FROM staging.stg_landing__ontrack_logs
    WHERE path_template = '/api' OR path_template LIKE '/api/%'
),
day_source AS (
    SELECT day, CASE WHEN bool_or(source = 'nginx') THEN 'nginx' ELSE 'rails' END AS source
    FROM api
    GROUP BY day
),
counted AS (
    SELECT api.*
    FROM api
    JOIN day_source USING (day, source)
)
SELECT
    day,
    path_template,
    any_value(source) AS source,
    COUNT(*) AS requests,
    COUNT(status) AS requests_with_status,
    COUNT(*) FILTER (WHERE status >= 500) AS server_errors,
    CASE WHEN COUNT(status) = COUNT(*)
         THEN COUNT(*) FILTER (WHERE status >= 400 AND status < 500) END AS client_errors,
    CAST(COUNT(*) FILTER (WHERE status >= 500) AS DOUBLE) / COUNT(*) AS error_rate,
    COUNT(duration_ms) AS requests_timed,
    quantile_cont(duration_ms, 0.5) AS p50_ms,
    quantile_cont(duration_ms, 0.95) AS p95_ms
FROM counted
GROUP BY day, path_template
