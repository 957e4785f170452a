-- What this table means (grain, definition, owner, flywheel): kpi_feedback_turnaround.yml beside it.
-- Clock skew can stamp an assessment before its submission: it is assessed, but has no
-- duration to put in a percentile.
WITH assessed AS (
    SELECT
        unit_id,
        CAST(date_trunc('week', submission_time) AS DATE) AS week_start,
        date_diff('second', submission_time, assessment_time) / 3600.0 AS hours
    FROM intermediate.int_task_submissions
    WHERE assessed
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    a.week_start,
    COUNT(*) AS assessments,
    quantile_cont(CASE WHEN a.hours >= 0 THEN a.hours END, 0.5) AS median_hours,
    quantile_cont(CASE WHEN a.hours >= 0 THEN a.hours END, 0.9) AS p90_hours
FROM assessed AS a
JOIN staging.stg_ontrack__units AS u ON u.unit_id = a.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
GROUP BY u.unit_id, u.unit_code, tp.teaching_period, a.week_start
