-- OnTrack's rule (Task#due_date, #submitted_before_due?): the due date is target_date, moved by
-- `extensions` weeks but never past the hard due_date; on time means submitted by 23:59:59
-- Anywhere-on-Earth (UTC−12) that day, i.e. before 12:00 UTC the next day.
WITH submitted AS (
    SELECT
        td.task_definition_id,
        t.submission_date,
        CAST(
            CASE
                WHEN t.extensions = 0 THEN td.target_date
                ELSE LEAST(td.target_date + INTERVAL (7 * t.extensions) DAY,
                           COALESCE(td.due_date, td.target_date + INTERVAL (7 * t.extensions) DAY))
            END AS DATE
        ) AS due_day
    FROM staging.stg_ontrack__tasks AS t
    JOIN intermediate.int_task_definitions AS td ON td.task_definition_id = t.task_definition_id
    WHERE t.submission_date IS NOT NULL
),
judged AS (
    SELECT
        task_definition_id,
        submission_date < CAST(due_day AS TIMESTAMP) + INTERVAL 36 HOUR AS on_time
    FROM submitted
),
counts AS (
    SELECT
        task_definition_id,
        COUNT(CASE WHEN on_time THEN 1 END) AS on_time,
        COUNT(CASE WHEN NOT (on_time) THEN 1 END) AS late
    FROM judged
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.on_time, 0) AS on_time,
    COALESCE(c.late, 0) AS late,
    CAST(c.on_time AS DOUBLE) / NULLIF(c.on_time + c.late, 0) AS on_time_rate
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
