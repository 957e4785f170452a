-- Each unit's target grades, as OnTrack 10.x reads units.grade_values (Unit#grade_definitions,
-- #normalize_grade_definitions, #grade_values, #grade_label):
--   * the column holds a JSON array of definitions {id, value, label, abbreviation}, or of bare
--     values (a bare 0–3 takes its default definition, any other N is "Grade N" / "GN");
--     a value is Ruby's to_i of what is stored (none: 0), a label is stripped, an
--     abbreviation stripped and upper-cased;
--   * blank (every unit before 10.x, and a 10.x unit that never set its own) means the defaults:
--     Pass 0, Credit 1, Distinction 2, High Distinction 3;
--   * value -1 is the Fail definition every unit has: a result, never a target, so
--     Unit#grade_values (what students choose from, what OnTrack's per-grade statistics loop
--     over) leaves it out, and so does this model.
-- Text that is not a JSON array reads as the defaults; stg_ontrack__units warns about it.
WITH defaults AS (
    SELECT 0 AS grade, 'Pass' AS grade_name, 'P' AS grade_abbreviation
    UNION ALL SELECT 1, 'Credit', 'C'
    UNION ALL SELECT 2, 'Distinction', 'D'
    UNION ALL SELECT 3, 'High Distinction', 'HD'
),
units AS (
    SELECT
        unit_id,
        CASE
            WHEN json_valid(grade_values) AND json_type(grade_values) = 'ARRAY' THEN grade_values
        END AS definitions
    FROM staging.stg_ontrack__units
),
elements AS (
    SELECT unit_id, unnest(CAST(json(definitions) AS JSON[])) AS definition
    FROM units
    WHERE definitions IS NOT NULL
),
parsed AS (
    SELECT
        unit_id,
        json_type(definition) = 'OBJECT' AS is_definition,
        definition,
        COALESCE(CAST(trunc(TRY_CAST(
            CASE WHEN json_type(definition) = 'OBJECT' THEN definition ->> 'value'
                 ELSE definition ->> '$' END AS DOUBLE)) AS INTEGER), 0) AS grade
    FROM elements
),
own AS (
    SELECT
        p.unit_id,
        p.grade,
        CASE
            WHEN p.is_definition THEN trim(COALESCE(p.definition ->> 'label', ''))
            ELSE COALESCE(d.grade_name, 'Grade ' || p.grade)
        END AS grade_name,
        CASE
            WHEN p.is_definition THEN upper(trim(COALESCE(p.definition ->> 'abbreviation', '')))
            ELSE COALESCE(d.grade_abbreviation, 'G' || p.grade)
        END AS grade_abbreviation
    FROM parsed AS p
    LEFT JOIN defaults AS d ON d.grade = p.grade
    WHERE p.grade <> -1
)
SELECT unit_id, grade, grade_name, grade_abbreviation, TRUE AS own_grades
FROM own
UNION ALL
SELECT u.unit_id, d.grade, d.grade_name, d.grade_abbreviation, FALSE AS own_grades
FROM units AS u
CROSS JOIN defaults AS d
WHERE u.definitions IS NULL
