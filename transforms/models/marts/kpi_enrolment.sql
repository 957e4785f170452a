-- What this table means (grain, definition, owner, flywheel): kpi_enrolment.yml beside it.
-- Staff by role_name: 10.x's observer_only staff are neither tutors nor convenors.
WITH students AS (
    SELECT
        unit_id,
        COUNT(CASE WHEN enrolled THEN 1 END) AS enrolled,
        COUNT(CASE WHEN NOT (enrolled) THEN 1 END) AS withdrawn
    FROM staging.stg_ontrack__projects
    GROUP BY unit_id
),
staff AS (
    SELECT
        unit_id,
        COUNT(DISTINCT CASE WHEN role_name = 'Tutor' THEN staff_user_id END) AS tutors,
        COUNT(DISTINCT CASE WHEN role_name = 'Convenor' THEN staff_user_id END) AS convenors
    FROM staging.stg_ontrack__unit_roles
    GROUP BY unit_id
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    COALESCE(s.enrolled, 0) AS enrolled,
    COALESCE(s.withdrawn, 0) AS withdrawn,
    COALESCE(st.tutors, 0) AS tutors,
    COALESCE(st.convenors, 0) AS convenors,
    CAST(s.enrolled AS DOUBLE) / NULLIF(st.tutors, 0) AS students_per_tutor
FROM staging.stg_ontrack__units AS u
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
LEFT JOIN students AS s ON s.unit_id = u.unit_id
LEFT JOIN staff AS st ON st.unit_id = u.unit_id
