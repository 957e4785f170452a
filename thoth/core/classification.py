"""Every warehouse column's class (public, internal, personal, secret), from one file:
`thoth/core/classification.yml`.

- A column a source adds is loaded but unclassified: it counts as personal (never published,
  kept out of the models) until someone lists it, and `thoth check`, `thoth status` and the run's
  alert name it as a warning that blocks nothing (`unclassified_warnings`).
- A source table or column whose name marks a credential (`secret_names`) is secret unless its
  table's entry says otherwise; the OnTrack loader never reads a secret one (`secret_table`).
- `thoth check` fails on a secret column stored at all and on an unclassified column a model
  exposes (`problems`); `thoth publish` refuses personal, secret and unclassified columns;
  `thoth docs` shows each column's class.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from thoth.core.duck import quote
from thoth.core.errors import ThothError

CLASSIFICATION = Path(__file__).with_name("classification.yml")
CLASSES = ("public", "internal", "personal", "secret")
RESTRICTED = frozenset({"personal", "secret"})  # never leave the warehouse
MODEL_SCHEMAS = ("staging", "intermediate", "marts")


@dataclass(frozen=True)
class ColumnClass:
    name: str  # one of CLASSES
    why: str  # where it came from: the table's entry, a name rule's reason, the schema default


@dataclass(frozen=True)
class SecretNames:
    """Names that mark a credential, matched word by word (`unlock_token` → unlock, token)."""
    schemas: frozenset[str]  # where the rule applies: the source schemas
    words: frozenset[str]
    in_tables: dict[str, frozenset[str]]  # table word → column words secret only there (oauth)

    def column(self, schema: str, table: str, column: str) -> str | None:
        if schema not in self.schemas:
            return None
        hit = words(column) & self.words
        for table_word in words(table) & set(self.in_tables):
            hit |= words(column) & self.in_tables[table_word]
        return f"the name marks a credential ({', '.join(sorted(hit))})" if hit else None

    def table(self, schema: str, table: str) -> str | None:
        if schema not in self.schemas:
            return None
        hit = words(table) & self.words
        return f"the name marks a credential ({', '.join(sorted(hit))})" if hit else None


NO_SECRET_NAMES = SecretNames(frozenset(), frozenset(), {})


def words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w}


@dataclass(frozen=True)
class Classification:
    tables: dict[str, dict[str, str] | str]  # schema.table → column → class, or a whole-table class
    names: tuple[tuple[str, str, str], ...]  # (pattern, class, why), first match wins
    schemas: dict[str, str | None]  # schema → default class, None: every column listed
    secret_names: SecretNames = NO_SECRET_NAMES
    products: dict[str, str] = field(default_factory=dict)  # data product → class

    def by_name(self, column: str) -> ColumnClass | None:
        name = column.lower()
        for pattern, cls, why in self.names:
            if fnmatch.fnmatchcase(name, pattern):
                return ColumnClass(cls, why)
        return None

    def classify(self, schema: str, table: str, column: str) -> ColumnClass | None:
        """The column's class, or None: unclassified."""
        entry = self.tables.get(f"{schema}.{table}")
        if isinstance(entry, str):
            return ColumnClass(entry, f"the whole table {schema}.{table} is {entry}")
        listed = (entry or {}).get(column)
        if listed:
            return ColumnClass(listed, f"listed for {schema}.{table}")
        # Before the other name rules: in a source, `context_key` is no pseudonym.
        secret = (self.secret_names.table(schema, table) if entry is None else None
                  ) or self.secret_names.column(schema, table, column)
        if secret:
            return ColumnClass("secret", secret)
        named = self.by_name(column)
        if named:
            return named
        default = self.schemas.get(schema)
        return ColumnClass(default, f"default of schema {schema}") if default else None

    def secret_table(self, schema: str, table: str) -> str | None:
        """Why the whole table is secret (never extracted), or None. A table with an entry of
        columns is classified otherwise: it loads, without its secret columns."""
        entry = self.tables.get(f"{schema}.{table}")
        if entry == "secret":
            return f"listed as secret in thoth/core/{CLASSIFICATION.name}"
        if isinstance(entry, dict):
            return None
        return self.secret_names.table(schema, table)


def _check_class(value: object, where: str) -> str:
    if value not in CLASSES:
        raise ThothError(f"{CLASSIFICATION.name}: {where} has class {value!r}; expected one of "
                         f"{', '.join(CLASSES)}")
    return str(value)


def _secret_names(doc: dict | None) -> SecretNames:
    if not doc:
        return NO_SECRET_NAMES
    return SecretNames(
        frozenset(doc.get("schemas") or []),
        frozenset(w.lower() for w in doc.get("words") or []),
        {t.lower(): frozenset(w.lower() for w in ws)
         for t, ws in (doc.get("in_tables") or {}).items()},
    )


def parse(doc: dict) -> Classification:
    tables: dict[str, dict[str, str] | str] = {}
    for table, by_class in (doc.get("tables") or {}).items():
        if isinstance(by_class, str):  # the whole table, e.g. `ontrack_raw.auth_tokens: secret`
            tables[table] = _check_class(by_class, table)
            continue
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
    products = {p: _check_class(c, f"product {p}") for p, c in (doc.get("products") or {}).items()}
    return Classification(tables, names, schemas, _secret_names(doc.get("secret_names")),
                          products)


@lru_cache(maxsize=4)
def load(path: Path = CLASSIFICATION) -> Classification:
    return parse(yaml.safe_load(path.read_text()) or {})


def shown(name: str) -> str:
    """A table or column name as a message shows it: quoted when it is not a plain word, so a
    name with spaces, quotes or a semicolon reads unambiguously (and on one line)."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return quote(name.encode("unicode_escape").decode("ascii"))


def warehouse_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(schema, table, column, type) of every table and view in the warehouse file."""
    return con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall()


def unclassified(con: duckdb.DuckDBPyConnection, classification: Classification | None = None
                 ) -> dict[tuple[str, str], list[str]]:
    """(schema, table) → its columns with no class (loaded, treated as personal)."""
    classification = classification or load()
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column, _ in warehouse_columns(con):
        if classification.classify(schema, table, column) is None:
            out.setdefault((schema, table), []).append(column)
    return out


def unclassified_warnings(con: duckdb.DuckDBPyConnection,
                          classification: Classification | None = None
                          ) -> list[tuple[str, str]]:
    """(table, message) per table with unclassified columns: what they are and how to classify
    them. A warning, never a failure: a new source column must not stop every KPI."""
    out = []
    for (schema, table), cols in unclassified(con, classification).items():
        where = f"{shown(schema)}.{shown(table)}"
        names = ", ".join(f"{where}.{shown(c)}" for c in cols)
        out.append((where, f"unclassified columns {names}: loaded, but treated as personal "
                    "(never published, kept out of the models) until classified: list each "
                    f"under {where} in thoth/core/{CLASSIFICATION.name} as {', '.join(CLASSES)}"))
    return out


_RAW_REF = re.compile(r'\b(\w+_raw)\s*\.\s*("(?:[^"]|"")+"|\w+)', re.IGNORECASE)


def _model_leaks(con: duckdb.DuckDBPyConnection,
                 loose: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    """Model views exposing an unclassified raw column. Staging views name their columns, so a
    new source column reaches one only through a `SELECT *` over raw: that is a failure."""
    if not loose:
        return []
    out = []
    for schema, view, sql in con.execute(
            "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal "
            "AND database_name = current_database() AND schema_name IN (?, ?, ?)",
            list(MODEL_SCHEMAS)).fetchall():
        exposed = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?", [schema, view]).fetchall()}
        for raw_schema, raw_table in _RAW_REF.findall(sql or ""):
            name = raw_table[1:-1].replace('""', '"') if raw_table.startswith('"') else raw_table
            leaked = [c for c in loose.get((raw_schema.lower(), name), []) if c in exposed]
            if leaked:
                model = f"{schema}.{view}"
                out.append((model, (
                    f"unclassified columns reach a model: "
                    f"{', '.join(f'{model}.{shown(c)}' for c in leaked)} (from {raw_schema}."
                    f"{shown(name)}): classify them in thoth/core/{CLASSIFICATION.name}, or name "
                    "the model's columns instead of SELECT *")))
    return out


def problems(con: duckdb.DuckDBPyConnection,
             classification: Classification | None = None) -> list[tuple[str, str]]:
    """(table, message) for every table with a stored secret column, and every model view that
    exposes an unclassified one. Failures: publishing stops until they are fixed."""
    classification = classification or load()
    secret: dict[str, list[str]] = {}
    for schema, table, column, _ in warehouse_columns(con):
        cls = classification.classify(schema, table, column)
        if cls is not None and cls.name == "secret":
            secret.setdefault(f"{schema}.{table}", []).append(column)
    out = [(t, f"secret columns stored: {', '.join(f'{t}.{shown(c)}' for c in cols)}: secrets "
               "must never reach the warehouse") for t, cols in secret.items()]
    return out + _model_leaks(con, unclassified(con, classification))


def restricted_columns(schema: str, table: str, columns: list[str],
                       classification: Classification | None = None) -> dict[str, str]:
    """Columns classed personal or secret (or not classed at all), each with its reason."""
    classification = classification or load()
    out = {}
    for column in columns:
        cls = classification.classify(schema, table, column)
        if cls is None:
            out[column] = "unclassified: personal until classified"
        elif cls.name in RESTRICTED:
            out[column] = f"{cls.name}: {cls.why}" if cls.why.startswith("listed") else cls.why
    return out


def product_class(product: str) -> str:
    """A data product's class (`products:`); one not listed is personal, as a column is."""
    return load().products.get(product, "personal")


# Name-only view, for columns not yet in a warehouse table (and the publish tests).
def personal_reason(column: str) -> str | None:
    """Why a column of this name is personal (or secret), or None."""
    cls = load().by_name(column)
    return cls.why if cls and cls.name in RESTRICTED else None


def personal_columns(columns: list[str]) -> dict[str, str]:
    return {c: reason for c in columns if (reason := personal_reason(c))}
