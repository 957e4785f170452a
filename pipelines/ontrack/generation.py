"""Which OnTrack (Doubtfire) schema generation a source database is, read off its own catalog.

Each generation is recognised by a table or column it brought (newest first, as a warehouse
keeps the columns a later migration drops), and Rails' `schema_migrations` says how far its
migrations have run. The answer is recorded in `platform.source_schema`, shown by
`thoth status`; the transforms read the same markers off the loaded tables
(`staging.stg_ontrack__generation`) and apply that generation's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from thoth.core.platform.source_schema import Generation

# (generation, table, column or None): the first whose marker the catalog has wins.
MARKERS = (
    ("10.x", "comment_read_cursors", None),           # upstream 10.0 (TaskComment read cursors)
    ("8.0.x", "task_comments", "commentable_id"),     # Thoth Tech 8.0.x
    ("2024-01", "task_comments", "overseer_assessment_id"),  # upstream development 2024-01
)
# The newest schema.rb version each generation was checked against (docs/sources/ontrack.md,
# "OnTrack versions").
NEWEST_KNOWN = {"10.x": "2026_09_03_040547", "8.0.x": "2024_10_25_050957",
                "2024-01": "2024_01_05_055902"}
UNKNOWN = "unknown"



def detect(tables: Mapping[str, Collection[str]], schema_version: str | None = None) -> Generation:
    """`tables`: table → its column names, as the source's catalog lists them."""
    for name, table, column in MARKERS:
        if table in tables and (column is None or column in tables[table]):
            evidence = f"table {table}" if column is None else f"column {table}.{column}"
            return Generation(name, evidence, schema_version)
    return Generation(UNKNOWN, "none of the known markers", schema_version)


def version_text(version: str | None) -> str | None:
    """`20260903040547` → `2026_09_03_040547`, as schema.rb's `define(version:)` writes it."""
    if not version:
        return None
    v = str(version).strip()
    return f"{v[:4]}_{v[4:6]}_{v[6:8]}_{v[8:]}" if len(v) == 14 and v.isdigit() else v


def warnings(found: Generation) -> list[str]:
    """What the extract must say about a generation it does not fully know."""
    if found.name == UNKNOWN:
        return ["ontrack: the source's schema generation is not one this platform knows (it has "
                "none of comment_read_cursors, task_comments.commentable_id, "
                "task_comments.overseer_assessment_id): the KPIs apply the 8.0.x rules; see "
                "'OnTrack versions' in docs/sources/ontrack.md to add it"]
    newest = NEWEST_KNOWN[found.name]
    if found.schema_version and found.schema_version > newest:
        return [f"ontrack: schema_migrations {found.schema_version} is newer than the newest "
                f"{found.name} schema this platform was checked against ({newest}): the KPIs "
                f"apply the {found.name} rules; see 'OnTrack versions' in "
                "docs/sources/ontrack.md"]
    return []


def log_detected(found: Generation, log: Callable[[str], None]) -> None:
    log(f"ontrack: OnTrack schema {found}")
    for line in warnings(found):
        log(f"warning: {line}")
