-- What this table means (grain, definition, owner, flywheel): kpi_feedback_read.yml beside it.
-- Read as the loaded OnTrack generation records it (intermediate.int_comment_reads: a read
-- receipt, or 10.x's read cursor); a 10.x comment that asks no one to read it is not counted.
WITH staff_comments AS (
    SELECT r.task_comment_id, r.created_at, r.read_at, p.unit_id
    FROM intermediate.int_comment_reads AS r
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = r.task_id
    JOIN intermediate.int_enrolled_projects AS p ON p.project_id = t.project_id
    WHERE r.author_user_id <> p.student_user_id AND r.requires_attention
),
reads AS (
    SELECT
        unit_id,
        read_at,
        date_diff('second', created_at, read_at) / 3600.0 AS hours_to_read
    FROM staff_comments
),
counts AS (
    SELECT
        unit_id,
        COUNT(*) AS staff_comments,
        COUNT(read_at) AS read_comments,
        MEDIAN(CASE WHEN hours_to_read >= 0 THEN hours_to_read END) AS median_hours_to_read
    FROM reads
    GROUP BY unit_id
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    c.staff_comments,
    c.read_comments,
    CAST(c.read_comments AS DOUBLE) / NULLIF(c.staff_comments, 0) AS read_rate,
    c.median_hours_to_read
FROM counts AS c
JOIN staging.stg_ontrack__units AS u ON u.unit_id = c.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
