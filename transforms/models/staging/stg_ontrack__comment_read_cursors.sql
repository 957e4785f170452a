-- 10.x's read marks: per task and user, the newest comment read and when (CommentReadCursor).
-- Every comment of the task up to last_read_comment_id counts as read at read_at
-- (TaskComment#read_by?, #time_read_by). Older generations have no such table: empty.
SELECT
    id AS read_cursor_id,
    task_id,
    user_id AS reader_user_id,
    last_read_comment_id,
    read_at
FROM ontrack_raw.comment_read_cursors
