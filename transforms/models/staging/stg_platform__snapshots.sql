-- The data's snapshot time per source: the end of its newest load (platform.load_state). A model
-- that measures "now" (an age, a backlog) measures at this, never at the wall clock, so the same
-- raw data gives the same marts at any hour and on either engine (DuckDB here, Spark on the lake,
-- where platform.load_state is written beside the raw tables).
SELECT
    source,
    MAX(loaded_at) AS snapshot_at
FROM platform.load_state
GROUP BY source
