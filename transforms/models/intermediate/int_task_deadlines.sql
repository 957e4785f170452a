-- OnTrack's deadline, as its own code computes it, once for every KPI that judges one. Each rule
-- and the upstream code it follows (file, method, release): int_task_deadlines.yml,
-- `upstream_rules`. One rule serves every generation: 10.x's reduces to 8.0.x's where a unit has
-- no flexible dates and a student no special consideration days, which is what the staging
-- models read for an older generation.
--   * Every day is a UTC day: upstream reads a deadline's day with `to_date` / `.year .month
--     .day` in Time.zone, which is UTC (config/application.rb sets no config.time_zone). The
--     campus's time zone plays no part in a deadline. Timestamps arrive as UTC wall times, so a
--     day is CAST(… AS DATE).
--   * target_day = the day of target_date; last_day = the day of the hard deadline (the task
--     definition's due_date, else the unit's end) + spec_con_days (10.x).
--   * Without flexible dates the deadline day is target_day while the task has no extensions,
--     else target_day + 7 × extensions capped at last_day. With flexible dates lateness is
--     judged at last_day (students pick their own due day, shown as due_day: the task's
--     target_due_date, else the definition's due date for the project's target grade).
--   * On time iff submission_date <= 23:59:59.000000 at UTC−12 on the deadline day, i.e.
--     11:59:59.000000 UTC the next day; a microsecond later is late, as in OnTrack.
WITH days AS (
    SELECT
        t.task_id,
        t.project_id,
        t.task_definition_id,
        t.extensions,
        t.submission_date,
        u.allow_flexible_dates AS flexible,
        CAST(td.target_date AS DATE) AS target_day,
        CAST(COALESCE(td.due_date, u.end_at) AS DATE) + COALESCE(p.spec_con_days, 0)
            AS last_day,
        CAST(COALESCE(t.target_due_date, g.target_due_date) AS DATE) AS chosen_day
    FROM staging.stg_ontrack__tasks AS t
    JOIN staging.stg_ontrack__task_definitions AS td
      ON td.task_definition_id = t.task_definition_id
    JOIN staging.stg_ontrack__units AS u ON u.unit_id = td.unit_id
    LEFT JOIN staging.stg_ontrack__projects AS p ON p.project_id = t.project_id
    LEFT JOIN staging.stg_ontrack__task_definition_grade_due_dates AS g
      ON g.task_definition_id = t.task_definition_id AND g.target_grade = p.target_grade
),
due AS (
    SELECT
        *,
        CASE WHEN extensions = 0 THEN target_day ELSE target_day + 7 * extensions END
            AS extended_day,
        extensions > 0 AND NOT flexible AND target_day + 7 * extensions > last_day
            AS extension_capped
    FROM days
),
judged AS (
    SELECT
        *,
        CASE
            WHEN flexible THEN last_day
            WHEN extension_capped THEN last_day
            ELSE extended_day
        END AS deadline_day,
        CASE
            WHEN flexible THEN COALESCE(chosen_day, extended_day)
            WHEN extension_capped THEN last_day
            ELSE extended_day
        END AS shown_day
    FROM due
)
SELECT
    task_id,
    project_id,
    task_definition_id,
    extensions,
    COALESCE(extension_capped, FALSE) AS extension_capped,
    flexible AS flexible_dates,
    shown_day AS due_day,
    -- 23:59:59.000000 at UTC−12 on the deadline day.
    CAST(deadline_day AS TIMESTAMP) + INTERVAL 35 HOUR + INTERVAL 59 MINUTE + INTERVAL 59 SECOND
        AS deadline,
    submission_date,
    -- OnTrack: `return true unless due_date.present?`.
    CASE
        WHEN submission_date IS NULL THEN NULL
        WHEN deadline_day IS NULL THEN TRUE
        ELSE submission_date
             <= CAST(deadline_day AS TIMESTAMP) + INTERVAL 35 HOUR + INTERVAL 59 MINUTE
                + INTERVAL 59 SECOND
    END AS submitted_on_time
FROM judged
