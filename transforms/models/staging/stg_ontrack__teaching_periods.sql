-- One row per teaching period, labelled as people say it: "2024 T1".
WITH source AS (
    SELECT * FROM ontrack_raw.teaching_periods
),
renamed AS (
    SELECT
        id AS teaching_period_id,
        CAST(year AS VARCHAR) || ' ' || period AS teaching_period,
        period,
        year,
        CAST(start_date AS DATE) AS start_date,
        CAST(end_date AS DATE) AS end_date
    FROM source
)
SELECT * FROM renamed
