-- What this table means (grain, definition, owner, flywheel): kpi_splashkit_usage.yml beside it.
-- (dimension, value) pairs, so one table holds every breakdown.
WITH events AS (
    SELECT week_start, install_id, event, function_name, language, os, splashkit_version
    FROM staging.stg_landing__splashkit_usage
),
pairs AS (
    SELECT week_start, install_id, 'total' AS dimension, 'all' AS value FROM events
    UNION ALL
    SELECT week_start, install_id, 'event', event FROM events
    UNION ALL
    SELECT week_start, install_id, 'function', function_name FROM events
    WHERE event = 'function_called' AND function_name IS NOT NULL
    UNION ALL
    SELECT week_start, install_id, 'language', COALESCE(language, '(unknown)') FROM events
    UNION ALL
    SELECT week_start, install_id, 'os', COALESCE(os, '(unknown)') FROM events
    UNION ALL
    SELECT week_start, install_id, 'version', COALESCE(splashkit_version, '(unknown)')
    FROM events
),
weekly AS (
    SELECT week_start, COUNT(DISTINCT install_id) AS week_installs
    FROM events
    GROUP BY week_start
)
SELECT
    p.week_start,
    p.dimension,
    p.value,
    COUNT(DISTINCT p.install_id) AS active_installs,
    COUNT(*) AS events,
    CAST(COUNT(DISTINCT p.install_id) AS DOUBLE) / MAX(w.week_installs) AS share_of_installs
FROM pairs AS p
JOIN weekly AS w ON w.week_start = p.week_start
GROUP BY p.week_start, p.dimension, p.value
