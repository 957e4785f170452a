-- OnTrack application metric events from the landing zone, times in UTC.
SELECT
    time AS event_time,
    CAST(time AS DATE) AS day,
    name AS metric_name,
    value,
    tags,
    source_file,
    line_number
FROM landing_raw.ontrack_metrics
