-- Extension requests on expected tasks: OnTrack's ExtensionComment (Task#apply_for_extension
-- creates one; ExtensionComment#assessed? is date_extension_assessed being set).
SELECT
    c.task_comment_id,
    c.task_id,
    x.task_definition_id,
    x.unit_id,
    x.project_id,
    c.created_at,
    c.extension_weeks,
    c.extension_granted,
    c.date_extension_assessed,
    date_diff('second', c.created_at, c.date_extension_assessed) / 3600.0 AS response_hours
FROM staging.stg_ontrack__task_comments AS c
JOIN intermediate.int_expected_tasks AS x ON x.task_id = c.task_id
WHERE c.comment_type = 'ExtensionComment'
