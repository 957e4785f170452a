-- What this table means (grain, definition, owner, flywheel): kpi_web_traffic.yml beside it.
-- Ratios are recomputed from their parts: an average of daily rates would weigh a quiet
-- device like a busy one.
SELECT
    day,
    property_id,
    CAST(SUM(active_users) AS BIGINT) AS active_users,
    CAST(SUM(new_users) AS BIGINT) AS new_users,
    CAST(SUM(sessions) AS BIGINT) AS sessions,
    CAST(SUM(engaged_sessions) AS BIGINT) AS engaged_sessions,
    CAST(SUM(screen_page_views) AS BIGINT) AS page_views,
    CAST(SUM(engaged_sessions) AS DOUBLE) / NULLIF(SUM(sessions), 0) AS engagement_rate
FROM staging.stg_ga4__traffic
GROUP BY day, property_id
