"""A model's DuckDB SQL as Spark SQL: sqlglot's translation (`read="duckdb", write="spark"`) and
the fixes where its output would run but mean something else. Each fix is a small transform of
the parsed tree, tested on both engines (tests/transforms/test_spark_dialect.py):

- `date_diff(unit, a, b)` counts unit boundaries crossed in DuckDB (00:00:00.9 → 00:00:01.1 is
  one second); Spark's `datediff(unit, a, b)` counts whole units elapsed (zero). Both arguments
  are truncated to the unit first, after which the two agree.
- `/` is always floating-point division in DuckDB (`x / 3600.0` is DOUBLE); in Spark a decimal
  literal makes it DECIMAL division, rounded to 6 places. The dividend is cast to DOUBLE.
- `quantile_cont(x, q)` becomes `percentile(x, q)`: Spark's exact, interpolating percentile.
- `timezone(zone, timezone('UTC', ts))` (a UTC wall time read in `zone`) becomes
  `from_utc_timestamp(ts, zone)`; no other use of `timezone()` is translated (an error says so).
- DuckDB's catalog functions read Spark's stand-ins: `duckdb_columns()` the lake's manifest
  columns, `pg_timezone_names()` the zone names DuckDB knows, `current_database()` the lake.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from thoth.core.errors import ThothError

# Spark-side stand-ins for DuckDB's catalog table functions (registered by transforms.spark.lake).
CATALOG = "thoth_catalog"
TABLE_FUNCTIONS = {"duckdb_columns": f"{CATALOG}.duckdb_columns",
                   "pg_timezone_names": f"{CATALOG}.pg_timezone_names"}
DATABASE = "lake"


def _date_diff(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.DateDiff) or not node.args.get("date_part_boundary"):
        return node
    unit = node.args.get("unit")
    unit_name = unit.name.upper() if unit is not None else "DAY"

    def trunc(arg: exp.Expression) -> exp.Expression:
        return exp.TimestampTrunc(this=arg.copy(), unit=exp.var(unit_name))

    return exp.DateDiff(this=trunc(node.this), expression=trunc(node.expression),
                        unit=exp.var(unit_name))


def _division(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Div):
        return node
    left = node.this
    if not (isinstance(left, exp.Cast) and left.to.is_type(exp.DataType.Type.DOUBLE)):
        left = exp.cast(left.copy(), exp.DataType.Type.DOUBLE)
    return exp.Div(this=left, expression=node.expression.copy())


def _percentile(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(),
                                                             node.expression.copy()])
    return node


def _is_timezone(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "timezone"


def _timezone(node: exp.Expression) -> exp.Expression:
    if not _is_timezone(node):
        return node
    zone, inner = (node.expressions + [None, None])[:2]
    if (inner is not None and _is_timezone(inner) and len(inner.expressions) == 2
            and inner.expressions[0].is_string and inner.expressions[0].name.upper() == "UTC"):
        return exp.Anonymous(this="from_utc_timestamp",
                             expressions=[inner.expressions[1].copy(), zone.copy()])
    raise ThothError(f"timezone() is translated to Spark only as timezone(zone, timezone('UTC', "
                     f"ts)); rewrite {node.sql('duckdb')} that way")


def _catalog(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        name = node.this.name.lower() if isinstance(node.this, exp.Anonymous) else ""
        if name in TABLE_FUNCTIONS:
            db, table = TABLE_FUNCTIONS[name].split(".")
            return exp.Table(this=exp.to_identifier(table), db=exp.to_identifier(db),
                             alias=node.args.get("alias"))
        raise ThothError(f"DuckDB table function {node.this.sql('duckdb')} has no Spark "
                         "stand-in: add one in transforms/spark/dialect.py")
    if isinstance(node, exp.CurrentDatabase):
        return exp.Literal.string(DATABASE)
    return node


FIXES = (_catalog, _date_diff, _division, _percentile, _timezone)


def to_spark(sql: str, model: str = "SQL") -> str:
    """`sql` (one DuckDB SELECT) as Spark SQL; an untranslatable construct is one line naming
    the model."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        for fix in FIXES:
            tree = tree.transform(fix)
        return tree.sql(dialect="spark", comments=False)
    except ThothError as exc:
        raise ThothError(f"model {model}: {exc}") from None
    except sqlglot.errors.SqlglotError as exc:
        raise ThothError(f"model {model}: SQL does not translate to Spark: "
                         f"{str(exc).splitlines()[0]}") from None
