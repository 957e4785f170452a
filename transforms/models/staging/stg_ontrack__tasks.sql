-- A task row exists only once a student touches the task: a missing row means not started.
WITH source AS (
    SELECT * FROM ontrack_raw.tasks
),
renamed AS (
    SELECT
        id AS task_id,
        project_id,
        task_definition_id,
        task_status_id,
        submission_date,
        assessment_date,
        completion_date,
        COALESCE(extensions, 0) AS extensions,
        -- 10.x flexible dates: the due date the student chose (Task#local_due_date).
        target_due_date,
        COALESCE(times_assessed, 0) AS times_assessed,
        created_at,
        updated_at
    FROM source
)
SELECT * FROM renamed
