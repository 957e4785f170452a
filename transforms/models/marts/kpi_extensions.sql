-- Extension requests (ExtensionComment) per task definition: how many, the share granted of
-- those answered, and the median hours to an answer.
WITH requests AS (
    SELECT
        t.task_definition_id,
        c.extension_granted,
        c.date_extension_assessed,
        date_diff('second', c.created_at, c.date_extension_assessed) / 3600.0 AS response_hours
    FROM staging.stg_ontrack__task_comments AS c
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = c.task_id
    WHERE c.comment_type = 'ExtensionComment'
),
counts AS (
    SELECT
        task_definition_id,
        COUNT(*) AS requests,
        COUNT(date_extension_assessed) AS answered,
        COUNT(CASE WHEN date_extension_assessed IS NOT NULL AND extension_granted
                 THEN 1 END) AS granted,
        MEDIAN(response_hours) AS median_response_hours
    FROM requests
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.requests, 0) AS requests,
    COALESCE(c.answered, 0) AS answered,
    COALESCE(c.granted, 0) AS granted,
    CAST(c.granted AS DOUBLE) / NULLIF(c.answered, 0) AS grant_rate,
    c.median_response_hours
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
