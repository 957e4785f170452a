-- OnTrack API requests from the landing zone's logs, one row per request, times in UTC. Paths
-- are templates (ids as :id) and addresses were truncated at ingest: nothing here names a person.
SELECT
    requested_at,
    CAST(requested_at AS DATE) AS day,
    method,
    path_template,
    CAST(status AS INTEGER) AS status,
    duration_ms,
    log_format,
    source_file,
    line_number
FROM landing_raw.ontrack_logs
