WITH source AS (
    SELECT * FROM ontrack_raw.task_definitions
),
renamed AS (
    SELECT
        id AS task_definition_id,
        unit_id,
        abbreviation AS task_abbreviation,
        name AS task_name,
        COALESCE(target_grade, 0) AS target_grade,
        start_date,
        target_date,
        due_date,
        tutorial_stream_id,
        COALESCE(is_graded, FALSE) AS is_graded,
        max_quality_pts
    FROM source
)
SELECT * FROM renamed
