-- Students needing attention: per enrolled project, the signals as of $as_of (UTC), from
-- OnTrack's own data as the intermediate models hold it. Thresholds are applied in Python
-- (warehouse/products/attention.py), from configuration.
WITH projects AS (
    SELECT p.project_id, p.unit_id, u.start_date AS unit_start
    FROM intermediate.int_enrolled_projects AS p
    JOIN staging.stg_ontrack__units AS u ON u.unit_id = p.unit_id
),
activity AS (
    -- The student's own activity (int_student_activity, as kpi_student_activity counts it).
    SELECT project_id, max(activity_at) AS last_activity_at
    FROM intermediate.int_student_activity
    WHERE activity_at <= $as_of
    GROUP BY project_id
),
tasks AS (
    SELECT
        e.project_id,
        -- Not submitted, and past the end (23:59:59 AoE) of the due day: the target date, moved
        -- by granted extensions (int_task_deadlines, OnTrack's Task#due_date); a task never
        -- touched has no extensions.
        count(CASE WHEN e.submission_date IS NULL
                    AND CAST(COALESCE(e.due_day, CAST(td.target_date AS DATE)) AS TIMESTAMP)
                        + INTERVAL 35 HOUR + INTERVAL 59 MINUTE + INTERVAL 59 SECOND < $as_of
                   THEN 1 END) AS overdue_tasks,
        -- OnTrack's TaskStatus 5 fix_and_resubmit and 7 redo: the student is to submit again.
        count(CASE WHEN e.task_status_id IN (5, 7) THEN 1 END) AS tasks_to_resubmit
    FROM intermediate.int_expected_tasks AS e
    JOIN intermediate.int_task_definitions AS td ON td.task_definition_id = e.task_definition_id
    GROUP BY e.project_id
),
extensions AS (
    -- ExtensionComment#assessed? is date_extension_assessed being set.
    SELECT
        e.project_id,
        count(*) AS unanswered_extension_requests,
        min(c.created_at) AS oldest_request_at
    FROM staging.stg_ontrack__task_comments AS c
    JOIN intermediate.int_expected_tasks AS e ON e.task_id = c.task_id
    WHERE c.comment_type = 'ExtensionComment' AND c.date_extension_assessed IS NULL
      AND c.created_at <= $as_of
    GROUP BY e.project_id
)
SELECT
    p.unit_id,
    p.project_id,
    CAST(a.last_activity_at AS DATE) AS last_activity_on,
    -- Never active: counted from the unit's start.
    greatest(0, date_diff('day', CAST(COALESCE(a.last_activity_at, p.unit_start) AS DATE),
                          CAST($as_of AS DATE))) AS days_since_last_activity,
    COALESCE(t.overdue_tasks, 0) AS overdue_tasks,
    COALESCE(t.tasks_to_resubmit, 0) AS tasks_to_resubmit,
    COALESCE(x.unanswered_extension_requests, 0) AS unanswered_extension_requests,
    date_diff('day', CAST(x.oldest_request_at AS DATE), CAST($as_of AS DATE))
        AS oldest_request_waiting_days
FROM projects AS p
LEFT JOIN activity AS a ON a.project_id = p.project_id
LEFT JOIN tasks AS t ON t.project_id = p.project_id
LEFT JOIN extensions AS x ON x.project_id = p.project_id
WHERE p.unit_id IN (SELECT unnest($units))
ORDER BY p.unit_id, p.project_id
