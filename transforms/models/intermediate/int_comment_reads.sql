-- Whether and when each comment's recipient read it, by the rule of the generation the
-- warehouse was loaded from (staging.stg_ontrack__generation):
--   * before 10.x, a read receipt by the recipient (comments_read_receipts, one per comment
--     and reader: TaskComment#mark_as_read);
--   * 10.x marks reading with one cursor per task and reader (CommentReadCursor): a comment is
--     read once the recipient's cursor on its task has reached it (last_read_comment_id >= its
--     id), at the cursor's read_at (TaskComment#read_by?, #time_read_by). 10.x keeps the
--     receipts table but no longer writes it; its upgrade copied the receipts into cursors.
--     A comment whose attention_audience is not the recipient's side (0 no one, 1 student,
--     2 staff; NULL = the recipient) never asks to be read (#requires_attention_for?).
WITH generation AS (
    SELECT generation FROM staging.stg_ontrack__generation
),
comments AS (
    SELECT
        c.task_comment_id,
        c.task_id,
        c.author_user_id,
        c.recipient_user_id,
        c.created_at,
        c.attention_audience,
        p.student_user_id
    FROM staging.stg_ontrack__task_comments AS c
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = c.task_id
    JOIN staging.stg_ontrack__projects AS p ON p.project_id = t.project_id
    WHERE c.recipient_user_id IS NOT NULL
),
by_receipt AS (
    SELECT c.task_comment_id, MIN(r.read_at) AS read_at
    FROM comments AS c
    JOIN staging.stg_ontrack__comments_read_receipts AS r
      ON r.task_comment_id = c.task_comment_id AND r.reader_user_id = c.recipient_user_id
    WHERE (SELECT generation FROM generation) <> '10.x'
    GROUP BY c.task_comment_id
),
by_cursor AS (
    SELECT c.task_comment_id, MIN(r.read_at) AS read_at
    FROM comments AS c
    JOIN staging.stg_ontrack__comment_read_cursors AS r
      ON r.task_id = c.task_id AND r.reader_user_id = c.recipient_user_id
     AND r.last_read_comment_id >= c.task_comment_id
    WHERE (SELECT generation FROM generation) = '10.x'
    GROUP BY c.task_comment_id
)
SELECT
    c.task_comment_id,
    c.task_id,
    c.author_user_id,
    c.recipient_user_id,
    c.created_at,
    c.attention_audience IS NULL
        OR c.attention_audience = CASE WHEN c.recipient_user_id = c.student_user_id THEN 1 ELSE 2 END
        AS requires_attention,
    COALESCE(k.read_at, r.read_at) AS read_at
FROM comments AS c
LEFT JOIN by_receipt AS r ON r.task_comment_id = c.task_comment_id
LEFT JOIN by_cursor AS k ON k.task_comment_id = c.task_comment_id
