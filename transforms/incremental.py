"""Incremental models: a table brought up to date by the rows the loads changed, not rebuilt.

A stored model whose YAML says

    incremental:
      changes_in: ontrack_raw.tasks          # the input whose changed rows are applied
      rows: staging.stg_ontrack__tasks       # where a changed row's key is read now …
      id: task_id                            # … by its id (a column here and in the model)
      key: [project_id, task_definition_id]  # the model's rows one input row can reach

is built whole the first time, and after that, when nothing it reads has moved but
`changes_in`, by its key: the keys a changed row had (in the model) or has (in `rows`) are
deleted and made again from the model's own SQL, restricted to them (dbt's and sqlmesh's
incremental by unique key). Every row of the model must depend only on input rows of its own key,
and key columns are never NULL.

Nothing is trusted: the ids come from the loads' log (platform.row_changes), and the log is used
only when its sums account for every change to `changes_in` since the model's last build (see
thoth.core.platform.row_changes). Otherwise, or when the code or any other input moved, the
model is made whole, as any other table. Either way the table equals a whole rebuild
(tests/transforms/test_incremental.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from thoth.core import platform
from thoth.core.duck import quote
from thoth.core.platform import row_changes
from transforms.project import Model


@dataclass(frozen=True)
class Spec:
    changes_in: str
    rows: str
    id: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class State:
    """What an incremental model's last build was made from."""

    others: str | None  # its fingerprint with `changes_in` left out
    sums: row_changes.Sums | None  # `changes_in`'s sums then
    seq: int | None  # the log's newest batch then


def spec(model: Model) -> Spec | None:
    meta = model.meta.get("incremental")
    if not meta:
        return None
    return Spec(meta["changes_in"], meta["rows"], meta["id"], tuple(meta["key"]))


def changes_in(model: Model) -> str | None:
    """The table whose changed rows the model applies; None: not incremental."""
    found = spec(model)
    return found.changes_in if found else None


def states(con: duckdb.DuckDBPyConnection) -> dict[str, State]:
    if not platform.has_column(con, "model_inputs", "changes_seq"):
        return {}
    return {model: State(others, None if rows is None else row_changes.Sums(rows, int(hashes)),
                         seq)
            for model, others, rows, hashes, seq in con.execute(
                "SELECT model, other_inputs, changes_rows, changes_hash, changes_seq "
                "FROM platform.model_inputs").fetchall()}


def applicable(con: duckdb.DuckDBPyConnection, found: Spec, state: State | None,
               others: str | None, sums: row_changes.Sums | None) -> bool:
    """Whether the log says exactly what changed in `changes_in` since the last build, and
    nothing else the model reads moved."""
    if state is None or None in (state.others, state.sums, state.seq, others, sums):
        return False
    return (state.others == others
            and state.sums + row_changes.since(con, found.changes_in, state.seq) == sums)


def apply(con: duckdb.DuckDBPyConnection, model: Model, found: Spec, sql: str,
          seq: int) -> int:
    """Make again the model's rows of every key a row logged after `seq` had or has; returns
    how many keys."""
    ids = row_changes.ids_since(found.changes_in, seq)
    keys = ", ".join(quote(k) for k in found.key)
    by_id = f"{quote(found.id)} IN ({ids})"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _changed_keys AS "
        f"SELECT {keys} FROM {found.rows} WHERE {by_id} "
        f"UNION SELECT {keys} FROM {model.qualified} WHERE {by_id}")
    match = " AND ".join(f"m.{quote(k)} = k.{quote(k)}" for k in found.key)
    con.execute(f"DELETE FROM {model.qualified} AS m USING _changed_keys AS k WHERE {match}")
    con.execute(f"INSERT INTO {model.qualified} BY NAME SELECT x.* FROM ({sql}) AS x "
                f"SEMI JOIN _changed_keys USING ({keys})")
    (changed,) = con.execute("SELECT count(*) FROM _changed_keys").fetchone()
    con.execute("DROP TABLE _changed_keys")
    return changed


def record(con: duckdb.DuckDBPyConnection, others: dict[str, str | None],
           sums: dict[str, row_changes.Sums], specs: dict[str, Spec], seq: int) -> None:
    """After a build: what each incremental model is now made from (model_inputs' rows written
    by builds.record_fingerprints in the same transaction)."""
    for model, found in specs.items():
        table_sums = sums.get(found.changes_in)
        con.execute(
            "UPDATE platform.model_inputs SET other_inputs = ?, changes_rows = ?, "
            "changes_hash = ?, changes_seq = ? WHERE model = ?",
            [others.get(model), table_sums and table_sums.rows,
             table_sums and table_sums.hashes, seq, model])
