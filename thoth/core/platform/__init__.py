"""The platform's own tables, `platform.*`: every one's DDL here, once, and the one probe for
whether a warehouse holds a table. Each table's readers and writers are the modules beside it
(load_state, runs, audit, checks, builds, erasures with the erasure rules, retention_state)."""

from __future__ import annotations

import duckdb

SCHEMA = "platform"

DDL: dict[str, str] = {
    # One row per loaded table, written with the load (OnTrack: in its transaction).
    "load_state": """
CREATE TABLE IF NOT EXISTS platform.load_state (
    source        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    mode          VARCHAR NOT NULL,   -- full | incremental
    cursor_column VARCHAR,
    cursor_value  VARCHAR,            -- the newest value loaded, ISO text whatever its type
    rows_loaded   BIGINT NOT NULL,    -- read from the source in the last load
    rows_deleted  BIGINT NOT NULL,    -- removed because the source no longer has them
    rows_total    BIGINT NOT NULL,
    seconds       DOUBLE NOT NULL,
    loaded_at     TIMESTAMP NOT NULL, -- UTC, end of the last successful load
    PRIMARY KEY (source, table_name)
);
-- Caveats on the loaded data, e.g. GA4's "sampled 2d, thresholded 30d"; NULL when none.
ALTER TABLE platform.load_state ADD COLUMN IF NOT EXISTS flags VARCHAR;
""",
    # One row per `thoth run`, written as it starts and again as it ends.
    "runs": """
CREATE TABLE IF NOT EXISTS platform.runs (
    run_id      VARCHAR PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,   -- UTC
    ended_at    TIMESTAMP,            -- NULL while running (or if the process was killed)
    status      VARCHAR NOT NULL,     -- running | succeeded | failed
    steps       JSON,                 -- [{step, status, rows, seconds, detail}], in run order
    failed_step VARCHAR,
    error       VARCHAR
);
""",
    # Who did what to the data, and when; never a person's identity.
    "audit": """
CREATE TABLE IF NOT EXISTS platform.audit (
    acted_at TIMESTAMP NOT NULL, -- UTC
    actor   VARCHAR NOT NULL,    -- THOTH_ACTOR, else the OS user
    host    VARCHAR NOT NULL,
    action  VARCHAR NOT NULL,    -- run | retention-archive | retention-restore | erase-user
    target  VARCHAR NOT NULL,    -- a run id, a table and archive id, an erasure id
    details JSON                 -- counts, never a person's identity
);
""",
    # Every data test of every `thoth check`.
    "check_results": """
CREATE TABLE IF NOT EXISTS platform.check_results (
    check_run_id VARCHAR NOT NULL,
    checked_at   TIMESTAMP NOT NULL,
    model        VARCHAR NOT NULL,
    test         VARCHAR NOT NULL,
    column_name  VARCHAR,
    failures     BIGINT NOT NULL,
    passed       BOOLEAN NOT NULL,
    detail       VARCHAR
);
-- Added later: warehouses checked before it have NULL there, read as 'error'.
ALTER TABLE platform.check_results ADD COLUMN IF NOT EXISTS severity VARCHAR;
-- What the test read, as transforms.fingerprints hashes it: an equal one next time reuses the
-- result without running the query (NULL before it existed: never reused).
ALTER TABLE platform.check_results ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
""",
    # Each model of each `thoth transform`, with its row count (the row-drop guard reads it).
    "model_builds": """
CREATE TABLE IF NOT EXISTS platform.model_builds (
    build_id  VARCHAR NOT NULL,
    model     VARCHAR NOT NULL,
    rows      BIGINT,            -- NULL for views
    seconds   DOUBLE NOT NULL,
    built_at  TIMESTAMP NOT NULL
);
-- Added later (NULL before): the data's snapshot time — the last load of the sources — that
-- "now" means in the models, and the engine that built them (duckdb | spark).
ALTER TABLE platform.model_builds ADD COLUMN IF NOT EXISTS snapshot_at TIMESTAMP;
ALTER TABLE platform.model_builds ADD COLUMN IF NOT EXISTS engine VARCHAR;
""",
    # What each model was last built from (transforms.fingerprints): a build whose fingerprint
    # for a model is the same keeps its table.
    "model_inputs": """
CREATE TABLE IF NOT EXISTS platform.model_inputs (
    model       VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    built_at    TIMESTAMP NOT NULL   -- UTC, when a build last made it from these inputs
);
-- Added later (NULL before, and for a model without `incremental`): what an incremental model
-- was made from but its `changes_in` table (a fingerprint with that table left out), and that
-- table's row count, sum of row hashes and place in platform.row_changes then.
ALTER TABLE platform.model_inputs ADD COLUMN IF NOT EXISTS other_inputs VARCHAR;
ALTER TABLE platform.model_inputs ADD COLUMN IF NOT EXISTS changes_rows BIGINT;
ALTER TABLE platform.model_inputs ADD COLUMN IF NOT EXISTS changes_hash HUGEINT;
ALTER TABLE platform.model_inputs ADD COLUMN IF NOT EXISTS changes_seq BIGINT;
""",
    # The rows each incremental load wrote or removed, a row per table per load, written in the
    # load's transaction: with what the load added to the table's row count and to its sum of
    # row hashes, so a reader can tell the log explains every change since it last looked.
    "row_changes": """
CREATE TABLE IF NOT EXISTS platform.row_changes (
    table_name VARCHAR NOT NULL,    -- schema.table
    seq        BIGINT NOT NULL,     -- rises with every load logged
    ids        BIGINT[] NOT NULL,   -- the ids written or removed
    rows_delta BIGINT NOT NULL,     -- rows after − rows before
    hash_delta HUGEINT NOT NULL,    -- sum(hash(row)) after − before
    changed_at TIMESTAMP NOT NULL   -- UTC
);
""",
    # Erased people and what identifies them, as keyed hashes only.
    "erasures": """
CREATE TABLE IF NOT EXISTS platform.erasures (
    erasure_id  VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,   -- user | project | task | unit_role | …
    subject_key VARCHAR NOT NULL,   -- sha256 of '<secret>:<kind>:<id>', never the id
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, subject_key)
);
""",
    # The last retention cut-off applied to each table: loads drop rows older than it.
    "retention_state": """
CREATE TABLE IF NOT EXISTS platform.retention_state (
    table_name      VARCHAR PRIMARY KEY,  -- schema.table
    date_column     VARCHAR NOT NULL,
    archived_before TIMESTAMP NOT NULL    -- loads drop rows older than this (archived already)
);
""",
    # Every row id retention archived, per table: a load drops a row the source hands back only
    # when it is listed here; a row past the cut-off that is not (it arrived late) stays until
    # retention archives it, never dropped unarchived.
    "archived_ids": """
CREATE TABLE IF NOT EXISTS platform.archived_ids (
    table_name VARCHAR NOT NULL,   -- schema.table
    id         BIGINT NOT NULL,
    PRIMARY KEY (table_name, id)
);
""",
    # Per loaded table: the last id scan found every id the source had up to the warehouse's
    # largest in the table or archived — no row held out unlisted (an erased person's). While
    # anyone is erased, a load skips the id scan only for a table listed here at the ledger's
    # current size (pipelines/ontrack/deletions.py); a load whose guard removed rows unlists it.
    "id_checks": """
CREATE TABLE IF NOT EXISTS platform.id_checks (
    table_name VARCHAR PRIMARY KEY,   -- schema.table
    erasures   BIGINT NOT NULL,       -- rows of platform.erasures when the scan ran
    scanned_at TIMESTAMP NOT NULL     -- UTC
);
""",
    # Which pseudonym key built the warehouse's pseudonyms: an HMAC of a constant under the key,
    # never the key. One row; a build with another key is refused.
    "pseudonym_key": """
CREATE TABLE IF NOT EXISTS platform.pseudonym_key (
    fingerprint VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL  -- UTC
);
""",
    # Every retention archive, kept in step with its manifest.
    "archives": """
CREATE TABLE IF NOT EXISTS platform.archives (
    archive_id  VARCHAR PRIMARY KEY,
    table_name  VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    rows        BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    checksum    VARCHAR NOT NULL,     -- count and sum of DuckDB row hashes, as read back
    cutoff      TIMESTAMP NOT NULL,
    archived_at TIMESTAMP NOT NULL,
    restored_at TIMESTAMP
);
""",
    # Which schema generation each source's last extract found.
    "source_schema": """
CREATE TABLE IF NOT EXISTS platform.source_schema (
    source          VARCHAR PRIMARY KEY,
    generation      VARCHAR NOT NULL,   -- 10.x | 8.0.x | 2024-01 | unknown
    schema_version  VARCHAR,            -- newest schema_migrations version, as schema.rb writes it
    evidence        VARCHAR NOT NULL,   -- the marker that decided it
    detected_at     TIMESTAMP NOT NULL  -- UTC
);
""",
}


def ensure(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Create `platform` and the named tables (all when none is named), if missing."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in tables or DDL:
        con.execute(DDL[table])


def has_table(con: duckdb.DuckDBPyConnection, table: str, schema: str = SCHEMA, *,
              temp: bool = False) -> bool:
    """Whether the warehouse holds `schema.table` (a table, not a view), or with `temp` the
    connection's temporary `table`: the one probe."""
    database = "'temp'" if temp else "current_database()"
    return bool(con.execute(
        f"SELECT 1 FROM duckdb_tables() WHERE database_name = {database} "
        "AND schema_name = ? AND table_name = ?", ["main" if temp else schema, table]).fetchall())


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The names of the tables (not views) in `schema`, sorted."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? ORDER BY table_name", [schema]).fetchall()]


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str,
               schema: str = SCHEMA) -> bool:
    return bool(con.execute(
        "SELECT 1 FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? AND column_name = ?",
        [schema, table, column]).fetchall())


def relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every `schema.name` table and view of the warehouse."""
    return {r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() UNION ALL "
        "SELECT schema_name || '.' || view_name FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal").fetchall()}
