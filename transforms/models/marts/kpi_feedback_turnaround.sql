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
),
grouped AS (
    SELECT
        u.unit_id,
        u.unit_code,
        tp.teaching_period,
        a.week_start,
        COUNT(*) AS assessments,
        -- Both quantiles from one aggregate: DuckDB keeps every value of a group once, not
        -- twice (the largest state of the build at scale 1, and not one it can spill).
        quantile_cont(CASE WHEN a.hours >= 0 THEN a.hours END, [0.5, 0.9]) AS quantiles
    FROM assessed AS a
    JOIN staging.stg_ontrack__units AS u ON u.unit_id = a.unit_id
    LEFT JOIN staging.stg_ontrack__teaching_periods AS tp
      ON tp.teaching_period_id = u.teaching_period_id
    GROUP BY u.unit_id, u.unit_code, tp.teaching_period, a.week_start
)
SELECT
    g.unit_id,
    g.unit_code,
    g.teaching_period,
    g.week_start,
    g.assessments,
    g.quantiles[1] AS median_hours,
    g.quantiles[2] AS p90_hours
FROM grouped AS g
