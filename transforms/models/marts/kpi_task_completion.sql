-- What this table means (grain, definition, owner, flywheel): kpi_task_completion.yml beside it.
WITH counts AS (
    SELECT
        task_definition_id,
        COUNT(*) AS expected,
        COUNT(CASE WHEN task_status_id = 2 THEN 1 END) AS completed,
        MEDIAN(CASE WHEN task_status_id = 2 AND completion_date IS NOT NULL
                    THEN date_diff('day', CAST(start_date AS DATE), completion_date) END)
            AS median_days_to_complete
    FROM intermediate.int_expected_tasks
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.expected, 0) AS expected,
    COALESCE(c.completed, 0) AS completed,
    CAST(c.completed AS DOUBLE) / NULLIF(c.expected, 0) AS completion_rate,
    CAST(c.median_days_to_complete AS DOUBLE) AS median_days_to_complete
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
