-- Campuses and, from 10.x, their time zone, which OnTrack reads for engagements and
-- notifications — never for a task's deadline (deadline days are UTC days: int_task_deadlines).
-- The zone is resolved as OnTrack resolves it (ActiveSupport::TimeZone[campus.timezone], else
-- the application's zone, UTC): a Rails name ("Melbourne") through ActiveSupport's own table
-- (staging.stg_rails__time_zones), otherwise the stored text as an IANA identifier. A blank
-- value is no zone. A name neither form knows reads as UTC, as in OnTrack, and is flagged
-- (time_zone_unknown) so that `thoth check` warns about it instead of hiding it.
WITH source AS (
    SELECT * FROM ontrack_raw.campuses
),
renamed AS (
    SELECT
        s.id AS campus_id,
        s.name AS campus_name,
        s.abbreviation,
        s.active,
        s.timezone AS time_zone_name,
        z.name AS time_zone,
        COALESCE(trim(s.timezone) <> '' AND z.name IS NULL, FALSE) AS time_zone_unknown
    FROM source AS s
    LEFT JOIN staging.stg_rails__time_zones AS r ON r.zone_name = s.timezone
    LEFT JOIN pg_timezone_names() AS z ON z.name = COALESCE(r.tzinfo_identifier, s.timezone)
)
SELECT * FROM renamed
