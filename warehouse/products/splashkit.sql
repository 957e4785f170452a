-- SplashKit's most used functions per language over a window of weeks ($first_week to
-- $last_week, Mondays): calls and distinct installs, from the usage feed's staging view (the
-- same events kpi_splashkit_usage counts as dimension 'function').
SELECT
    COALESCE(language, '(unknown)') AS language,
    function_name,
    count(*) AS calls,
    count(DISTINCT install_id) AS installs
FROM staging.stg_landing__splashkit_usage
WHERE event = 'function_called' AND function_name IS NOT NULL
  AND week_start BETWEEN $first_week AND $last_week
GROUP BY ALL
ORDER BY language, calls DESC, function_name
