-- SplashKit's anonymous usage events from the landing zone. install_id is a random id the
-- install made for itself; week_start is the ISO week's Monday (UTC).
SELECT
    time AS event_time,
    CAST(date_trunc('week', time) AS DATE) AS week_start,
    install_id,
    event,
    function AS function_name,
    language,
    os,
    splashkit_version,
    source_file,
    line_number
FROM landing_raw.splashkit_usage
