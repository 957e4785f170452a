WITH source AS (
    SELECT * FROM ontrack_raw.units
),
renamed AS (
    SELECT
        id AS unit_id,
        code AS unit_code,
        name AS unit_name,
        teaching_period_id,
        main_convenor_id AS main_convenor_unit_role_id,
        active,
        CAST(start_date AS DATE) AS start_date,
        CAST(end_date AS DATE) AS end_date,
        allow_student_extension_requests
    FROM source
)
SELECT * FROM renamed
