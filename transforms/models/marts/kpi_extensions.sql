-- What this table means (grain, definition, owner, flywheel): kpi_extensions.yml beside it.
WITH counts AS (
    SELECT
        task_definition_id,
        COUNT(*) AS requests,
        COUNT(date_extension_assessed) AS answered,
        COUNT(CASE WHEN date_extension_assessed IS NOT NULL AND extension_granted
                 THEN 1 END) AS granted,
        MEDIAN(response_hours) AS median_response_hours
    FROM intermediate.int_extension_requests
    GROUP BY task_definition_id
),
extended AS (
    SELECT
        task_definition_id,
        COUNT(CASE WHEN extensions > 0 THEN 1 END) AS extended_tasks,
        COUNT(CASE WHEN extension_capped THEN 1 END) AS capped_at_due_date
    FROM intermediate.int_expected_tasks
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
    c.median_response_hours,
    COALESCE(x.extended_tasks, 0) AS extended_tasks,
    COALESCE(x.capped_at_due_date, 0) AS capped_at_due_date
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
LEFT JOIN extended AS x ON x.task_definition_id = td.task_definition_id
