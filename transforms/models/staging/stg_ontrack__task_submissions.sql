-- One row per submission; the outcome is a status name, old names normalised.
WITH source AS (
    SELECT * FROM ontrack_raw.task_submissions
),
renamed AS (
    SELECT
        id AS task_submission_id,
        task_id,
        submission_time,
        assessment_time,
        assessor_id AS assessor_user_id,
        CASE outcome
            WHEN 'Do Not Resubmit' THEN 'Feedback Exceeded'
            WHEN 'Fail' THEN 'Needs Improvement'
            ELSE NULLIF(outcome, '')
        END AS outcome
    FROM source
)
SELECT * FROM renamed
