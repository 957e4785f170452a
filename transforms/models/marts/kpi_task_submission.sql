-- What this table means (grain, definition, owner, flywheel): kpi_task_submission.yml beside it.
WITH counts AS (
    SELECT
        task_definition_id,
        COUNT(*) AS expected,
        COUNT(submission_date) AS submitted
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
    COALESCE(c.submitted, 0) AS submitted,
    CAST(c.submitted AS DOUBLE) / NULLIF(c.expected, 0) AS submission_rate
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
