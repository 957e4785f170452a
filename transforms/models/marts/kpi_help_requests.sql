-- What this table means (grain, definition, owner, flywheel): kpi_help_requests.yml beside it.
WITH asked AS (
    SELECT x.task_definition_id, x.project_id
    FROM staging.stg_ontrack__task_engagements AS e
    JOIN intermediate.int_expected_tasks AS x ON x.task_id = e.task_id
    WHERE e.status_name = 'Need Help'
),
counts AS (
    SELECT task_definition_id, COUNT(*) AS help_requests,
           COUNT(DISTINCT project_id) AS students_asking
    FROM asked
    GROUP BY task_definition_id
),
open_now AS (
    SELECT task_definition_id, COUNT(*) AS open_help_requests
    FROM intermediate.int_expected_tasks
    WHERE task_status_id = 3
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.help_requests, 0) AS help_requests,
    COALESCE(c.students_asking, 0) AS students_asking,
    COALESCE(o.open_help_requests, 0) AS open_help_requests
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
LEFT JOIN open_now AS o ON o.task_definition_id = td.task_definition_id
