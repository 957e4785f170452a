"""What the OnTrack pipeline reads, and how each table is kept up to date.

Facts from ../shared/ontrack/SCHEMA.md (Doubtfire 8.0.x and 2024-01)."""

DATASET = "ontrack_raw"

# Credentials (auth_tokens, users.encrypted_password, webcals.guid, anything named like a token,
# key, password, …) are never extracted: thoth/core/classification.yml decides which, by list and
# by name (`secret_names`).
# Rails bookkeeping, not OnTrack data.
INTERNAL_TABLES = frozenset({"schema_migrations", "ar_internal_metadata"})

# Tables load incrementally by `updated_at` when they have it; these have only `created_at`.
CREATED_AT_CURSOR = frozenset({"task_comments"})

# Rows that still change after creation in a table without `updated_at`: (which rows, the
# condition once they are settled). Extension requests are answered later (extension_granted,
# date_extension_assessed, extension_response), so every pending one is re-read each run.
REREAD_UNTIL_SETTLED = {
    "task_comments": (
        "type IN ('ExtensionComment', 'ScormExtensionComment')",
        "date_extension_assessed IS NOT NULL",
    ),
}

# Re-read rows whose cursor is this close to the last one seen: a transaction that commits after
# a run may carry an `updated_at` older than rows that run already loaded.
DEFAULT_LOOKBACK_MINUTES = 15
