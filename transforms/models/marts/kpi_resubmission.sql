-- What this table means (grain, definition, owner, flywheel): kpi_resubmission.yml beside it.
WITH counts AS (
    SELECT
        task_definition_id,
        COUNT(*) AS submissions,
        COUNT(DISTINCT task_id) AS tasks_submitted,
        COUNT(CASE WHEN assessed THEN 1 END) AS assessed,
        COUNT(CASE WHEN assessed AND outcome IN ('Fix and Resubmit', 'Redo') THEN 1 END)
            AS sent_back
    FROM intermediate.int_task_submissions
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.submissions, 0) AS submissions,
    COALESCE(c.assessed, 0) AS assessed,
    COALESCE(c.sent_back, 0) AS sent_back,
    CAST(c.sent_back AS DOUBLE) / NULLIF(c.assessed, 0) AS resubmission_rate,
    CAST(c.submissions AS DOUBLE) / NULLIF(c.tasks_submitted, 0) AS submissions_per_task
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
