-- Each enrolled student's own activity, once for every KPI and product that asks "when was the
-- student last active": a status change a student can make (OnTrack's
-- Task#trigger_transition; the other statuses are tutors' assessments), a submission, or a
-- comment the task's own student wrote. One row per event; `activity_at` is UTC.
WITH events AS (
    -- Task engagements do not say who acted: the statuses a student can set are theirs.
    -- 10.x lets a student move a task to Assess in Portfolio too.
    SELECT task_id, engagement_time AS activity_at, CAST(NULL AS BIGINT) AS author_user_id
    FROM staging.stg_ontrack__task_engagements
    WHERE status_name IN ('Not Started', 'Working On It', 'Need Help', 'Ready for Feedback',
                          'Assess in Portfolio')
    UNION ALL
    SELECT task_id, submission_time, CAST(NULL AS BIGINT)
    FROM staging.stg_ontrack__task_submissions
    UNION ALL
    -- Comments count only when the task's own student wrote them (checked below).
    SELECT task_id, created_at, author_user_id
    FROM staging.stg_ontrack__task_comments
)
SELECT
    p.unit_id,
    p.project_id,
    e.activity_at
FROM events AS e
JOIN staging.stg_ontrack__tasks AS t ON t.task_id = e.task_id
JOIN intermediate.int_enrolled_projects AS p ON p.project_id = t.project_id
WHERE e.activity_at IS NOT NULL
  AND (e.author_user_id IS NULL OR e.author_user_id = p.student_user_id)
