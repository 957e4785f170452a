-- The ISO weeks from the Monday of the first teaching period to the end of the last, a conformed
-- dimension: dim_weeks.yml beside it. From the teaching periods alone, so that it never waits
-- for an optional source (GA4, the landing streams).
WITH digits AS (
    SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9
),
numbers AS (  -- 0 … 9,999 weeks: about 190 years
    SELECT a.n + 10 * b.n + 100 * c.n + 1000 * d.n AS n
    FROM digits AS a CROSS JOIN digits AS b CROSS JOIN digits AS c CROSS JOIN digits AS d
),
span AS (
    SELECT
        CAST(date_trunc('week', MIN(start_date)) AS DATE) AS first_monday,
        MAX(end_date) AS last_day
    FROM staging.stg_ontrack__teaching_periods
),
weeks AS (
    SELECT s.first_monday + 7 * n.n AS week_start
    FROM span AS s
    CROSS JOIN numbers AS n
    WHERE s.first_monday + 7 * n.n <= s.last_day
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
