-- Hours from a submission to its assessment, by the ISO week (Monday) of the submission.
WITH assessed AS (
    SELECT
        p.unit_id,
        CAST(date_trunc('week', s.submission_time) AS DATE) AS week_start,
        date_diff('second', s.submission_time, s.assessment_time) / 3600.0 AS hours
    FROM staging.stg_ontrack__task_submissions AS s
    JOIN staging.stg_ontrack__tasks AS t ON t.task_id = s.task_id
    JOIN staging.stg_ontrack__projects AS p ON p.project_id = t.project_id
    WHERE s.submission_time IS NOT NULL
      AND s.assessment_time >= s.submission_time
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    a.week_start,
    COUNT(*) AS assessments,
    quantile_cont(a.hours, 0.5) AS median_hours,
    quantile_cont(a.hours, 0.9) AS p90_hours
FROM assessed AS a
JOIN staging.stg_ontrack__units AS u ON u.unit_id = a.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
GROUP BY u.unit_id, u.unit_code, tp.teaching_period, a.week_start
