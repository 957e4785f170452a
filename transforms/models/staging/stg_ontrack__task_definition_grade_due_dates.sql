-- 10.x flexible dates: a task definition's due date for students aiming at one target grade
-- (TaskDefinition#grade_target_date). Older generations have no such table: empty.
SELECT
    id AS grade_due_date_id,
    task_definition_id,
    target_grade,
    target_due_date,
    start_date
FROM ontrack_raw.task_definition_grade_due_dates
