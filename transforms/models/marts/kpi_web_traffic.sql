-- OnTrack's web traffic per day and GA4 property. The engagement rate is recomputed from its
-- parts (engaged sessions / sessions), never averaged. Active users are summed over device and
-- country: someone on two devices in a day counts twice (GA4 cannot de-duplicate after the fact).
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
