-- The OnTrack unit-insights product's numbers: per unit and ISO week (Monday), each headline
-- KPI with the number of students behind it, so the product can withhold a value computed from
-- fewer than 5 students. Each metric counts the population its KPI mart counts:
--   submission / on time  expected tasks (int_expected_tasks) whose target date falls in the
--                         week, as kpi_task_submission / kpi_on_time count them per task
--   turnaround            assessed submissions made in the week (kpi_feedback_turnaround)
--   inactive              kpi_student_activity's inactive students over the unit's enrolled
--   extensions            extension requests made in the week (int_extension_requests), as
--                         kpi_extensions counts them per task
--   comments read         staff comments written in the week to enrolled students
--                         (kpi_feedback_read)
-- teaching_week: 1 for the week of the unit's start date (breaks are not skipped).
WITH due AS (
    SELECT
        e.unit_id,
        CAST(date_trunc('week', td.target_date) AS DATE) AS week_start,
        e.project_id,
        e.submission_date,
        e.submitted_on_time
    FROM intermediate.int_expected_tasks AS e
    JOIN intermediate.int_task_definitions AS td ON td.task_definition_id = e.task_definition_id
    WHERE td.target_date IS NOT NULL
),
due_students AS (
    -- Each student's tasks of the week first: their distinct counts are then counts of these
    -- rows (one hash aggregate of the ~4.5 M expected tasks, not three).
    SELECT
        unit_id,
        week_start,
        project_id,
        COUNT(*) AS expected_tasks,
        COUNT(submission_date) AS submitted_tasks,
        COUNT(CASE WHEN submitted_on_time THEN 1 END) AS on_time_tasks,
        COUNT(CASE WHEN NOT (submitted_on_time) THEN 1 END) AS late_tasks
    FROM due
    GROUP BY unit_id, week_start, project_id
),
submission AS (
    SELECT
        unit_id,
        week_start,
        CAST(SUM(expected_tasks) AS BIGINT) AS expected_tasks,
        CAST(SUM(submitted_tasks) AS BIGINT) AS submitted_tasks,
        COUNT(project_id) AS submission_students,
        CAST(SUM(on_time_tasks) AS BIGINT) AS on_time_tasks,
        CAST(SUM(late_tasks) AS BIGINT) AS late_tasks,
        COUNT(CASE WHEN submitted_tasks > 0 THEN project_id END) AS on_time_students
    FROM due_students
    GROUP BY unit_id, week_start
),
assessed AS (
    SELECT
        unit_id,
        CAST(date_trunc('week', submission_time) AS DATE) AS week_start,
        project_id,
        date_diff('second', submission_time, assessment_time) / 3600.0 AS hours
    FROM intermediate.int_task_submissions
    WHERE assessed
),
turnaround AS (
    SELECT
        unit_id,
        week_start,
        assessments,
        turnaround_students,
        quantiles[1] AS turnaround_median_hours,
        quantiles[2] AS turnaround_p90_hours
    FROM (
        SELECT
            unit_id,
            week_start,
            COUNT(*) AS assessments,
            COUNT(DISTINCT project_id) AS turnaround_students,
            -- One aggregate for both (as kpi_feedback_turnaround): each value held once.
            quantile_cont(CASE WHEN hours >= 0 THEN hours END, [0.5, 0.9]) AS quantiles
        FROM assessed
        GROUP BY unit_id, week_start
    ) AS grouped
),
enrolled AS (
    SELECT unit_id, COUNT(*) AS enrolled_students
    FROM intermediate.int_enrolled_projects
    GROUP BY unit_id
),
inactive AS (
    SELECT
        a.unit_id,
        a.week_start,
        a.inactive_students,
        e.enrolled_students
    FROM marts.kpi_student_activity AS a
    JOIN enrolled AS e ON e.unit_id = a.unit_id
),
requests AS (
    SELECT
        unit_id,
        CAST(date_trunc('week', created_at) AS DATE) AS week_start,
        project_id,
        date_extension_assessed,
        response_hours
    FROM intermediate.int_extension_requests
),
extensions AS (
    SELECT
        unit_id,
        week_start,
        COUNT(*) AS extension_requests,
        COUNT(date_extension_assessed) AS extension_answered,
        COUNT(DISTINCT project_id) AS extension_students,
        MEDIAN(response_hours) AS extension_median_response_hours
    FROM requests
    GROUP BY unit_id, week_start
),
staff_comments AS (
    -- The comments kpi_feedback_read counts, read by the loaded generation's rule
    -- (intermediate.int_comment_reads), by the week they were written.
    SELECT
        p.unit_id,
        CAST(date_trunc('week', r.created_at) AS DATE) AS week_start,
        p.project_id,
        r.read_at,
        date_diff('second', r.created_at, r.read_at) / 3600.0 AS hours_to_read
    FROM intermediate.int_comment_reads AS r
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = r.task_id
    JOIN intermediate.int_enrolled_projects AS p ON p.project_id = t.project_id
    WHERE r.author_user_id <> p.student_user_id AND r.requires_attention
      AND r.created_at IS NOT NULL
),
comments_read AS (
    SELECT
        unit_id,
        week_start,
        COUNT(*) AS staff_comments,
        COUNT(read_at) AS read_comments,
        COUNT(DISTINCT project_id) AS read_students,
        MEDIAN(CASE WHEN hours_to_read >= 0 THEN hours_to_read END) AS median_hours_to_read
    FROM staff_comments
    GROUP BY unit_id, week_start
),
weeks AS (
    SELECT unit_id, week_start FROM submission
    UNION
    SELECT unit_id, week_start FROM turnaround
    UNION
    SELECT unit_id, week_start FROM inactive
    UNION
    SELECT unit_id, week_start FROM extensions
    UNION
    SELECT unit_id, week_start FROM comments_read
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    w.week_start,
    CAST(date_diff('day', CAST(date_trunc('week', u.start_date) AS DATE), w.week_start) / 7 + 1
        AS BIGINT) AS teaching_week,
    COALESCE(s.expected_tasks, 0) AS expected_tasks,
    COALESCE(s.submitted_tasks, 0) AS submitted_tasks,
    CAST(s.submitted_tasks AS DOUBLE) / NULLIF(s.expected_tasks, 0) AS submission_rate,
    COALESCE(s.submission_students, 0) AS submission_students,
    COALESCE(s.on_time_tasks, 0) AS on_time_tasks,
    COALESCE(s.late_tasks, 0) AS late_tasks,
    CAST(s.on_time_tasks AS DOUBLE) / NULLIF(s.on_time_tasks + s.late_tasks, 0) AS on_time_rate,
    COALESCE(s.on_time_students, 0) AS on_time_students,
    COALESCE(ta.assessments, 0) AS assessments,
    ta.turnaround_median_hours,
    ta.turnaround_p90_hours,
    COALESCE(ta.turnaround_students, 0) AS turnaround_students,
    i.inactive_students,
    CAST(i.inactive_students AS DOUBLE) / NULLIF(i.enrolled_students, 0) AS inactive_share,
    COALESCE(i.enrolled_students, e.enrolled_students, 0) AS enrolled_students,
    COALESCE(x.extension_requests, 0) AS extension_requests,
    COALESCE(x.extension_answered, 0) AS extension_answered,
    x.extension_median_response_hours,
    COALESCE(x.extension_students, 0) AS extension_students,
    COALESCE(c.staff_comments, 0) AS staff_comments,
    COALESCE(c.read_comments, 0) AS read_comments,
    CAST(c.read_comments AS DOUBLE) / NULLIF(c.staff_comments, 0) AS read_rate,
    c.median_hours_to_read,
    COALESCE(c.read_students, 0) AS read_students
FROM weeks AS w
JOIN staging.stg_ontrack__units AS u ON u.unit_id = w.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
LEFT JOIN submission AS s ON s.unit_id = w.unit_id AND s.week_start = w.week_start
LEFT JOIN turnaround AS ta ON ta.unit_id = w.unit_id AND ta.week_start = w.week_start
LEFT JOIN inactive AS i ON i.unit_id = w.unit_id AND i.week_start = w.week_start
LEFT JOIN enrolled AS e ON e.unit_id = w.unit_id
LEFT JOIN extensions AS x ON x.unit_id = w.unit_id AND x.week_start = w.week_start
LEFT JOIN comments_read AS c ON c.unit_id = w.unit_id AND c.week_start = w.week_start
