-- The units, a conformed dimension the Looker KPI views join on unit_id: dim_units.yml beside it.
SELECT
    u.unit_id,
    u.unit_code,
    u.unit_name,
    tp.teaching_period,
    u.start_date,
    u.end_date,
    u.active
FROM staging.stg_ontrack__units AS u
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
