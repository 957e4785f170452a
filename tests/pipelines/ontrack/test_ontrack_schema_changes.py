"""OnTrack upgrades, on PostgreSQL and MariaDB: a migration that adds and back-fills a column, a
dropped column, a new column nobody has classified, and credentials by name (marker values)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import duckdb
from ontrack_helpers import execute, is_pg, load_state, query, thoth, warehouse_columns

LONG_AGO = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=3)


def _types(url: str) -> tuple[str, str]:
    """(auto-increment primary key, Rails datetime) in this engine's DDL."""
    if is_pg(url):
        return "bigserial PRIMARY KEY", "timestamp"
    return "bigint AUTO_INCREMENT PRIMARY KEY", "datetime(6)"


def tiny_ontrack(url: str) -> None:
    """Two OnTrack tables, one with `updated_at` (incremental) and one without (reloaded)."""
    pk, ts = _types(url)
    execute(
        url,
        f"CREATE TABLE tasks (id {pk}, task_status_id bigint, times_assessed integer, "
        f"created_at {ts} NOT NULL, updated_at {ts} NOT NULL)",
        f"CREATE TABLE campuses (id {pk}, name varchar(255), abbreviation varchar(255))",
    )
    for i in range(1, 6):
        execute(url, "INSERT INTO tasks (task_status_id, times_assessed, created_at, updated_at) "
                     "VALUES (%s, %s, %s, %s)", params=(i % 3 + 1, i, LONG_AGO, LONG_AGO))
    execute(url, "INSERT INTO campuses (name, abbreviation) VALUES ('Burwood', 'B'), "
                 "('Geelong', 'G')")


def rows(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_back_filled_column_is_read_whole_and_a_dropped_one_kept(source_url, warehouse_path,
                                                                 monkeypatch, capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0

    # A Rails migration: add_column, then update_all — updated_at never moves.
    execute(url, "ALTER TABLE tasks ADD COLUMN similarity_flag integer",
            "UPDATE tasks SET similarity_flag = id * 10")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert "ontrack.tasks: full, 5 rows read" in out
    assert "re-read whole: new source column similarity_flag" in out
    assert rows(warehouse, "SELECT id, similarity_flag FROM ontrack_raw.tasks ORDER BY id") == [
        (i, i * 10) for i in range(1, 6)]
    assert load_state(warehouse)["tasks"][0] == "full"

    # The next run is incremental again.
    code, out, _ = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0 and "ontrack.tasks: incremental" in out and "re-read" not in out

    # The source drops a column: it stays, old rows keep their values, new rows get NULL.
    execute(url, "ALTER TABLE tasks DROP COLUMN times_assessed",
            "ALTER TABLE campuses DROP COLUMN abbreviation")
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    execute(url, "INSERT INTO tasks (task_status_id, similarity_flag, created_at, updated_at) "
                 "VALUES (2, 60, %s, %s)", params=(now, now))
    execute(url, "INSERT INTO campuses (name) VALUES ('Online')")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert ("ontrack.tasks: incremental" in out
            and "dropped in the source: times_assessed (kept, NULL for new rows)" in out)
    assert "dropped in the source: abbreviation (kept, NULL for new rows)" in out
    assert rows(warehouse, "SELECT id, times_assessed, similarity_flag FROM ontrack_raw.tasks "
                           "ORDER BY id") == [(i, i, i * 10) for i in range(1, 6)] + [(6, None, 60)]
    assert rows(warehouse, "SELECT name, abbreviation FROM ontrack_raw.campuses ORDER BY id") == [
        ("Burwood", "B"), ("Geelong", "G"), ("Online", None)]

    # --full-refresh: the warehouse mirrors the source's columns again.
    code = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack", "--full-refresh")[0]
    assert code == 0
    assert "times_assessed" not in warehouse_columns(warehouse, "tasks")
    assert "abbreviation" not in warehouse_columns(warehouse, "campuses")


def test_new_unclassified_column_loads_and_status_names_it(source_url, warehouse_path,
                                                           monkeypatch, capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
    execute(url, "ALTER TABLE tasks ADD COLUMN reviewed_in_class_at "
                 + ("timestamp" if is_pg(url) else "datetime(6)"),
            "ALTER TABLE tasks ADD COLUMN session_token varchar(64)",
            "UPDATE tasks SET reviewed_in_class_at = created_at, session_token = 'MARKER-tok'")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    columns = warehouse_columns(warehouse, "tasks")
    assert columns["reviewed_in_class_at"] == "TIMESTAMP"  # loaded, with its back-filled values
    assert rows(warehouse, "SELECT count(*) FROM ontrack_raw.tasks "
                           "WHERE reviewed_in_class_at = created_at") == [(5,)]
    assert "session_token" not in columns  # looks like a secret: not extracted at all
    assert ("ontrack: withheld because the name marks a credential: column tasks.session_token; "
            "if one is not a secret, give it a class in thoth/core/classification.yml") in out

    code, out, _ = thoth(monkeypatch, capsys, url, warehouse, "status")
    assert code == 0
    assert ("warning: unclassified columns ontrack_raw.tasks.reviewed_in_class_at: loaded, but "
            "treated as personal (never published, kept out of the models) until classified: "
            "list each under ontrack_raw.tasks in thoth/core/classification.yml") in out


# --- credentials: never extracted, by list and by name -------------------------------------

def _credential_tables(url: str, marker: str) -> None:
    """The upstream 10.x credential tables, the old ones, names caught only by the rule, and the
    exceptions classified otherwise. Every secret cell holds `marker`."""
    pk, ts = _types(url)
    text = "text"
    execute(
        url,
        f"CREATE TABLE moodle_integrations (id {pk}, unit_id bigint NOT NULL, course_id bigint "
        f"NOT NULL, api_key {text} NOT NULL, validated boolean, created_at {ts} NOT NULL, "
        f"updated_at {ts} NOT NULL)",
        f"CREATE TABLE user_oauth_tokens (id {pk}, user_id bigint NOT NULL, provider integer, "
        f"token {text}, expires_at {ts}, created_at {ts} NOT NULL, updated_at {ts} NOT NULL)",
        f"CREATE TABLE user_oauth_states (id {pk}, user_id bigint NOT NULL, state varchar(255), "
        f"created_at {ts} NOT NULL, updated_at {ts} NOT NULL)",
        f"CREATE TABLE auth_tokens (id {pk}, user_id bigint, authentication_token varchar(255), "
        f"auth_token_expiry {ts})",
        f"CREATE TABLE api_secrets (id {pk}, label varchar(255), body varchar(255))",
        f"CREATE TABLE users (id {pk}, email varchar(255), encrypted_password varchar(255), "
        f"reset_password_token varchar(255), reset_password_sent_at {ts}, "
        f"unlock_token varchar(255), created_at {ts} NOT NULL, updated_at {ts} NOT NULL)",
        f"CREATE TABLE webcals (id {pk}, guid varchar(36), user_id bigint)",
        f"CREATE TABLE tii_group_attachments (id {pk}, filename varchar(255), "
        f"file_sha1_digest varchar(255))",
        f"CREATE TABLE unit_content_links (id {pk}, unit_id bigint, context_key varchar(255))",
        "ALTER TABLE tasks ADD COLUMN share_token varchar(255)",
        "ALTER TABLE tasks ADD COLUMN lti_secret_key varchar(255)",
    )
    m = marker
    execute(url, "INSERT INTO moodle_integrations (unit_id, course_id, api_key, validated, "
                 "created_at, updated_at) VALUES (1, 77, %s, true, %s, %s)",
            params=(m, LONG_AGO, LONG_AGO))
    execute(url, "INSERT INTO user_oauth_tokens (user_id, provider, token, created_at, "
                 "updated_at) VALUES (1, 0, %s, %s, %s)", params=(m, LONG_AGO, LONG_AGO))
    execute(url, "INSERT INTO user_oauth_states (user_id, state, created_at, updated_at) "
                 "VALUES (1, %s, %s, %s)", params=(m, LONG_AGO, LONG_AGO))
    execute(url, "INSERT INTO auth_tokens (user_id, authentication_token) VALUES (1, %s)",
            params=(m,))
    execute(url, "INSERT INTO api_secrets (label, body) VALUES (%s, %s)", params=(m, m))
    execute(url, "INSERT INTO users (email, encrypted_password, reset_password_token, "
                 "reset_password_sent_at, unlock_token, created_at, updated_at) "
                 "VALUES ('a@b.example', %s, %s, %s, %s, %s, %s)",
            params=(m, m, LONG_AGO, m, LONG_AGO, LONG_AGO))
    execute(url, "INSERT INTO webcals (guid, user_id) VALUES (%s, 1)", params=(m[:36],))
    execute(url, "INSERT INTO tii_group_attachments (filename, file_sha1_digest) "
                 "VALUES ('a.pdf', 'da39a3ee5e6b4b0d3255bfef95601890afd80709')")
    execute(url, "INSERT INTO unit_content_links (unit_id, context_key) VALUES (1, 'week-1')")
    execute(url, "UPDATE tasks SET share_token = %s, lti_secret_key = %s", params=(m, m))


def _cells_holding(warehouse, needle: str) -> list[str]:
    """Every table and view column of the warehouse file whose values contain `needle`."""
    found = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                              "WHERE database_name = current_database() AND NOT internal"
                              ).fetchall()
        for schema, table, column in columns:
            q = '"' + schema + '"."' + table.replace('"', '""') + '"'
            c = '"' + column.replace('"', '""') + '"'
            (n,) = con.execute(f"SELECT count(*) FROM {q} WHERE contains(CAST({c} AS VARCHAR), ?)",
                               [needle]).fetchone()
            if n:
                found.append(f"{schema}.{table}.{column}")
    return found


def test_credentials_by_list_and_by_name_never_reach_the_warehouse(source_url, warehouse_path,
                                                                   monkeypatch, capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    marker = f"MARKER-{uuid.uuid4().hex}"
    _credential_tables(url, marker)
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err

    assert _cells_holding(warehouse, marker[:36]) == []  # webcals.guid holds a 36-char cut
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'ontrack_raw'").fetchall()}
    assert "auth_tokens" not in tables and "api_secrets" not in tables
    assert "api_key" not in warehouse_columns(warehouse, "moodle_integrations")
    assert "token" not in warehouse_columns(warehouse, "user_oauth_tokens")
    assert "state" not in warehouse_columns(warehouse, "user_oauth_states")
    assert not {"encrypted_password", "reset_password_token", "unlock_token"} & set(
        warehouse_columns(warehouse, "users"))
    assert "guid" not in warehouse_columns(warehouse, "webcals")
    assert not {"share_token", "lti_secret_key"} & set(warehouse_columns(warehouse, "tasks"))
    # What is not a credential still loads: the rest of those tables, and the listed exceptions.
    assert rows(warehouse, "SELECT course_id, validated FROM ontrack_raw.moodle_integrations"
                ) == [(77, True)]
    assert rows(warehouse, "SELECT provider FROM ontrack_raw.user_oauth_tokens") == [(0,)]
    assert rows(warehouse, "SELECT count(*) FROM ontrack_raw.users "
                           "WHERE reset_password_sent_at IS NOT NULL") == [(1,)]
    assert rows(warehouse, "SELECT file_sha1_digest FROM ontrack_raw.tii_group_attachments") == [
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709",)]
    assert rows(warehouse, "SELECT context_key FROM ontrack_raw.unit_content_links") == [
        ("week-1",)]
    assert "ontrack: kept out by design, secrets are never read: 2 tables, 9 columns" in out
    assert ("withheld because the name marks a credential: table api_secrets, column "
            "tasks.share_token, column tasks.lti_secret_key;") in out
    # A warehouse loaded before these rules (upstream 10.x's api_key, say) loses what they hold
    # back on the next load: the secret columns and tables go.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER TABLE ontrack_raw.tasks ADD COLUMN share_token VARCHAR")
        con.execute("UPDATE ontrack_raw.tasks SET share_token = ?", [marker])
        con.execute("ALTER TABLE ontrack_raw.moodle_integrations ADD COLUMN api_key VARCHAR")
        con.execute("UPDATE ontrack_raw.moodle_integrations SET api_key = ?", [marker])
        con.execute("CREATE TABLE ontrack_raw.api_secrets AS SELECT 1 AS id, ? AS body", [marker])
    assert len(_cells_holding(warehouse, marker)) == 3
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert _cells_holding(warehouse, marker[:36]) == []
    assert ("ontrack.api_secrets: removed from the warehouse: secret (the name marks a "
            "credential (secrets))") in out
    assert "secret column share_token removed from the warehouse" in out
    assert "secret column api_key removed from the warehouse" in out

    # The scan itself can fail: a value that is no secret is found.
    execute(url, "UPDATE campuses SET name = %s WHERE id = 1", params=(marker,))
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
    assert _cells_holding(warehouse, marker) == ["ontrack_raw.campuses.name"]
    assert query(url, "SELECT count(*) FROM auth_tokens") == [(1,)]  # the source untouched
