-- A project is one student's enrolment in one unit; withdrawal is enrolled = false.
-- spec_con_days (10.x): special consideration, days added to the task definitions' hard
-- deadlines (Task#max_date_with_spec_con_days); 0 before 10.x, as OnTrack's NOT NULL default.
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
        COALESCE(spec_con_days, 0) AS spec_con_days,
        created_at,
        updated_at
    FROM source
)
SELECT * FROM renamed
