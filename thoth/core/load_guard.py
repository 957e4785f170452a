"""Governance applied to each table a loader has just written, inside the load's transaction:
rows past the last retention cut-off (archived already) and rows of erased people stay out,
however the source hands them back (incremental re-reads, whole reloads, `--full-refresh`).
The one statement of what a load passes through: `thoth extract ontrack`, `thoth run` and
`python -m pipelines.ontrack` all hand it to the loader. It reads only the platform's tables,
so it lives below the pipelines."""

from __future__ import annotations

import duckdb

from thoth.core.platform import erasures, retention_state


def apply(con: duckdb.DuckDBPyConnection, schema: str, table: str,
          changed: str | None = None) -> str | None:
    """`changed`: a relation with the ids just loaded (an incremental load), None: the whole
    table. Returns a note for `platform.load_state.flags`, None when nothing was removed."""
    archived = retention_state.apply_cutoff(con, schema, table, changed)
    erased = erasures.apply_ledger(con, schema, table, changed)
    notes = [f"{archived:,} rows past retention dropped" if archived else "",
             f"{erased:,} rows of erased people removed" if erased else ""]
    return "; ".join(n for n in notes if n) or None
