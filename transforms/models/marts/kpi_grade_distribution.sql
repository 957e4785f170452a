-- What this table means (grain, definition, owner, flywheel): kpi_grade_distribution.yml beside it.
-- The grades are the unit's own (10.x units.grade_values), else OnTrack's four: int_unit_grades.
WITH enrolled AS (
    SELECT unit_id, grade, target_grade
    FROM intermediate.int_enrolled_projects
)
SELECT
    u.unit_id,
    u.unit_code,
    tp.teaching_period,
    g.grade,
    g.grade_name,
    (SELECT COUNT(*) FROM enrolled AS e WHERE e.unit_id = u.unit_id AND e.grade = g.grade)
        AS final_grade_students,
    (SELECT COUNT(*) FROM enrolled AS e WHERE e.unit_id = u.unit_id AND e.target_grade = g.grade)
        AS target_grade_students
FROM intermediate.int_unit_grades AS g
JOIN staging.stg_ontrack__units AS u ON u.unit_id = g.unit_id
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
