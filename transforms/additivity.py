"""How each numeric column of a published mart aggregates, as its model's YAML declares it once
(`additivity:` under the column). The LookML measures are generated from it, and a test holds
that no sum covers a column declared non-additive and that every numeric column declares one.

    sum         a count or total that adds up across rows (and across the grain)
    max, min    the largest / smallest value: the max (min) of the rows is the right one above
    ratio       numerator / denominator, both published as `sum` columns (`numerator: [a]`,
                `denominator: [a, b]` for a / (a + b)): above the grain, the ratio of the sums
    distinct    distinct people or installs: never summed (one person counts in many rows),
                shown at the grain only
    quantile    a median or percentile: shown at the grain only
    grain       any other value that holds only for its own row (a per-row ratio whose parts are
                not published, a gauge's last sample): shown at the grain only
    identifier  an id or code that happens to be a number: a dimension, never aggregated

`format:` says how to show it: percent (a share, 0–1), hours, days, seconds, milliseconds,
decimal."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("sum", "max", "min", "ratio", "distinct", "quantile", "grain", "identifier")
AT_GRAIN = ("distinct", "quantile", "grain")  # no aggregate is right above the grain
FORMATS = ("percent", "hours", "days", "seconds", "milliseconds", "decimal")
NUMERIC = ("INT64", "FLOAT64")


@dataclass(frozen=True)
class Additivity:
    kind: str  # one of KINDS
    numerator: tuple[str, ...] = ()  # ratio: the sum columns added up above
    denominator: tuple[str, ...] = ()  # ratio: the sum columns added up below
    format: str | None = None  # one of FORMATS


def declared(meta: dict) -> dict[str, Additivity]:
    """Every column of a model's YAML that declares its additivity."""
    out = {}
    for name, column in (meta.get("columns") or {}).items():
        column = column or {}
        if "additivity" in column:
            out[name] = Additivity(str(column["additivity"]),
                                   tuple(column.get("numerator") or ()),
                                   tuple(column.get("denominator") or ()),
                                   column.get("format"))
    return out


def problems(model: str, meta: dict, numeric: list[str]) -> list[str]:
    """Every way `model`'s additivity is missing or inconsistent, one line each. `numeric`: its
    numeric columns (from the warehouse: the YAML does not state types)."""
    found = declared(meta)
    out = [f"{model}: column {c} is numeric but states no `additivity:` ({', '.join(KINDS)})"
           for c in numeric if c not in found]
    for name, a in found.items():
        where = f"{model}.{name}"
        if a.kind not in KINDS:
            out.append(f"{where}: additivity {a.kind!r} is not one of {', '.join(KINDS)}")
        if a.format is not None and a.format not in FORMATS:
            out.append(f"{where}: format {a.format!r} is not one of {', '.join(FORMATS)}")
        if a.kind == "ratio":
            if not a.numerator or not a.denominator:
                out.append(f"{where}: a ratio names its `numerator:` and `denominator:` columns")
            for part in (*a.numerator, *a.denominator):
                if part not in found or found[part].kind != "sum":
                    out.append(f"{where}: ratio part {part} is not a column declared "
                               "`additivity: sum`")
        elif a.numerator or a.denominator:
            out.append(f"{where}: numerator/denominator belong to `additivity: ratio` only")
    # The key result's target and the dashboard's measures name columns with a measure.
    measured = {c for c, a in found.items() if a.kind in KINDS and a.kind != "identifier"}
    for column, bound in column_targets(meta).items():
        if column not in measured:
            out.append(f"{model}: target column {column} has no measure (declare its "
                       "additivity)")
        if not (isinstance(bound, dict) and len(bound) == 1
                and set(bound) <= {"at_least", "at_most"}
                and isinstance(next(iter(bound.values())), int | float)):
            out.append(f"{model}: target {column} must be {{at_least: N}} or {{at_most: N}}")
    for column in (meta.get("dashboard") or {}).get("measures") or []:
        if column not in measured:
            out.append(f"{model}: dashboard measure {column} has no measure (declare its "
                       "additivity)")
    return out


def column_targets(meta: dict) -> dict[str, dict]:
    """The published columns a KPI's `target:` judges, as {column: {at_least | at_most: N}}:
    `column:` (the one its key result's number is about) and `also:` (more lines on the same
    key result). One statement of each target: the scorecard reads the same entry."""
    entry = meta.get("target")
    if not isinstance(entry, dict):
        return {}
    out = {}
    if entry.get("column"):
        out[entry["column"]] = {k: entry[k] for k in ("at_least", "at_most", "up") if k in entry}
    out.update(entry.get("also") or {})
    return out
