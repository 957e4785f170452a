-- Campuses and, from 10.x, the time zone OnTrack reads their students' deadline days in
-- (Task#deadline_time_zone: the campus's zone, else the application's, which is UTC). A zone
-- name DuckDB does not know reads as NULL, as ActiveSupport::TimeZone[name] gives nil for it.
WITH source AS (
    SELECT * FROM ontrack_raw.campuses
),
renamed AS (
    SELECT
        s.id AS campus_id,
        s.name AS campus_name,
        s.abbreviation,
        s.active,
        z.name AS time_zone
    FROM source AS s
    LEFT JOIN pg_timezone_names() AS z ON z.name = s.timezone
)
SELECT * FROM renamed
