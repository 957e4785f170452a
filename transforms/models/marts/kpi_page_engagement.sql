-- What this table means (grain, definition, owner, flywheel): kpi_page_engagement.yml beside it.
SELECT
    day,
    property_id,
    page_path,
    CAST(SUM(screen_page_views) AS BIGINT) AS page_views,
    CAST(SUM(active_users) AS BIGINT) AS users,
    CAST(SUM(user_engagement_duration) AS DOUBLE) / NULLIF(SUM(active_users), 0)
        AS engagement_seconds_per_user
FROM staging.stg_ga4__pages
GROUP BY day, property_id, page_path
