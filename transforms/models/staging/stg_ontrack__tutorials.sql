-- A tutorial's tutor is the unit role it points at; capacity -1 means unlimited.
SELECT
    id AS tutorial_id,
    unit_id,
    unit_role_id AS tutor_unit_role_id,
    tutorial_stream_id,
    campus_id,
    CASE WHEN capacity < 0 THEN NULL ELSE capacity END AS capacity
FROM ontrack_raw.tutorials
