-- A project is one student's enrolment in one unit; withdrawal is enrolled = false.
WITH source AS (
    SELECT * FROM ontrack_raw.projects
),
renamed AS (
    SELECT
        id AS project_id,
        unit_id,
        user_id AS student_user_id,
        campus_id,
        COALESCE(enrolled, TRUE) AS enrolled,
        COALESCE(target_grade, 0) AS target_grade,
        grade,
        submitted_grade,
        compile_portfolio,
        portfolio_production_date,
        created_at,
        updated_at
    FROM source
)
SELECT * FROM renamed
