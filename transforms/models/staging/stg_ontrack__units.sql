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
        -- TaskDefinition#due_date falls back to this instant; its (UTC) day caps extensions.
        end_date AS end_at,
        allow_student_extension_requests,
        -- 10.x: students set their own due dates; lateness is judged at the hard deadline.
        COALESCE(allow_flexible_dates, FALSE) AS allow_flexible_dates,
        -- 10.x: a late submission becomes 13 Assess in Portfolio instead of 12 Time Exceeded.
        COALESCE(mark_late_submissions_as_assess_in_portfolio, FALSE)
            AS mark_late_submissions_as_assess_in_portfolio,
        -- 10.x: the unit's own grades, JSON text as Rails stores it (int_unit_grades reads it).
        CAST(grade_values AS VARCHAR) AS grade_values
    FROM source
)
SELECT * FROM renamed
