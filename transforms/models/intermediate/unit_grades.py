"""int_unit_grades: each unit's target grades, as OnTrack 10.x reads units.grade_values
(Unit#grade_definitions, #normalize_grade_definitions, #grade_values, #grade_label):

- the column holds a JSON array of definitions {id, value, label, abbreviation}, or of bare
  values (a bare 0–3 takes its default definition, any other N is "Grade N" / "GN"); a value is
  Ruby's to_i of what is stored (none: 0), a label is stripped, an abbreviation stripped and
  upper-cased;
- blank (every unit before 10.x, and a 10.x unit that never set its own) means the defaults:
  Pass 0, Credit 1, Distinction 2, High Distinction 3;
- value -1 is the Fail definition every unit has: a result, never a target, so Unit#grade_values
  (what students choose from, what OnTrack's per-grade statistics loop over) leaves it out, and
  so does this model.

Text that is not a JSON array reads as the defaults; stg_ontrack__units warns about it. A Polars
model rather than SQL: JSON functions are each engine's own, Python's json module is the same
everywhere (on Spark this runs row by row, a unit's grades depending on its row only).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from transforms.project import polars_model

DEFAULTS = {0: ("Pass", "P"), 1: ("Credit", "C"), 2: ("Distinction", "D"),
            3: ("High Distinction", "HD")}
FAIL = -1
SCHEMA = {"unit_id": pl.Int64, "grade": pl.Int32, "grade_name": pl.String,
          "grade_abbreviation": pl.String, "own_grades": pl.Boolean}


def _to_i(value: Any) -> int:
    """Ruby's to_i: a number truncated, a string's leading integer, anything else 0."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return int(value)
    match = re.match(r"\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else 0


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


def _definitions(grade_values: str | None) -> list | None:
    try:
        parsed = json.loads(grade_values) if grade_values else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None


def grades(unit_id: int, grade_values: str | None) -> list[dict]:
    definitions = _definitions(grade_values)
    if definitions is None:
        return [{"unit_id": unit_id, "grade": grade, "grade_name": name,
                 "grade_abbreviation": short, "own_grades": False}
                for grade, (name, short) in DEFAULTS.items()]
    rows = []
    for item in definitions:
        if isinstance(item, dict):
            grade = _to_i(item.get("value"))
            name = _text(item.get("label")).strip()
            short = _text(item.get("abbreviation")).strip().upper()
        else:
            grade = _to_i(item)
            name, short = DEFAULTS.get(grade, (f"Grade {grade}", f"G{grade}"))
        if grade != FAIL:
            rows.append({"unit_id": unit_id, "grade": grade, "grade_name": name,
                         "grade_abbreviation": short, "own_grades": True})
    return rows


@polars_model(inputs={"staging.stg_ontrack__units": ["unit_id", "grade_values"]})
def int_unit_grades(units: pl.DataFrame) -> pl.DataFrame:
    """What the table means (grain, columns, tests): int_unit_grades.yml."""
    rows = [row for unit in units.iter_rows(named=True)
            for row in grades(unit["unit_id"], unit["grade_values"])]
    return pl.DataFrame(rows, schema=SCHEMA)
