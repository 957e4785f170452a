-- Share of expected tasks (as in kpi_task_submission) that are Complete (status 2), and the
-- median days from the task's start date to its completion date.
WITH expected AS (
    SELECT td.task_definition_id, td.start_date, p.project_id
    FROM staging.stg_ontrack__task_definitions AS td
    JOIN staging.stg_ontrack__projects AS p
      ON p.unit_id = td.unit_id AND p.enrolled AND td.target_grade <= p.target_grade
),
counts AS (
    SELECT
        e.task_definition_id,
        COUNT(*) AS expected,
        COUNT(CASE WHEN t.task_status_id = 2 THEN 1 END) AS completed,
        MEDIAN(CASE WHEN t.task_status_id = 2 AND t.completion_date IS NOT NULL
                    THEN date_diff('day', CAST(e.start_date AS DATE), t.completion_date) END)
            AS median_days_to_complete
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
    COALESCE(c.completed, 0) AS completed,
    CAST(c.completed AS DOUBLE) / NULLIF(c.expected, 0) AS completion_rate,
    CAST(c.median_days_to_complete AS DOUBLE) AS median_days_to_complete
FROM staging.stg_ontrack__task_definitions AS td
JOIN staging.stg_ontrack__units AS u ON u.unit_id = td.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
