"""A LookML view per published table: a never-NULL primary key, a dimension per column, the
partition column `dt`, and the measures each column's declared additivity allows
(transforms/additivity.py): no sum over what does not add up."""

from __future__ import annotations

from dataclasses import dataclass, field

from transforms.additivity import AT_GRAIN, Additivity
from warehouse.publish.render import PARTITION, Column, TableSpec

PK = "pk"
NULL_KEY = "(null)"  # a grain column's NULL in the primary key, so the key itself never is
DATE_FRAMES = "[raw, date, week, month, quarter, year]"
TIME_FRAMES = "[raw, time, date, week, month, quarter, year]"
# format → LookML: a named format where Looker has one, else an Excel-style value_format.
FORMATS = {
    "percent": "value_format_name: percent_1",
    "hours": 'value_format: "#,##0.0\\" h\\""',
    "days": 'value_format: "#,##0.0\\" d\\""',
    "seconds": 'value_format: "#,##0.00\\" s\\""',
    "milliseconds": 'value_format: "#,##0\\" ms\\""',
    "decimal": "value_format_name: decimal_2",
}
WHY_NOT_SUMMED = {
    "distinct": "distinct people or installs: one counts in many rows, so rows are never summed",
    "quantile": "a median or percentile: those of rows do not combine into the whole's",
    "grain": "a value of its own row only, whose parts are not published",
}


@dataclass
class View:
    """What the model and the dashboards need to know of a view beside its text."""

    name: str
    spec: TableSpec
    additivity: dict[str, Additivity]
    measures: dict[str, str] = field(default_factory=dict)  # column → its measure's name
    text: str = ""

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.spec.columns]

    @property
    def per_unit(self) -> bool:
        return self.name.startswith("kpi_") and "unit_code" in self.columns

    def field(self, column: str) -> str:
        """The field a dashboard or join uses for a column (a date's `_date` timeframe)."""
        kind = next(c.bigquery_type for c in self.spec.columns if c.name == column)
        return f"{self.name}.{column}_date" if kind in ("DATE", "TIMESTAMP") else \
            f"{self.name}.{column}"


def _string(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(column: str) -> str:
    return column.replace("_", " ").capitalize()


def measure_name(column: str, kind: str) -> str:
    return {"sum": f"total_{column}", "max": f"max_{column}", "min": f"min_{column}",
            "ratio": f"overall_{column}"}.get(kind, f"{column}_at_grain")


def primary_key(spec: TableSpec) -> str:
    """The grain columns as one string, each NULL spelled out: kpi_app_metrics' rows all have a
    NULL route or queue, and a concatenation with one NULL would be NULL."""
    grain = spec.grain or [c.name for c in spec.columns]
    parts = [f"COALESCE(CAST(${{TABLE}}.{c} AS STRING), '{NULL_KEY}')" for c in grain]
    return parts[0] if len(parts) == 1 else "CONCAT(" + ", '|', ".join(parts) + ")"


def _dimension(c: Column, spec: TableSpec, a: Additivity | None) -> list[str]:
    description = [f"    description: {_string(c.description)}"] if c.description else []
    if c.bigquery_type in ("DATE", "TIMESTAMP"):
        datatype = "date" if c.bigquery_type == "DATE" else "timestamp"
        frames = DATE_FRAMES if datatype == "date" else TIME_FRAMES
        return [f"  dimension_group: {c.name} {{", "    type: time", f"    timeframes: {frames}",
                f"    datatype: {datatype}", "    convert_tz: no",
                f"    sql: ${{TABLE}}.{c.name} ;;", *description, "  }", ""]
    kind = {"INT64": "number", "FLOAT64": "number", "BOOL": "yesno"}.get(c.bigquery_type,
                                                                         "string")
    lines = [f"  dimension: {c.name} {{", f"    type: {kind}", f"    sql: ${{TABLE}}.{c.name} ;;",
             *description]
    if a is not None and a.kind == "identifier":
        lines.append("    value_format_name: id")
    elif a is not None and a.format:
        lines.append(f"    {FORMATS[a.format]}")
    if c.name in spec.grain:
        lines.append("    # part of the grain")
    return [*lines, "  }", ""]


def _measure(c: Column, a: Additivity, spec: TableSpec, names: dict[str, str]) -> list[str]:
    name = measure_name(c.name, a.kind)
    what = c.description or c.name
    fmt = [f"    {FORMATS[a.format]}"] if a.format else []
    if a.kind in ("sum", "max", "min"):
        words = {"sum": "Sum of", "max": "Largest", "min": "Smallest"}[a.kind]
        if a.kind == "sum" and not fmt and c.bigquery_type == "INT64":
            fmt = ["    value_format_name: decimal_0"]
        return [f"  measure: {name} {{", f"    type: {a.kind}", f"    sql: ${{TABLE}}.{c.name} ;;",
                f"    description: {_string(f'{words}: {what}')}", *fmt, "  }", ""]
    if a.kind == "ratio":
        def total(parts: tuple[str, ...]) -> str:
            return " + ".join(f"${{{names[p]}}}" for p in parts)
        sql = f"1.0 * ({total(a.numerator)}) / NULLIF({total(a.denominator)}, 0)"
        why = (f"{what}. Above the grain, the ratio of the sums ({' + '.join(a.numerator)}) / "
               f"({' + '.join(a.denominator)}), never an average of rates.")
        return [f"  measure: {name} {{", "    type: number", f"    sql: {sql} ;;",
                f"    label: {_string(_label(c.name) + ' (overall)')}",
                f"    description: {_string(why)}", *fmt, "  }", ""]
    # At the grain only: one row, its value; a row of the result covering several, empty.
    grain = ", ".join(spec.grain) or "one row"
    why = (f"{what}. At the grain only ({grain}): {WHY_NOT_SUMMED[a.kind]}; empty where a "
           "result row covers more than one.")
    sql = f"CASE WHEN COUNT(DISTINCT ${{{PK}}}) = 1 THEN MAX(${{TABLE}}.{c.name}) END"
    return [f"  measure: {name} {{", "    type: number", f"    sql: {sql} ;;",
            f"    label: {_string(_label(c.name) + ' (at the grain)')}",
            f"    description: {_string(why)}", *fmt, "  }", ""]


def view(spec: TableSpec, additivity: dict[str, Additivity], header: list[str]) -> View:
    out = View(spec.name, spec, additivity)
    key = f"The grain ({', '.join(spec.grain)}), a NULL spelled {NULL_KEY}"
    partition = (f"The partition key, equal to {spec.date_column}: filter on it and BigQuery "
                 "reads only those partitions")
    lines = [*(f"# {line}" for line in header),
             "# Generated by `thoth publish` (and `thoth looker`) from the models' YAML.",
             f"view: {spec.name} {{",
             f"  sql_table_name: `@{{DATASET}}.{spec.name}` ;;", "",
             f"  dimension: {PK} {{", "    primary_key: yes", "    hidden: yes",
             "    type: string", f"    sql: {primary_key(spec)} ;;",
             f"    description: {_string(key)}",
             "  }", ""]
    for c in spec.columns:
        lines += _dimension(c, spec, additivity.get(c.name))
    if spec.date_column:
        lines += [f"  dimension_group: {PARTITION} {{", "    type: time",
                  f"    timeframes: {DATE_FRAMES}", "    datatype: date", "    convert_tz: no",
                  f"    sql: ${{TABLE}}.{PARTITION} ;;", '    group_label: "Partition"',
                  f"    description: {_string(partition)}", "  }", ""]
    dates = {c.name for c in spec.columns if c.bigquery_type in ("DATE", "TIMESTAMP")}
    drill = [f"{g}_date" if g in dates else g for g in spec.grain]
    lines += ["  measure: count {", "    type: count", f"    drill_fields: [{', '.join(drill)}]",
              "  }", ""]
    # Sums first: a ratio is written over them.
    for c in sorted(spec.columns, key=lambda c: additivity.get(c.name, Additivity("")).kind
                    != "sum"):
        a = additivity.get(c.name)
        if a is None or a.kind == "identifier" or c.bigquery_type not in ("INT64", "FLOAT64"):
            continue
        out.measures[c.name] = measure_name(c.name, a.kind)
        lines += _measure(c, a, spec, out.measures)
    lines.append("}")
    out.text = "\n".join(lines) + "\n"
    return out


__all__ = ["AT_GRAIN", "PK", "View", "measure_name", "primary_key", "view"]
