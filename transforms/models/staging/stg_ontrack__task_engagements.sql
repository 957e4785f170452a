-- Status changes over time; history rows keep the names of their day, normalised here.
WITH source AS (
    SELECT * FROM ontrack_raw.task_engagements
),
renamed AS (
    SELECT
        id AS task_engagement_id,
        task_id,
        engagement_time,
        CASE engagement
            WHEN 'Do Not Resubmit' THEN 'Feedback Exceeded'
            WHEN 'Fail' THEN 'Needs Improvement'
            ELSE engagement
        END AS status_name
    FROM source
)
SELECT * FROM renamed
