-- The student population every per-student KPI counts: projects still enrolled (OnTrack shows
-- withdrawn students nowhere in a unit's progress, backlog or grades).
SELECT
    project_id,
    unit_id,
    student_user_id,
    target_grade,
    grade
FROM staging.stg_ontrack__projects
WHERE enrolled
