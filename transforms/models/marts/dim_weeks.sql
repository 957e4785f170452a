-- The ISO weeks any KPI has rows in, a conformed dimension: dim_weeks.yml beside it. From the KPI
-- marts themselves, so that every weekly and daily KPI row finds its week.
WITH weeks AS (
    SELECT week_start FROM marts.kpi_student_activity
    UNION
    SELECT week_start FROM marts.kpi_feedback_turnaround
    UNION
    SELECT week_start FROM marts.kpi_comment_activity
    UNION
    SELECT week_start FROM marts.kpi_splashkit_usage
    UNION
    SELECT CAST(date_trunc('week', day) AS DATE) FROM marts.kpi_web_traffic
    UNION
    SELECT CAST(date_trunc('week', day) AS DATE) FROM marts.kpi_page_engagement
    UNION
    SELECT CAST(date_trunc('week', day) AS DATE) FROM marts.kpi_api_health
    UNION
    SELECT CAST(date_trunc('week', day) AS DATE) FROM marts.kpi_app_metrics
    UNION
    SELECT CAST(date_trunc('week', day) AS DATE) FROM marts.kpi_background_waits
),
periods AS (
    -- A week belongs to the teaching period its Monday falls in (the earliest, if two overlap).
    SELECT
        w.week_start,
        MIN(tp.teaching_period) AS teaching_period,
        MIN(tp.start_date) AS period_start
    FROM weeks AS w
    LEFT JOIN staging.stg_ontrack__teaching_periods AS tp
        ON w.week_start BETWEEN tp.start_date AND tp.end_date
    GROUP BY w.week_start
)
SELECT
    week_start,
    week_start + 6 AS week_end,
    teaching_period,
    CAST(FLOOR(date_diff('day', period_start, week_start) / 7.0) AS BIGINT) + 1 AS teaching_week
FROM periods
