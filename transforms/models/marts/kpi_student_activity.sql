-- What this table means (grain, definition, owner, flywheel): kpi_student_activity.yml beside it.
WITH events AS (
    -- Task engagements do not say who acted: the statuses a student can set (OnTrack's
    -- Task#trigger_transition; the others are tutors' assessments) are the student's activity.
    -- 10.x lets a student move a task to Assess in Portfolio too.
    SELECT task_id, engagement_time AS at, CAST(NULL AS BIGINT) AS author_user_id
    FROM staging.stg_ontrack__task_engagements
    WHERE status_name IN ('Not Started', 'Working On It', 'Need Help', 'Ready for Feedback',
                          'Assess in Portfolio')
    UNION ALL
    -- Comments count only when the task's own student wrote them (checked below).
    SELECT task_id, submission_time, CAST(NULL AS BIGINT)
    FROM staging.stg_ontrack__task_submissions
    UNION ALL
    SELECT task_id, created_at, author_user_id
    FROM staging.stg_ontrack__task_comments
),
weekly AS (
    -- Each enrolled student's active weeks.
    SELECT DISTINCT
        p.unit_id,
        p.project_id,
        CAST(date_trunc('week', e.at) AS DATE) AS week_start
    FROM events AS e
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = e.task_id
    JOIN intermediate.int_enrolled_projects AS p ON p.project_id = t.project_id
    WHERE e.at IS NOT NULL
      AND (e.author_user_id IS NULL OR e.author_user_id = p.student_user_id)
),
active AS (
    SELECT unit_id, week_start, COUNT(*) AS active_students
    FROM weekly
    GROUP BY unit_id, week_start
),
recent AS (
    -- The 14 days up to a week's end are that week and the one before it.
    SELECT unit_id, week_start, COUNT(DISTINCT project_id) AS recent_students
    FROM (
        SELECT unit_id, project_id, week_start FROM weekly
        UNION ALL
        SELECT unit_id, project_id, CAST(week_start + INTERVAL 7 DAY AS DATE) FROM weekly
    ) AS shifted
    GROUP BY unit_id, week_start
),
enrolled AS (
    SELECT unit_id, COUNT(*) AS enrolled
    FROM intermediate.int_enrolled_projects
    GROUP BY unit_id
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    a.week_start,
    a.active_students,
    e.enrolled - COALESCE(r.recent_students, 0) AS inactive_students
FROM active AS a
JOIN enrolled AS e ON e.unit_id = a.unit_id
LEFT JOIN recent AS r ON r.unit_id = a.unit_id AND r.week_start = a.week_start
JOIN staging.stg_ontrack__units AS u ON u.unit_id = a.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
