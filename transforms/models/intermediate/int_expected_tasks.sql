-- The tasks OnTrack expects (Project#assigned_tasks): every enrolled project × its unit's task
-- definitions up to the project's target grade, with the task row if the student has touched
-- it (tasks are created lazily: no row means not started).
SELECT
    td.task_definition_id,
    td.start_date,
    p.project_id,
    t.task_id,
    t.task_status_id,
    t.submission_date,
    t.completion_date
FROM staging.stg_ontrack__task_definitions AS td
JOIN staging.stg_ontrack__projects AS p
  ON p.unit_id = td.unit_id AND p.enrolled AND td.target_grade <= p.target_grade
LEFT JOIN staging.stg_ontrack__tasks AS t
  ON t.project_id = p.project_id AND t.task_definition_id = td.task_definition_id
