-- Comments without their text: who, when, what kind, and the extension-request fields.
WITH source AS (
    SELECT * FROM ontrack_raw.task_comments
),
renamed AS (
    SELECT
        id AS task_comment_id,
        task_id,
        user_id AS author_user_id,
        recipient_id AS recipient_user_id,
        created_at,
        COALESCE(type, 'TaskComment') AS comment_type,
        COALESCE(content_type, 'text') AS content_type,
        reply_to_id,
        extension_weeks,
        extension_granted,
        date_extension_assessed,
        assessor_id AS assessor_user_id,
        -- 10.x: who must read it (0 no one, 1 the student, 2 staff); NULL = its recipient, as
        -- every comment before 10.x (TaskComment#requires_attention_for?).
        attention_audience
    FROM source
)
SELECT * FROM renamed
