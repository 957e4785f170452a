SELECT
    property_id,
    date AS day,
    page_path,
    page_title,
    screen_page_views,
    active_users,
    user_engagement_duration
FROM ga4_raw.pages
