-- Weekly active students (any status change, submission or own comment) per unit and ISO week,
-- and enrolled students with no activity in the 14 days up to the week's end (never active
-- counts as inactive). Weeks are those in which the unit saw any activity.
WITH events AS (
    -- Comments count only when the task's own student wrote them (checked below).
    SELECT task_id, engagement_time AS at, CAST(NULL AS BIGINT) AS author_user_id
    FROM staging.stg_ontrack__task_engagements
    UNION ALL
    SELECT task_id, submission_time, CAST(NULL AS BIGINT)
    FROM staging.stg_ontrack__task_submissions
    UNION ALL
    SELECT task_id, created_at, author_user_id
    FROM staging.stg_ontrack__task_comments
),
weekly AS (
    SELECT
        p.unit_id,
        p.project_id,
        CAST(date_trunc('week', e.at) AS DATE) AS week_start,
        MAX(e.at) AS last_at
    FROM events AS e
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = e.task_id
    JOIN staging.stg_ontrack__projects AS p ON p.project_id = t.project_id AND p.enrolled
    WHERE e.at IS NOT NULL
      AND (e.author_user_id IS NULL OR e.author_user_id = p.student_user_id)
    GROUP BY p.unit_id, p.project_id, CAST(date_trunc('week', e.at) AS DATE)
),
unit_weeks AS (
    SELECT DISTINCT unit_id, week_start FROM weekly
),
grid AS (
    SELECT uw.unit_id, uw.week_start, p.project_id, w.last_at
    FROM unit_weeks AS uw
    JOIN staging.stg_ontrack__projects AS p ON p.unit_id = uw.unit_id AND p.enrolled
    LEFT JOIN weekly AS w
      ON w.project_id = p.project_id AND w.week_start = uw.week_start
),
running AS (
    SELECT
        unit_id,
        week_start,
        last_at,
        MAX(last_at) OVER (
            PARTITION BY project_id ORDER BY week_start NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS last_active_at
    FROM grid
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    r.week_start,
    COUNT(CASE WHEN r.last_at IS NOT NULL THEN 1 END) AS active_students,
    COUNT(CASE WHEN r.last_active_at IS NULL
              OR r.last_active_at < CAST(r.week_start AS TIMESTAMP) + INTERVAL 7 DAY
                                    - INTERVAL 14 DAY
             THEN 1 END) AS inactive_students
FROM running AS r
JOIN staging.stg_ontrack__units AS u ON u.unit_id = r.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
GROUP BY u.unit_id, u.unit_code, tp.teaching_period, r.week_start
