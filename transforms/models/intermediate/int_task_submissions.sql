-- Submissions (task_submissions rows) of expected tasks (int_expected_tasks), the population of
-- every KPI about assessment. A submission is assessed when OnTrack's Task#assess has written
-- its outcome and assessment_time (it writes both at once).
SELECT
    e.unit_id,
    e.task_definition_id,
    e.project_id,
    s.task_submission_id,
    s.task_id,
    s.submission_time,
    s.assessment_time,
    s.outcome,
    s.outcome IS NOT NULL AND s.assessment_time IS NOT NULL AND s.submission_time IS NOT NULL
        AS assessed
FROM staging.stg_ontrack__task_submissions AS s
JOIN intermediate.int_expected_tasks AS e ON e.task_id = s.task_id
