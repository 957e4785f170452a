"""The transform project: models found on disk, their inputs read from the models themselves.

A SQL model is `models/<schema>/<table>.sql` (one SELECT, DuckDB dialect, every table written
`schema.table`); a Polars model is a function in `models/<schema>/*.py` decorated with
`@polars_model(inputs=[...])`. Each may have `<table>.yml` beside it: description, grain, columns
and data tests, and for a KPI what it means (read by `transforms.catalogue`). Dependencies come
from sqlglot's parse of the SQL, never from a hand-kept list.

A source has generations (OnTrack 2024-01, 8.0.x, 10.x): a model's YAML may say which source
columns an older generation lacks, with their types, and which tables it lacks altogether (their
columns then listed under `source_may_lack` too),

    source_may_lack:
      ontrack_raw.projects: {spec_con_days: INTEGER}         # 10.x adds the column
      ontrack_raw.comment_read_cursors: {id: BIGINT, …}      # 10.x adds the table
    source_may_be_absent: [ontrack_raw.comment_read_cursors]

and the build reads a missing column as NULLs of that type, a missing table as an empty one: the
model's SQL is written once, for the newest schema, and what NULL means is said in the SQL.
"""

from __future__ import annotations

import graphlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import polars as pl
import sqlglot
import yaml
from sqlglot import exp

from thoth.core.errors import ThothError

MODELS_DIR = Path(__file__).parent / "models"
MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# Staging models only rename and cast: views cost nothing to build and are always current.
MATERIALIZED = {"staging": "view", "intermediate": "view", "marts": "table"}
# The one platform table a model may read: the loads' times, from which
# staging.stg_platform__snapshots takes each source's snapshot time ("now" in a model).
SNAPSHOT_SOURCE = "platform.load_state"


@dataclass
class Model:
    schema: str
    name: str
    path: Path
    inputs: set[str]
    sql: str | None = None
    func: Callable[..., pl.DataFrame | pl.LazyFrame] | None = None
    meta: dict = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def materialized(self) -> str:
        return self.meta.get("materialized", MATERIALIZED[self.schema])


def polars_model(inputs: dict[str, list[str]], *, keyed: bool = False) -> Callable:
    """Mark a function as a model. `inputs` maps each table it reads to the columns it needs
    (an empty list: all); it receives them as DataFrames, in that order, and returns the table
    (named after the function) as a DataFrame or LazyFrame. `keyed`: it pseudonymises, and
    takes the build's pseudonym key as `pseudonym_key=` (bytes)."""

    def mark(func: Callable) -> Callable:
        func.polars_inputs = dict(inputs)
        func.polars_keyed = keyed
        return func

    return mark


def polars_function(model: Model, pseudonym_key: bytes) -> Callable:
    """A Polars model's function as a build calls it: on its input frames, with the build's
    pseudonym key when it takes one."""
    func = model.func
    return partial(func, pseudonym_key=pseudonym_key) if func.polars_keyed else func


@cache  # read-only: sqlglot's transform() copies; a model's SQL is parsed once per process
def _parse(sql: str, model: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ThothError(f"model {model}: SQL does not parse: {str(exc).splitlines()[0]}") from None


def sql_inputs(sql: str, model: str) -> set[str]:
    """The `schema.table` names a SELECT reads; CTE names and DuckDB's catalog functions
    (`duckdb_columns()`, `pg_timezone_names()`) aside."""
    tree = _parse(sql, model)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    inputs = set()
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            continue
        if table.db:
            inputs.add(f"{table.db}.{table.name}")
        elif table.name not in ctes:
            raise ThothError(
                f"model {model} reads {table.name!r} without a schema: write schema.table"
            )
    return inputs


def reads_catalog(sql: str, model: str) -> bool:
    """Whether a SELECT reads one of DuckDB's catalog functions (`duckdb_columns()`): what it
    makes then depends on the warehouse's tables themselves, not only on their rows."""
    return any(isinstance(t.this, exp.Func) for t in _parse(sql, model).find_all(exp.Table))


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it


def _meta(path: Path) -> dict:
    yml = path.with_suffix(".yml")
    # libyaml's loader parses 8× faster, and every step of a run discovers the models
    return (yaml.load(yml.read_text(), Loader=_LOADER) or {}) if yml.exists() else {}


def _polars_models(path: Path, schema: str) -> list[Model]:
    spec = importlib.util.spec_from_file_location(f"transforms.models.{schema}.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    models = []
    for name, func in vars(module).items():
        if callable(func) and hasattr(func, "polars_inputs"):
            meta = _meta(path.with_name(f"{name}.yml"))
            models.append(Model(schema, name, path, set(func.polars_inputs), func=func, meta=meta))
    return models


def discover(models_dir: Path = MODELS_DIR) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for schema in MODEL_SCHEMAS:
        folder = models_dir / schema
        found: list[Model] = []
        for path in sorted(folder.glob("*.sql")):
            sql = path.read_text()
            name = f"{schema}.{path.stem}"
            found.append(Model(schema, path.stem, path, sql_inputs(sql, name), sql=sql,
                               meta=_meta(path)))
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_"):
                found.extend(_polars_models(path, schema))
        for model in found:
            if model.qualified in models:
                raise ThothError(f"two models build {model.qualified}: {model.path} and "
                                 f"{models[model.qualified].path}")
            models[model.qualified] = model
    return models


def may_lack(model: Model) -> dict[str, dict[str, str]]:
    """`source table → {column: DuckDB type}` an older source generation may not have."""
    declared = model.meta.get("source_may_lack") or {}
    where = model.path.with_suffix(".yml")
    for table in declared:
        if table not in model.inputs:
            raise ThothError(f"{where}: source_may_lack names {table}, which the model does not "
                             "read")
    for table in may_be_absent(model):
        if table not in declared:
            raise ThothError(f"{where}: source_may_be_absent names {table}: list the columns "
                             "the model reads of it under source_may_lack")
    return declared


def may_be_absent(model: Model) -> set[str]:
    """Source tables an older generation lacks altogether (read as empty)."""
    return set(model.meta.get("source_may_be_absent") or ())


def optional_sources(models: dict[str, Model]) -> set[str]:
    """Source tables some generation lacks altogether: their absence is no failure."""
    return {t for m in models.values() for t in may_be_absent(m)}


def resolved_sql(model: Model, columns: dict[str, set[str]]) -> str:
    """The model's SQL, reading what the warehouse lacks of `source_may_lack` as typed NULLs.
    `columns`: the warehouse's source tables and their columns."""
    lacking = may_lack(model)
    if not lacking:
        return model.sql
    tree = _parse(model.sql, model.qualified)

    def fill(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Table) or not node.db:
            return node
        name = f"{node.db}.{node.name}"
        declared = lacking.get(name)
        have = columns.get(name)
        if not declared or (have is not None and set(declared) <= have):
            return node
        nulls = ", ".join(f'CAST(NULL AS {kind}) AS "{col}"' for col, kind in declared.items()
                          if have is None or col not in have)
        body = (f"SELECT *, {nulls} FROM {name}" if have is not None
                else f"SELECT {nulls} WHERE FALSE")
        return exp.Subquery(this=sqlglot.parse_one(body, read="duckdb"),
                            alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)))

    return tree.transform(fill).sql(dialect="duckdb")


def build_order(models: dict[str, Model], sources: set[str]) -> list[Model]:
    """Models in dependency order; a missing input or a cycle is an error naming the models."""
    graph = {}
    for model in models.values():
        may_lack(model)  # checks the declaration
        missing = sorted(i for i in model.inputs
                         if i not in models and i not in sources and i not in may_be_absent(model))
        if missing:
            raise ThothError(f"model {model.qualified} reads {', '.join(missing)}, which no model "
                             "builds and the warehouse does not hold")
        graph[model.qualified] = {i for i in model.inputs if i in models}
    try:
        return [models[name] for name in graphlib.TopologicalSorter(graph).static_order()]
    except graphlib.CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise ThothError(f"models form a cycle: {cycle}") from None


def lineage(models: dict[str, Model], name: str) -> set[str]:
    """The raw tables a model depends on, directly or through other models. The snapshot source
    is not among them: it is the build's clock, not data a KPI is made of (its freshness is its
    sources')."""
    raw: set[str] = set()
    for item in models[name].inputs:
        if item in models:
            raw |= lineage(models, item)
        elif item != SNAPSHOT_SOURCE:
            raw.add(item)
    return raw


def unavailable(models: dict[str, Model], tables: set[str],
                absent_sources: frozenset[str]) -> dict[str, list[str]]:
    """Models that read (directly or through other models) a raw table of a source that is not
    configured (`absent_sources`: raw schemas, e.g. ga4_raw) and not in the warehouse (`tables`):
    model → those tables. They are skipped rather than failed: the platform runs without GA4
    until someone configures it."""
    if not absent_sources:
        return {}
    out = {}
    for name in models:
        missing = sorted(t for t in lineage(models, name)
                         if t.split(".", 1)[0] in absent_sources and t not in tables)
        if missing:
            out[name] = missing
    return out
