-- What this table means (grain, definition, owner, flywheel): kpi_student_activity.yml beside it.
WITH weekly AS (
    -- Each enrolled student's active weeks (intermediate.int_student_activity: their own
    -- status changes, submissions and comments).
    SELECT DISTINCT
        unit_id,
        project_id,
        CAST(date_trunc('week', activity_at) AS DATE) AS week_start
    FROM intermediate.int_student_activity
),
active AS (
    -- With the students also active the week before: those the two weeks share.
    SELECT
        unit_id,
        week_start,
        COUNT(*) AS active_students,
        COUNT(CASE WHEN date_diff('day', previous_week, week_start) = 7 THEN 1 END)
            AS active_both_weeks
    FROM (
        SELECT
            unit_id,
            week_start,
            LAG(week_start) OVER (PARTITION BY unit_id, project_id ORDER BY week_start)
                AS previous_week
        FROM weekly
    ) AS ordered
    GROUP BY unit_id, week_start
),
recent AS (
    -- The 14 days up to a week's end are that week and the one before it: the students of
    -- either, counted once (a count of the weeks' rows, not a distinct count of 3 M).
    SELECT
        a.unit_id,
        a.week_start,
        a.active_students + COALESCE(b.active_students, 0) - a.active_both_weeks
            AS recent_students
    FROM active AS a
    LEFT JOIN active AS b
      ON b.unit_id = a.unit_id AND b.week_start = CAST(a.week_start - INTERVAL 7 DAY AS DATE)
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
