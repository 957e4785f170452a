SELECT
    property_id,
    date AS day,
    event_name,
    event_count,
    active_users
FROM ga4_raw.events
