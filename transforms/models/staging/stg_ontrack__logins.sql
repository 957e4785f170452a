SELECT
    id AS login_id,
    user_id,
    COALESCE(timestamp, created_at) AS login_at
FROM ontrack_raw.logins
