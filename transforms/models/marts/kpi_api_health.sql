-- OnTrack API health per day (UTC) and path template. error_rate is the share of requests
-- answered with a server error (5xx); client errors (4xx) are counted apart and are not in it.
-- Latency percentiles are continuous (interpolated) quantiles of Rails' own duration.
SELECT
    day,
    path_template,
    COUNT(*) AS requests,
    SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS server_errors,
    SUM(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END) AS client_errors,
    CAST(SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS error_rate,
    quantile_cont(duration_ms, 0.5) AS p50_ms,
    quantile_cont(duration_ms, 0.95) AS p95_ms
FROM staging.stg_landing__ontrack_logs
GROUP BY day, path_template
