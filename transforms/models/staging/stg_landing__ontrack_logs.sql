-- OnTrack requests from the landing zone's logs, one row per logged request, times in UTC. Paths
-- are templates (ids as :id) and addresses were truncated at ingest: nothing here names a person.
-- source says which log saw the request: nginx (the proxy: every request's status, bytes and,
-- with $request_time, its duration) or rails (Doubtfire's and Rails' own logs, lograge JSON:
-- every request, but a Grape request's status only when it failed with a 500).
SELECT
    requested_at,
    CAST(requested_at AS DATE) AS day,
    method,
    path_template,
    CAST(status AS INTEGER) AS status,
    duration_ms,
    bytes,
    upstream_ms,
    exception_class,
    log_format,
    CASE WHEN log_format = 'nginx' THEN 'nginx' ELSE 'rails' END AS source,
    source_file,
    line_number
FROM landing_raw.ontrack_logs
