SELECT
    id AS read_receipt_id,
    task_comment_id,
    user_id AS reader_user_id,
    created_at AS read_at
FROM ontrack_raw.comments_read_receipts
