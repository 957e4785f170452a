-- Each task definition with the unit and teaching period every per-task KPI is labelled with.
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    td.task_definition_id,
    td.task_abbreviation,
    td.target_grade,
    td.start_date,
    td.target_date,
    td.due_date,
    td.tutorial_stream_id
FROM staging.stg_ontrack__task_definitions AS td
JOIN staging.stg_ontrack__units AS u ON u.unit_id = td.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
