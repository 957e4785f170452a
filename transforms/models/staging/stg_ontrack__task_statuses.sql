-- Current status names (6 "Feedback Exceeded", 11 "Needs Improvement").
SELECT
    id AS task_status_id,
    name AS status_name
FROM ontrack_raw.task_statuses
