-- What this table means (grain, definition, owner, flywheel): kpi_grade_distribution.yml beside it.
WITH grades AS (
    SELECT 0 AS grade, 'Pass' AS grade_name
    UNION ALL SELECT 1, 'Credit'
    UNION ALL SELECT 2, 'Distinction'
    UNION ALL SELECT 3, 'High Distinction'
),
enrolled AS (
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
FROM staging.stg_ontrack__units AS u
CROSS JOIN grades AS g
LEFT JOIN staging.stg_ontrack__teaching_periods AS tp ON tp.teaching_period_id = u.teaching_period_id
