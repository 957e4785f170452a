-- Expected tasks are enrolled projects × the unit's task definitions up to the project's target
-- grade (OnTrack's own rule); a task never touched has no row and counts as not submitted.
WITH expected AS (
    SELECT td.task_definition_id, p.project_id
    FROM staging.stg_ontrack__task_definitions AS td
    JOIN staging.stg_ontrack__projects AS p
      ON p.unit_id = td.unit_id AND p.enrolled AND td.target_grade <= p.target_grade
),
counts AS (
    SELECT
        e.task_definition_id,
        COUNT(*) AS expected,
        COUNT(t.submission_date) AS submitted
    FROM expected AS e
    LEFT JOIN staging.stg_ontrack__tasks AS t
      ON t.project_id = e.project_id AND t.task_definition_id = e.task_definition_id
    GROUP BY e.task_definition_id
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.expected, 0) AS expected,
    COALESCE(c.submitted, 0) AS submitted,
    CAST(c.submitted AS DOUBLE) / NULLIF(c.expected, 0) AS submission_rate
FROM staging.stg_ontrack__task_definitions AS td
JOIN staging.stg_ontrack__units AS u ON u.unit_id = td.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
