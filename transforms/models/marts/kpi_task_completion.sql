-- What this table means (grain, definition, owner, flywheel): kpi_task_completion.yml beside it.
-- The median is read off how many tasks took each number of days (exactly MEDIAN's value: the
-- mean of the two middle days), not taken by MEDIAN, whose lists of values DuckDB cannot spill:
-- over ~4.5 M expected tasks at scale 1 it ran out below 768MB (issue #25).
WITH per_day AS (
    SELECT
        task_definition_id,
        CASE WHEN task_status_id = 2 AND completion_date IS NOT NULL
             THEN date_diff('day', CAST(start_date AS DATE), completion_date) END AS days,
        COUNT(*) AS expected,
        COUNT(CASE WHEN task_status_id = 2 THEN 1 END) AS completed
    FROM intermediate.int_expected_tasks
    GROUP BY ALL
),
placed AS (
    -- Each day's rows hold positions [below, below + expected) among the definition's days.
    -- (days is never NULL here; NULLS FIRST is BigQuery's and Spark's default order, so the
    -- window translates to them as written.)
    SELECT
        task_definition_id,
        days,
        expected,
        SUM(expected) OVER (PARTITION BY task_definition_id ORDER BY days NULLS FIRST
                            ROWS UNBOUNDED PRECEDING) - expected AS below,
        SUM(expected) OVER (PARTITION BY task_definition_id) AS n
    FROM per_day
    WHERE days IS NOT NULL
),
medians AS (
    SELECT
        task_definition_id,
        (MIN(CASE WHEN below <= (n - 1) // 2 AND (n - 1) // 2 < below + expected THEN days END)
         + MIN(CASE WHEN below <= n // 2 AND n // 2 < below + expected THEN days END)) / 2.0
            AS median_days_to_complete
    FROM placed
    GROUP BY task_definition_id
),
counts AS (
    SELECT task_definition_id, SUM(expected) AS expected, SUM(completed) AS completed
    FROM per_day
    GROUP BY task_definition_id
)
SELECT
    td.unit_id,
    td.unit_code,
    td.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    COALESCE(c.expected, 0) AS expected,
    COALESCE(c.completed, 0) AS completed,
    CAST(c.completed AS DOUBLE) / NULLIF(c.expected, 0) AS completion_rate,
    CAST(m.median_days_to_complete AS DOUBLE) AS median_days_to_complete
FROM intermediate.int_task_definitions AS td
LEFT JOIN counts AS c ON c.task_definition_id = td.task_definition_id
LEFT JOIN medians AS m ON m.task_definition_id = td.task_definition_id
