"""The retention cut-offs applied so far (`platform.retention_state`) and the ids archived
(`platform.archived_ids`), as a load reads them: `thoth retention` (warehouse/governance/
retention.py) writes both when it archives; `apply_cutoff` drops again, after each table's load
(thoth/core/load_guard.py), the archived rows the source hands back."""

from __future__ import annotations

import duckdb

from thoth.core import platform
from thoth.core.duck import quote as _q


def apply_cutoff(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                 changed: str | None = None) -> int:
    """After a load: drop the rows older than the table's last applied cut-off that are in an
    archive already (their ids in platform.archived_ids); the others wait for retention. A table
    without an `id` column cannot be matched: its old rows are all dropped, as archived.
    `changed`: a relation with the ids just loaded (only those can be old), None: the table."""
    if not platform.has_table(con, "retention_state"):
        return 0
    row = con.execute("SELECT date_column, archived_before FROM platform.retention_state "
                      "WHERE table_name = ?", [f"{schema}.{table}"]).fetchone()
    if row is None:
        return 0
    column, before = row
    only = f" AND id IN (SELECT id FROM {changed})" if changed else ""
    params: list = [before]
    if platform.has_column(con, table, "id", schema):
        platform.ensure(con, "archived_ids")
        only += " AND id IN (SELECT id FROM platform.archived_ids WHERE table_name = ?)"
        params.append(f"{schema}.{table}")
    (deleted,) = con.execute(f"DELETE FROM {_q(schema)}.{_q(table)} WHERE {_q(column)} < ?"
                             f"{only}", params).fetchone()
    return deleted
