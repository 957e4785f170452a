-- The task population of every per-task KPI, once (OnTrack's Project#assigned_tasks and
-- UnitRole#tasks_awaiting_feedback): every enrolled project × its unit's task definitions up to
-- the project's target grade, with the task row if the student has touched it (tasks are
-- created lazily: no row means not started) and its deadline from int_task_deadlines.
-- "Submitted" is a submission date, as OnTrack records one on submit and on assess.
SELECT
    td.unit_id,
    td.task_definition_id,
    td.target_grade,
    td.start_date,
    td.tutorial_stream_id,
    p.project_id,
    t.task_id,
    t.task_status_id,
    t.submission_date,
    t.completion_date,
    t.extensions,
    d.extension_capped,
    d.due_day,
    d.submitted_on_time
FROM staging.stg_ontrack__task_definitions AS td
JOIN intermediate.int_enrolled_projects AS p
  ON p.unit_id = td.unit_id AND td.target_grade <= p.target_grade
-- Each task with its deadline first, then to the expected tasks: the same rows as two joins in a
-- row, but one large hash join at a time, which DuckDB can spill (with the two of them at once
-- it ran out within 640MB at scale 1, issue #25).
LEFT JOIN (
    staging.stg_ontrack__tasks AS t
    LEFT JOIN intermediate.int_task_deadlines AS d ON d.task_id = t.task_id
) ON t.project_id = p.project_id AND t.task_definition_id = td.task_definition_id
