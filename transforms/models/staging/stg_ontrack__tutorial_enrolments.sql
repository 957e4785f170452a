SELECT
    id AS tutorial_enrolment_id,
    project_id,
    tutorial_id
FROM ontrack_raw.tutorial_enrolments
