-- The teaching periods, a conformed dimension: dim_teaching_periods.yml beside it.
SELECT
    teaching_period,
    year,
    period,
    start_date,
    end_date
FROM staging.stg_ontrack__teaching_periods
