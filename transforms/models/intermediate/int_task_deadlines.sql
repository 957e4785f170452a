-- OnTrack's deadline, as its own code computes it, once for every KPI that judges one
-- (doubtfire-api 8.0.x: Task#due_date, #raw_extension_date, #extension_date,
-- #submitted_before_due?, #to_same_day_anywhere_on_earth; TaskDefinition#due_date):
--   * the due day is the task definition's target_date while the task has no extensions;
--   * with extensions, target_date + 7 × extensions days, capped at the task definition's
--     due_date, which is the unit's end_date when the task definition has none;
--   * on time iff submission_date <= 23:59:59.000000 Anywhere-on-Earth (UTC−12) on the due day,
--     i.e. 11:59:59.000000 UTC the next day; a microsecond later is late, as in OnTrack.
-- Rails keeps UTC (no config.time_zone), so the day of a datetime is its UTC day.
WITH dates AS (
    SELECT
        t.task_id,
        t.project_id,
        t.task_definition_id,
        t.extensions,
        t.submission_date,
        td.target_date,
        COALESCE(td.due_date, CAST(u.end_date AS TIMESTAMP)) AS hard_due_date,
        td.target_date + INTERVAL (7 * t.extensions) DAY AS raw_extension_date
    FROM staging.stg_ontrack__tasks AS t
    JOIN staging.stg_ontrack__task_definitions AS td
      ON td.task_definition_id = t.task_definition_id
    JOIN staging.stg_ontrack__units AS u ON u.unit_id = td.unit_id
),
due AS (
    SELECT
        *,
        t.extensions > 0 AND t.raw_extension_date > t.hard_due_date AS extension_capped,
        CAST(
            CASE
                WHEN t.extensions = 0 THEN t.target_date
                WHEN t.raw_extension_date > t.hard_due_date THEN t.hard_due_date
                ELSE t.raw_extension_date
            END AS DATE
        ) AS due_day
    FROM dates AS t
),
deadlines AS (
    SELECT
        *,
        -- 23:59:59.000000 at UTC−12 on the due day.
        CAST(due_day AS TIMESTAMP) + INTERVAL 35 HOUR + INTERVAL 59 MINUTE + INTERVAL 59 SECOND
            AS deadline
    FROM due
)
SELECT
    task_id,
    project_id,
    task_definition_id,
    extensions,
    COALESCE(extension_capped, FALSE) AS extension_capped,
    due_day,
    deadline,
    submission_date,
    -- OnTrack: `return true unless due_date.present?`.
    CASE
        WHEN submission_date IS NULL THEN NULL
        WHEN deadline IS NULL THEN TRUE
        ELSE submission_date <= deadline
    END AS submitted_on_time
FROM deadlines
