-- What this table means (grain, definition, owner, flywheel): kpi_on_time.yml beside it.
WITH counts AS (
    SELECT
        task_definition_id,
        COUNT(CASE WHEN submitted_on_time THEN 1 END) AS on_time,
        COUNT(CASE WHEN NOT (submitted_on_time) THEN 1 END) AS late
    FROM intermediate.int_expected_tasks
    WHERE submission_date IS NOT NULL
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.on_time, 0) AS on_time,
    COALESCE(c.late, 0) AS late,
    CAST(c.on_time AS DOUBLE) / NULLIF(c.on_time + c.late, 0) AS on_time_rate
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
