-- GA4 daily traffic by device and country: additive parts only.
SELECT
    property_id,
    date AS day,
    device_category,
    country,
    active_users,
    new_users,
    sessions,
    engaged_sessions,
    user_engagement_duration,
    screen_page_views
FROM ga4_raw.traffic
