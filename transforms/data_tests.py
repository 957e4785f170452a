"""The data tests a model's YAML declares, each turned into a query counting the rows that break it.

Column tests (`columns: <name>: tests:`): `not_null`, `unique`, `accepted_values`, `range`,
`relationships`. Model tests (`tests:` at the top of the YAML):

- `expression: granted <= answered` — true on every row (NULL counts as true, as in a CHECK);
- `identity:` — a fact two models state must agree on their shared grain: both sides are
  aggregated by `keys` and full-outer-joined, so a key missing on one side fails too.

    tests:
      - identity:
          name: on_time + late = submitted
          keys: [task_definition_id]           # `on` would be YAML's True
          expression: sum(on_time + late)        # this model
          equal_to:                              # or at_most: this side <= the other
            model: marts.kpi_task_submission
            expression: sum(submitted)
            where: target_grade = 0              # optional, on either side

Every test has a severity: `error` (the default) fails `thoth check` and blocks publishing;
`warn` is reported, recorded and alerted but never blocks. Write it beside the test:
`- {not_null: null, severity: warn}`, `- {range: {min: 0}, severity: warn}`,
`- {expression: ..., severity: warn}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from thoth.core.duck import quote as _q
from thoth.core.errors import ThothError
from transforms.project import Model

ERROR, WARN = "error", "warn"
SEVERITIES = (ERROR, WARN)
IDENTITY_OPS = {"equal_to": "=", "at_most": "<="}


@dataclass(frozen=True)
class DataTest:
    model: str
    test: str
    column: str | None  # the column, or a model test's name
    sql: str  # counts failing rows
    severity: str = ERROR
    examples_sql: str | None = None  # a few failing rows, to say which
    reads: frozenset[str] = field(default_factory=frozenset)  # other models it needs built
    keys: tuple[str, ...] = ()  # an identity's keys


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _split(entry: object, where: str) -> tuple[str, object, str]:
    """A test entry → (name, argument, severity). `- not_null`, `- range: {...}`, or either with
    a sibling `severity:` key."""
    if isinstance(entry, str):
        return entry, None, ERROR
    if not isinstance(entry, dict):
        raise ThothError(f"{where}: a test is a name or a mapping, not {entry!r}")
    spec = dict(entry)
    severity = spec.pop("severity", ERROR)
    if severity not in SEVERITIES:
        raise ThothError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if len(spec) != 1:
        raise ThothError(f"{where}: one test per entry, got {', '.join(map(str, spec)) or 'none'}")
    name, arg = next(iter(spec.items()))
    return name, arg, severity


def _column_tests(model: Model, column: str, spec: object) -> Iterator[DataTest]:
    table, col = model.qualified, _q(column)
    where = f"{model.path.with_suffix('.yml')}"
    for entry in spec or []:
        name, arg, severity = _split(entry, f"{where}: {column}")
        if name == "not_null":
            sql = f"SELECT count(*) FROM {table} WHERE {col} IS NULL"
        elif name == "unique":
            sql = (f"SELECT count(*) FROM (SELECT {col} FROM {table} WHERE {col} IS NOT NULL "
                   f"GROUP BY {col} HAVING count(*) > 1)")
        elif name == "accepted_values":
            values = ", ".join(_literal(v) for v in arg)
            sql = f"SELECT count(*) FROM {table} WHERE {col} NOT IN ({values})"
        elif name == "range":
            bounds = [f"{col} < {arg['min']}" if "min" in arg else None,
                      f"{col} > {arg['max']}" if "max" in arg else None]
            sql = f"SELECT count(*) FROM {table} WHERE " + " OR ".join(b for b in bounds if b)
        elif name == "relationships":
            # NOT EXISTS, not NOT IN: one NULL in the parent column makes `x NOT IN (…)` NULL for
            # every row, and the test would pass whatever the orphans.
            parent, parent_col = arg.rsplit(".", 1)
            sql = (f"SELECT count(*) FROM {table} AS child WHERE child.{col} IS NOT NULL AND "
                   f"NOT EXISTS (SELECT 1 FROM {parent} AS parent "
                   f"WHERE parent.{_q(parent_col)} = child.{col})")
        else:
            raise ThothError(f"{where}: unknown test {name!r} on {column}")
        yield DataTest(table, name, column, sql, severity)


def _side(model: str, spec: dict, on: list[str], where: str) -> str:
    if not spec.get("expression"):
        raise ThothError(f"{where}: each side of an identity needs an expression")
    keys = ", ".join(_q(c) for c in on)
    filter_ = f" WHERE {spec['where']}" if spec.get("where") else ""
    return (f"SELECT {keys}, TRUE AS present, {spec['expression']} AS v "
            f"FROM {model}{filter_} GROUP BY {keys}")


def _identity(model: Model, spec: dict, severity: str, where: str) -> DataTest:
    kinds = [k for k in IDENTITY_OPS if k in spec]
    if len(kinds) != 1 or not spec.get("keys") or not spec.get("name"):
        raise ThothError(f"{where}: an identity needs a name, keys and one of "
                         f"{', '.join(IDENTITY_OPS)}")
    other, op, on = spec[kinds[0]], IDENTITY_OPS[kinds[0]], list(spec["keys"])
    if not other.get("model"):
        raise ThothError(f"{where}: identity {spec['name']!r}: {kinds[0]} needs a model")
    left = _side(model.qualified, spec, on, where)
    right = _side(other["model"], other, on, where)
    match = " AND ".join(f"l.{_q(c)} IS NOT DISTINCT FROM r.{_q(c)}" for c in on)
    if op == "=":
        broken = "l.present IS NULL OR r.present IS NULL OR l.v IS DISTINCT FROM r.v"
    else:  # a key only on the left breaks it; only on the right is 0 <= x
        broken = "r.present IS NULL OR (l.present AND NOT coalesce(l.v <= r.v, FALSE))"
    joined = f"FROM ({left}) AS l FULL OUTER JOIN ({right}) AS r ON {match} WHERE {broken}"
    keys = ", ".join(f"coalesce(l.{_q(c)}, r.{_q(c)})" for c in on)
    return DataTest(
        model.qualified, "identity", str(spec["name"]), f"SELECT count(*) {joined}", severity,
        examples_sql=(f"SELECT {keys}, {_shown('l')}, {_shown('r')} {joined} "
                      "ORDER BY ALL LIMIT 3"),
        reads=frozenset({other["model"]}), keys=tuple(on))


def _model_tests(model: Model) -> Iterator[DataTest]:
    where = f"{model.path.with_suffix('.yml')}"
    for entry in model.meta.get("tests") or []:
        name, arg, severity = _split(entry, where)
        if name == "expression":
            yield DataTest(model.qualified, "expression", str(arg),
                           f"SELECT count(*) FROM {model.qualified} WHERE NOT ({arg})", severity)
        elif name == "identity":
            yield _identity(model, arg, severity, where)
        else:
            raise ThothError(f"{where}: unknown model test {name!r}")


def data_tests(model: Model) -> Iterator[DataTest]:
    meta = model.meta
    for column, spec in (meta.get("columns") or {}).items():
        yield from _column_tests(model, column, (spec or {}).get("tests"))
    if meta.get("grain"):
        cols = ", ".join(_q(c) for c in meta["grain"])
        yield DataTest(model.qualified, "unique_grain", ",".join(meta["grain"]),
                       f"SELECT count(*) FROM (SELECT {cols} FROM {model.qualified} "
                       f"GROUP BY ALL HAVING count(*) > 1)")
    yield from _model_tests(model)


def identity_detail(test: DataTest, examples: list[tuple], failures: int) -> str:
    """`2 keys disagree, e.g. task_definition_id=2: 3 vs 2` for a failed identity."""
    shown = "; ".join(
        ", ".join(f"{k}={v}" for k, v in zip(test.keys, row, strict=False))
        + f": {row[-2]} vs {row[-1]}" for row in examples)
    return f"{failures:,} keys disagree, e.g. {shown}"


def _shown(side: str) -> str:
    return (f"CASE WHEN {side}.present IS NULL THEN 'no row' "
            f"ELSE coalesce(CAST({side}.v AS VARCHAR), 'NULL') END")
