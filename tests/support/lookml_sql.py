"""A small LookML → SQL compiler, for the field types the generated views use, so that a test
runs the measures as Looker would (DuckDB over the published Parquet) and compares the figures.

Looker writes `SELECT <dimensions>, <measures> FROM <sql_table_name> AS <view> GROUP BY
<dimensions>`, a dimension's SQL as written (`${TABLE}` the view's alias, `${field}` another
field's SQL in parentheses) and a measure's wrapped by its type. A type this does not know is an
error: teach it here before a view uses it."""

from __future__ import annotations

import re

_REF = re.compile(r"\$\{(\w+)(?:\.(\w+))?\}")
_AGGREGATES = {"sum": "SUM", "max": "MAX", "min": "MIN", "average": "AVG"}


class Compiler:
    def __init__(self, views: dict[str, dict], tables: dict[str, str]):
        """`views`: lkml's parse of each view; `tables`: view → the FROM it reads here."""
        self.views, self.tables = views, tables

    def _expand(self, view: str, sql: str) -> str:
        def field(match: re.Match) -> str:
            first, second = match.groups()
            if first == "TABLE" and second is None:
                return f'"{view}"'
            v, name = (first, second) if second else (view, first)
            return f"({self.field(v, name)})"

        return _REF.sub(field, sql.strip())

    def field(self, view: str, name: str) -> str:
        v = self.views[view]
        for d in v.get("dimensions", []):
            if d["name"] == name:
                return self._expand(view, d["sql"])
        for g in v.get("dimension_groups", []):
            for frame in g["timeframes"]:
                if name == f"{g['name']}_{frame}" and frame in ("raw", "date"):
                    sql = self._expand(view, g["sql"])
                    return sql if frame == "raw" else f"CAST({sql} AS DATE)"
        for m in v.get("measures", []):
            if m["name"] == name:
                kind = m["type"]
                if kind == "count":
                    return "COUNT(*)"
                if kind == "number":
                    return self._expand(view, m["sql"])
                if kind == "count_distinct":
                    return f"COUNT(DISTINCT {self._expand(view, m['sql'])})"
                if kind in _AGGREGATES:
                    return f"{_AGGREGATES[kind]}({self._expand(view, m['sql'])})"
                raise NotImplementedError(f"{view}.{name}: measure type {kind}")
        raise KeyError(f"{view}.{name}")

    def select(self, view: str, dimensions: list[str], measures: list[str]) -> str:
        columns = [self.field(view, f) for f in [*dimensions, *measures]]
        group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(dimensions)))}" \
            if dimensions else ""
        return f'SELECT {", ".join(columns)} FROM {self.tables[view]} AS "{view}"{group}'
