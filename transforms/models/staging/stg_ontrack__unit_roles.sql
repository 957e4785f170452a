-- Staff in a unit: role 2 Tutor, 3 Convenor. 10.x's observer_only staff watch a unit without
-- teaching in it: they are Observers, not Tutors (false before 10.x).
WITH source AS (
    SELECT * FROM ontrack_raw.unit_roles
)
SELECT
    id AS unit_role_id,
    unit_id,
    user_id AS staff_user_id,
    role_id,
    COALESCE(observer_only, FALSE) AS observer_only,
    CASE
        WHEN COALESCE(observer_only, FALSE) THEN 'Observer'
        WHEN role_id = 2 THEN 'Tutor'
        WHEN role_id = 3 THEN 'Convenor'
        ELSE 'Other'
    END AS role_name
FROM source
