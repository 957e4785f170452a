-- What this table means (grain, definition, owner, flywheel): kpi_feedback_backlog.yml beside it.
WITH waiting AS (
    SELECT task_id, project_id, submission_date, unit_id, tutorial_stream_id
    FROM intermediate.int_expected_tasks
    WHERE task_status_id = 9
),
tutor_of_task AS (
    SELECT
        w.task_id,
        MIN(tu.tutorial_id) AS tutorial_id
    FROM waiting AS w
    JOIN staging.stg_ontrack__tutorial_enrolments AS te ON te.project_id = w.project_id
    JOIN staging.stg_ontrack__tutorials AS tu ON tu.tutorial_id = te.tutorial_id
    WHERE w.tutorial_stream_id IS NULL OR tu.tutorial_stream_id = w.tutorial_stream_id
    GROUP BY w.task_id
),
keyed AS (
    SELECT w.unit_id, w.submission_date, k.user_key AS tutor_key
    FROM waiting AS w
    LEFT JOIN tutor_of_task AS tt ON tt.task_id = w.task_id
    LEFT JOIN staging.stg_ontrack__tutorials AS tu ON tu.tutorial_id = tt.tutorial_id
    LEFT JOIN staging.stg_ontrack__unit_roles AS ur ON ur.unit_role_id = tu.tutor_unit_role_id
    LEFT JOIN staging.stg_ontrack__user_keys AS k ON k.user_id = ur.staff_user_id
),
-- "Now" is the OnTrack data's snapshot time (its newest load), never the wall clock: a rebuild
-- with nothing new loaded gives the same ages. No load recorded: NULL ages and as_of, which its
-- not_null test reports.
snapshot AS (
    SELECT snapshot_at FROM staging.stg_platform__snapshots WHERE source = 'ontrack'
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    k.tutor_key,
    COUNT(*) AS awaiting_feedback,
    MAX(date_diff('second', k.submission_date, s.snapshot_at)) / 86400.0 AS oldest_waiting_days,
    MAX(s.snapshot_at) AS as_of  -- one snapshot: the same on every row
FROM keyed AS k
JOIN staging.stg_ontrack__units AS u ON u.unit_id = k.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
LEFT JOIN snapshot AS s ON TRUE
GROUP BY u.unit_id, u.unit_code, tp.teaching_period, k.tutor_key
