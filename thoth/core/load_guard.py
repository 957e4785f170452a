"""Governance applied to each table a loader has just written, inside the load's transaction:
rows past the last retention cut-off (archived already) and rows of erased people stay out,
however the source hands them back (incremental re-reads, whole reloads, `--full-refresh`).
The one statement of what a load passes through: `thoth extract ontrack`, `thoth run` and
`python -m pipelines.ontrack` all hand `guard(...)` to the loader. It reads only the platform's
tables, so it lives below the pipelines."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import duckdb

from thoth.core.platform import erasures, retention_state

# What the OnTrack loader calls after each table (pipelines/ontrack/table_load.py, `Guard`).
Guard = Callable[[duckdb.DuckDBPyConnection, str, str, str | None], str | None]


def apply(con: duckdb.DuckDBPyConnection, schema: str, table: str,
          changed: str | None = None, *, pseudonym_key: Callable[[], bytes]) -> str | None:
    """`changed`: a relation with the ids just loaded (an incremental load), None: the whole
    table. `pseudonym_key`: the command's key, asked for only once someone is erased. Returns a
    note for `platform.load_state.flags`, None when nothing was removed."""
    archived = retention_state.apply_cutoff(con, schema, table, changed)
    erased = erasures.apply_ledger(con, schema, table, changed, pseudonym_key=pseudonym_key)
    notes = [f"{archived:,} rows past retention dropped" if archived else "",
             f"{erased:,} rows of erased people removed" if erased else ""]
    return "; ".join(n for n in notes if n) or None


def guard(pseudonym_key: Callable[[], bytes]) -> Guard:
    """`apply` with the command's key, as the loader calls it."""
    return partial(apply, pseudonym_key=pseudonym_key)
