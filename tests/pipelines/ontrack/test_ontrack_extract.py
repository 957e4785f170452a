"""The OnTrack pipeline against real PostgreSQL and MariaDB servers and real DuckDB files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ontrack_helpers import (
    assert_mirrors_source,
    execute,
    is_pg,
    load_state,
    query,
    thoth,
    warehouse_columns,
    warehouse_rows,
    warehouse_tables,
)
from test_ontrack_schema_changes import tiny_ontrack

from thoth.demo.ontrack import generate

SCALE = 0.001


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def loaded(source_url, warehouse_path, monkeypatch, capsys):
    """A generated OnTrack database and a warehouse after one full extract."""
    generate(source_url, scale=SCALE, seed=7)
    code, out, err = thoth(monkeypatch, capsys, source_url, warehouse_path, "extract", "ontrack")
    assert code == 0, err
    return source_url, warehouse_path, out


def test_first_run_loads_every_table_except_secrets(loaded):
    url, warehouse, out = loaded
    assert_mirrors_source(url, warehouse)
    assert "auth_tokens" not in warehouse_tables(warehouse)
    users = warehouse_columns(warehouse, "users")
    assert "email" in users and "encrypted_password" not in users
    assert "reset_password_token" not in users and "unlock_token" not in users
    assert "guid" not in warehouse_columns(warehouse, "webcals")
    state = load_state(warehouse)
    assert state["tasks"][0] == "full"
    assert state["tasks"][3] == query(url, "SELECT count(*) FROM tasks")[0][0] > 0
    assert "ontrack.tasks: full" in out


def test_both_engines_give_the_same_warehouse_types(pg_url, mysql_url, tmp_path, monkeypatch,
                                                    capsys):
    types = {}
    for url in (pg_url, mysql_url):
        generate(url, scale=SCALE, seed=7)
        warehouse = tmp_path / f"{url.split(':')[0]}.duckdb"
        assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
        types[url] = {t: warehouse_columns(warehouse, t) for t in warehouse_tables(warehouse)}
    pg, my = types[pg_url], types[mysql_url]
    assert pg == my
    assert pg["tasks"]["created_at"] == "TIMESTAMP"
    assert pg["tasks"]["include_in_portfolio"] == "BOOLEAN"
    assert pg["tasks"]["id"] == "BIGINT"
    assert pg["task_definitions"]["weighting"] == "DECIMAL(10,0)"


def test_second_run_applies_updates_inserts_and_deletes(loaded, monkeypatch, capsys):
    url, warehouse, _ = loaded
    stamp = now()
    task_id, project_id = query(url, "SELECT id, project_id FROM tasks ORDER BY id LIMIT 1")[0]
    enrolment = query(url, "SELECT id FROM tutorial_enrolments ORDER BY id LIMIT 1")[0][0]
    deleted_tasks = [r[0] for r in query(url, "SELECT id FROM tasks ORDER BY id DESC LIMIT 3")]
    execute(
        url,
        "UPDATE tasks SET task_status_id = 2, times_assessed = times_assessed + 1, "
        "updated_at = %s WHERE id = %s",
        params=(stamp, task_id),
    )
    execute(url, f"DELETE FROM tutorial_enrolments WHERE id = {enrolment}")
    execute(url, f"DELETE FROM tasks WHERE id IN ({', '.join(map(str, deleted_tasks))})")
    execute(url, "UPDATE campuses SET name = 'Renamed campus' WHERE id = 1")  # no timestamps

    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert_mirrors_source(url, warehouse)
    state = load_state(warehouse)
    assert state["tasks"][0] == "incremental"
    assert state["tasks"][2] == 3  # rows deleted
    assert state["tutorial_enrolments"][2] == 1
    assert state["campuses"][0] == "full"
    assert state["tasks"][4] == stamp.isoformat(sep=" ")  # the cursor moved to the update
    rows = warehouse_rows(warehouse, "tasks", ["id", "task_status_id", "project_id"])
    assert (task_id, 2, project_id) in rows
    assert not {r[0] for r in rows} & set(deleted_tasks)


def test_deleted_rows_are_found_among_ids_far_apart(source_url, warehouse_path, monkeypatch,
                                                   capsys):
    """Ids a billion apart, too spread for a bitmap over their range: the deleted ones are found
    by sorting instead; then every row deleted (an empty read) leaves the table empty."""
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    execute(url, "UPDATE tasks SET id = id * 1000000000")
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0

    execute(url, "DELETE FROM tasks WHERE id = 3000000000")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert "1 deleted, 4 in warehouse" in out
    assert [r[0] for r in warehouse_rows(warehouse, "tasks", ["id"])] == [
        1000000000, 2000000000, 4000000000, 5000000000]

    execute(url, "DELETE FROM tasks")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert "ontrack.tasks: incremental, 0 rows read, 4 deleted, 0 in warehouse" in out
    assert_mirrors_source(url, warehouse)


def test_rerun_with_no_source_change_changes_nothing(loaded, monkeypatch, capsys):
    url, warehouse, _ = loaded
    before = {t: warehouse_rows(warehouse, t, list(warehouse_columns(warehouse, t)))
              for t in warehouse_tables(warehouse)}
    for _ in range(2):
        code, _, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
        assert code == 0, err
    after = {t: warehouse_rows(warehouse, t, list(warehouse_columns(warehouse, t)))
             for t in warehouse_tables(warehouse)}
    assert after == before
    assert all(s[2] == 0 for s in load_state(warehouse).values())  # nothing deleted


def test_rows_with_null_cursor_are_loaded_and_kept_current(loaded, monkeypatch, capsys):
    url, warehouse, _ = loaded
    ids = [r[0] for r in query(url, "SELECT id FROM group_memberships WHERE updated_at IS NULL")]
    assert ids, "the generator should leave some old rows without timestamps"
    assert set(ids) <= {r[0] for r in warehouse_rows(warehouse, "group_memberships", ["id"])}
    # An old row changes without getting a timestamp (as a bulk update_all would do).
    execute(url, f"UPDATE group_memberships SET active = NOT active WHERE id = {ids[0]}"
            if is_pg(url) else
            f"UPDATE group_memberships SET active = 1 - active WHERE id = {ids[0]}")
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
    assert_mirrors_source(url, warehouse)


def test_extension_answered_after_creation_is_updated(loaded, monkeypatch, capsys):
    """task_comments has no updated_at; an extension request is answered days later."""
    url, warehouse, _ = loaded
    pending = query(
        url,
        "SELECT id FROM task_comments WHERE type = 'ExtensionComment' "
        "AND date_extension_assessed IS NULL ORDER BY id LIMIT 1",
    )
    assert pending, "the generator should leave some extension requests unanswered"
    comment_id = pending[0][0]
    old = datetime(2020, 1, 1)  # older than every generated row: outside any look-back
    execute(url, "UPDATE task_comments SET created_at = %s WHERE id = %s", params=(old, comment_id))
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack",
                 "--full-refresh", "--tables", "task_comments")[0] == 0
    execute(
        url,
        "UPDATE task_comments SET extension_granted = %s, date_extension_assessed = %s, "
        "extension_response = 'Granted: two weeks' WHERE id = %s",
        params=(True, now(), comment_id),
    )
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
    assert load_state(warehouse)["task_comments"][0] == "incremental"
    row = [r for r in warehouse_rows(warehouse, "task_comments",
                                     ["id", "extension_granted", "extension_response"])
           if r[0] == comment_id]
    assert row == [(comment_id, 1, "Granted: two weeks")]
    assert_mirrors_source(url, warehouse)


def test_new_column_appears_and_widened_type_does_not_crash(loaded, monkeypatch, capsys):
    url, warehouse, _ = loaded
    task_id = query(url, "SELECT min(id) FROM tasks")[0][0]
    if is_pg(url):
        execute(url, "ALTER TABLE tasks ADD COLUMN similarity_flag integer",
                "ALTER TABLE tasks ALTER COLUMN times_assessed TYPE bigint")
    else:
        execute(url, "ALTER TABLE tasks ADD COLUMN similarity_flag int",
                "ALTER TABLE tasks MODIFY times_assessed bigint DEFAULT 0")
    execute(url, "UPDATE tasks SET similarity_flag = 3, times_assessed = 5000000000, "
                 "updated_at = %s WHERE id = %s", params=(now(), task_id))
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    columns = warehouse_columns(warehouse, "tasks")
    assert columns["similarity_flag"] == "INTEGER"
    assert columns["times_assessed"] == "BIGINT"
    assert load_state(warehouse)["tasks"][0] == "full"  # a gained column: re-read whole
    assert "re-read whole: new source column similarity_flag" in out
    assert_mirrors_source(url, warehouse)
    # A widened type alone keeps the table incremental.
    execute(url, "ALTER TABLE task_comments ALTER COLUMN number_of_prompts TYPE bigint"
            if is_pg(url) else "ALTER TABLE task_comments MODIFY number_of_prompts bigint")
    assert thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")[0] == 0
    assert load_state(warehouse)["task_comments"][0] == "incremental"
    assert warehouse_columns(warehouse, "task_comments")["number_of_prompts"] == "BIGINT"
    assert_mirrors_source(url, warehouse)


def test_tables_flag_and_full_refresh(pg_url, warehouse_path, monkeypatch, capsys):
    generate(pg_url, scale=SCALE, seed=7)
    code, out, _ = thoth(monkeypatch, capsys, pg_url, warehouse_path,
                         "extract", "ontrack", "--tables", "units,tasks")
    assert code == 0
    assert warehouse_tables(warehouse_path) == ["tasks", "units"]
    code, out, _ = thoth(monkeypatch, capsys, pg_url, warehouse_path,
                         "extract", "ontrack", "--tables", "tasks", "--full-refresh")
    assert code == 0
    assert "ontrack.tasks: full" in out and "units" not in out


@pytest.mark.parametrize(
    ("tables", "message"),
    [("auth_tokens", "auth_tokens holds secrets and is never extracted"),
     ("tasks,no_such_table", "no table 'no_such_table' in the OnTrack "),
     ("taks", "no table 'taks' in the OnTrack "),
     ("units,taks", ": did you mean tasks?\n")],
)
def test_tables_flag_rejects_secret_and_unknown_tables(pg_url, warehouse_path, monkeypatch,
                                                       capsys, tables, message):
    generate(pg_url, scale=SCALE, seed=7)
    code, out, err = thoth(monkeypatch, capsys, pg_url, warehouse_path,
                           "extract", "ontrack", "--tables", tables)
    assert code == (1 if tables == "auth_tokens" else 2)  # a mistyped name: a usage error
    assert "did you mean" not in err or tables != "tasks,no_such_table"
    assert err.count("\n") == 1 and message in err
    assert not warehouse_path.exists()


def test_older_2024_01_schema_loads(source_url, warehouse_path, monkeypatch, capsys):
    generate(source_url, scale=SCALE, seed=7, variant="2024-01")
    assert thoth(monkeypatch, capsys, source_url, warehouse_path, "extract", "ontrack")[0] == 0
    assert "test_attempts" not in warehouse_tables(warehouse_path)
    assert "overseer_assessment_id" in warehouse_columns(warehouse_path, "task_comments")
    assert_mirrors_source(source_url, warehouse_path)


def test_status_shows_rows_last_load_cursor_and_staleness(loaded, monkeypatch, capsys):
    url, warehouse, _ = loaded
    code, out, _ = thoth(monkeypatch, capsys, url, warehouse, "status")
    assert code == 0
    header, *rows = out.splitlines()[1:]
    assert header.split() == ["table", "rows", "last", "load", "(UTC)", "mode", "cursor", "stale",
                              "flags"]
    tasks = next(r for r in rows if r.startswith("ontrack.tasks "))
    count = query(url, "SELECT count(*) FROM tasks")[0][0]
    newest = query(url, "SELECT max(updated_at) FROM tasks")[0][0]
    assert f"{count:,}" in tasks
    assert f"updated_at={newest.isoformat(sep=' ')}" in tasks
    # staleness is the last column ("N s", "N min" on a slow machine): no flags for OnTrack
    value, unit = tasks.split()[-2:]
    assert value.isdigit() and unit in ("s", "min")
    campuses = next(r for r in rows if r.startswith("ontrack.campuses "))
    assert "(full reload)" in campuses


def test_status_before_any_load(warehouse_path, monkeypatch, capsys):
    code, _, err = thoth(monkeypatch, capsys, None, warehouse_path, "status")
    assert code == 1
    assert "no warehouse at" in err and "thoth extract ontrack" in err
