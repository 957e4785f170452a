-- The OnTrack schema generation the warehouse was loaded from, read off the loaded tables'
-- shape with the markers pipelines/ontrack/generation.py reads off the source (a test holds the
-- two to the same answer): 10.x has comment_read_cursors, 8.0.x task_comments.commentable_id,
-- 2024-01 task_comments.overseer_assessment_id. Newest first: a column a migration drops stays
-- in the warehouse (for the rows it had), so an older generation's marker may linger.
WITH raw AS (
    SELECT table_name, column_name
    FROM duckdb_columns()
    WHERE database_name = current_database() AND schema_name = 'ontrack_raw'
)
SELECT
    CASE
        WHEN EXISTS (SELECT 1 FROM raw WHERE table_name = 'comment_read_cursors') THEN '10.x'
        WHEN EXISTS (SELECT 1 FROM raw
                     WHERE table_name = 'task_comments' AND column_name = 'commentable_id')
            THEN '8.0.x'
        WHEN EXISTS (SELECT 1 FROM raw
                     WHERE table_name = 'task_comments' AND column_name = 'overseer_assessment_id')
            THEN '2024-01'
        ELSE 'unknown'
    END AS generation
