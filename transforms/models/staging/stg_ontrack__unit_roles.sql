-- Staff in a unit: role 2 Tutor, 3 Convenor.
SELECT
    id AS unit_role_id,
    unit_id,
    user_id AS staff_user_id,
    role_id,
    CASE role_id WHEN 2 THEN 'Tutor' WHEN 3 THEN 'Convenor' ELSE 'Other' END AS role_name
FROM ontrack_raw.unit_roles
