"""Every warehouse column's class (public, internal, personal, secret), from one file:
`warehouse/classification.yml`.

`thoth check` fails on a column with no class (a source added it: someone must decide) and on a
secret column stored at all; `thoth publish` refuses personal and secret columns; `thoth docs`
shows each column's class.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from thoth.errors import ThothError

CLASSIFICATION = Path(__file__).with_name("classification.yml")
CLASSES = ("public", "internal", "personal", "secret")
RESTRICTED = frozenset({"personal", "secret"})  # never leave the warehouse


@dataclass(frozen=True)
class ColumnClass:
    name: str  # one of CLASSES
    why: str  # where it came from: the table's entry, a name rule's reason, the schema default


@dataclass(frozen=True)
class Classification:
    tables: dict[str, dict[str, str]]  # schema.table → column → class
    names: tuple[tuple[str, str, str], ...]  # (pattern, class, why), first match wins
    schemas: dict[str, str | None]  # schema → default class, None: every column listed

    def by_name(self, column: str) -> ColumnClass | None:
        name = column.lower()
        for pattern, cls, why in self.names:
            if fnmatch.fnmatchcase(name, pattern):
                return ColumnClass(cls, why)
        return None

    def classify(self, schema: str, table: str, column: str) -> ColumnClass | None:
        """The column's class, or None: unclassified."""
        listed = self.tables.get(f"{schema}.{table}", {}).get(column)
        if listed:
            return ColumnClass(listed, f"listed for {schema}.{table}")
        named = self.by_name(column)
        if named:
            return named
        default = self.schemas.get(schema)
        return ColumnClass(default, f"default of schema {schema}") if default else None


def _check_class(value: object, where: str) -> str:
    if value not in CLASSES:
        raise ThothError(f"{CLASSIFICATION.name}: {where} has class {value!r}; expected one of "
                         f"{', '.join(CLASSES)}")
    return str(value)


def parse(doc: dict) -> Classification:
    tables: dict[str, dict[str, str]] = {}
    for table, by_class in (doc.get("tables") or {}).items():
        columns: dict[str, str] = {}
        for cls, names in (by_class or {}).items():
            _check_class(cls, table)
            for name in names:
                if name in columns:
                    raise ThothError(f"{CLASSIFICATION.name}: {table}.{name} is listed twice")
                columns[name] = cls
        tables[table] = columns
    names = tuple((r["name"].lower(), _check_class(r["class"], f"name rule {r['name']}"),
                   r.get("why", "")) for r in doc.get("names") or [])
    schemas = {s: (None if c is None else _check_class(c, f"schema {s}"))
               for s, c in (doc.get("schemas") or {}).items()}
    return Classification(tables, names, schemas)


@lru_cache(maxsize=4)
def load(path: Path = CLASSIFICATION) -> Classification:
    return parse(yaml.safe_load(path.read_text()) or {})


def warehouse_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(schema, table, column, type) of every table and view in the warehouse file."""
    return con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall()


def problems(con: duckdb.DuckDBPyConnection,
             classification: Classification | None = None) -> list[tuple[str, str]]:
    """(table, message) for every table with an unclassified or a stored secret column."""
    classification = classification or load()
    unclassified: dict[str, list[str]] = {}
    secret: dict[str, list[str]] = {}
    for schema, table, column, _ in warehouse_columns(con):
        cls = classification.classify(schema, table, column)
        if cls is None:
            unclassified.setdefault(f"{schema}.{table}", []).append(column)
        elif cls.name == "secret":
            secret.setdefault(f"{schema}.{table}", []).append(column)
    out = [(t, f"unclassified columns {', '.join(f'{t}.{c}' for c in cols)}: give each a class "
               f"in warehouse/{CLASSIFICATION.name}") for t, cols in unclassified.items()]
    out += [(t, f"secret columns stored: {', '.join(f'{t}.{c}' for c in cols)}: secrets must "
                "never reach the warehouse") for t, cols in secret.items()]
    return out


def restricted_columns(schema: str, table: str, columns: list[str],
                       classification: Classification | None = None) -> dict[str, str]:
    """Columns classed personal or secret (or not classed at all), each with its reason."""
    classification = classification or load()
    out = {}
    for column in columns:
        cls = classification.classify(schema, table, column)
        if cls is None:
            out[column] = "unclassified"
        elif cls.name in RESTRICTED:
            out[column] = f"{cls.name}: {cls.why}" if cls.why.startswith("listed") else cls.why
    return out


# Name-only view, for columns not yet in a warehouse table (and the publish tests).
def personal_reason(column: str) -> str | None:
    """Why a column of this name is personal (or secret), or None."""
    cls = load().by_name(column)
    return cls.why if cls and cls.name in RESTRICTED else None


def personal_columns(columns: list[str]) -> dict[str, str]:
    return {c: reason for c in columns if (reason := personal_reason(c))}
