"""Hostile identifiers and failure isolation, on PostgreSQL and MariaDB: names with quotes,
spaces, a semicolon and SQL load correctly; one table that fails is rolled back and named, the
others still load, the extract exits non-zero; the password never shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from dlt.common.configuration.specs import ConnectionStringCredentials
from ontrack_helpers import execute, is_pg, load_state, source_tables, thoth
from servers import MYSQL_HOST, MYSQL_PORT, mysql_admin
from test_ontrack_schema_changes import LONG_AGO, _types, rows, tiny_ontrack

from pipelines.ontrack.extract import extract
from thoth.core.errors import ThothError
from thoth.core.load_guard import guard


def _no_key() -> bytes:
    raise AssertionError("nobody is erased here: the guard must not ask for the pseudonym key")


governance = guard(_no_key)
HOSTILE_TABLE = 'we"ird; DROP TABLE users; --'
HOSTILE_COLUMN = "na me'x"


def _q(url: str, name: str) -> str:
    if is_pg(url):
        return '"' + name.replace('"', '""') + '"'
    return "`" + name.replace("`", "``") + "`"


def _duck(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_hostile_names_load_correctly_and_incrementally(source_url, warehouse_path, monkeypatch,
                                                        capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    pk, ts = _types(url)
    t, c = _q(url, HOSTILE_TABLE), _q(url, HOSTILE_COLUMN)
    execute(url, "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(255))",
            f"CREATE TABLE {t} (id {pk}, {c} varchar(255), updated_at {ts} NOT NULL)")
    for value in ("it's", 'say "hi"', "a; DROP TABLE tasks; --"):
        execute(url, f"INSERT INTO {t} ({c}, updated_at) VALUES (%s, %s)",
                params=(value, LONG_AGO))
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert 'ontrack."we""ird; DROP TABLE users; --": full, 3 rows read' in out
    target = f"ontrack_raw.{_duck(HOSTILE_TABLE)}"
    assert rows(warehouse, f"SELECT id, {_duck(HOSTILE_COLUMN)} FROM {target} ORDER BY id") == [
        (1, "it's"), (2, 'say "hi"'), (3, "a; DROP TABLE tasks; --")]

    # An update, an insert, a delete and a new column with a hostile name: all quoted.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    execute(url, f"UPDATE {t} SET {c} = 'changed', updated_at = %s WHERE id = 1", params=(now,))
    execute(url, f"DELETE FROM {t} WHERE id = 2")
    execute(url, f"INSERT INTO {t} ({c}, updated_at) VALUES ('new', %s)", params=(now,))
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert 'ontrack."we""ird; DROP TABLE users; --": incremental' in out and "1 deleted" in out
    execute(url, f"ALTER TABLE {t} ADD COLUMN {_q(url, 'new `col`')} integer",
            f"UPDATE {t} SET {_q(url, 'new `col`')} = 7")
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    assert 're-read whole: new source column "new `col`"' in out
    assert rows(warehouse, f'SELECT id, {_duck(HOSTILE_COLUMN)}, "new `col`" FROM {target} '
                           "ORDER BY id") == [(1, "changed", 7), (3, "a; DROP TABLE tasks; --", 7),
                                              (4, "new", 7)]
    assert "users" in source_tables(url) and "users" in _warehouse_tables(warehouse)

    code, out, _ = thoth(monkeypatch, capsys, url, warehouse, "status")
    assert code == 0
    assert 'ontrack.we"ird; DROP TABLE users; --' in out
    assert ("warning: unclassified columns "
            'ontrack_raw."we""ird; DROP TABLE users; --".id, '
            """ontrack_raw."we""ird; DROP TABLE users; --"."na me'x",""") in out
    docs = warehouse.parent / "docs"
    assert thoth(monkeypatch, capsys, url, warehouse, "docs", "--out", str(docs))[0] == 0
    page = (docs / "ontrack_raw.we~22ird~3b~20DROP~20TABLE~20users~3b~20--.html").read_text()
    assert "<code>na me&#x27;x</code>" in page


def _warehouse_tables(warehouse) -> set[str]:
    return {r[0] for r in rows(warehouse, "SELECT table_name FROM duckdb_tables() "
                                          "WHERE schema_name = 'ontrack_raw'")}


def test_names_that_differ_only_by_case_are_refused_in_one_line(pg_url, warehouse_path,
                                                                monkeypatch, capsys):
    tiny_ontrack(pg_url)
    execute(pg_url, 'CREATE TABLE "Campuses" (id bigint PRIMARY KEY, name varchar(255))',
            'CREATE TABLE roles (id bigint PRIMARY KEY, "Name" varchar(9), name varchar(9))')
    code, out, err = thoth(monkeypatch, capsys, pg_url, warehouse_path, "extract", "ontrack")
    assert code == 1
    assert ("ontrack.campuses: refused, not loaded: its name differs from table Campuses only by "
            "case, and the warehouse's names ignore case: rename one") in out
    assert ("ontrack.roles: refused, not loaded: columns Name and name differ only by case"
            ) in out
    assert err.count("\n") == 1 and "2 of 4 OnTrack tables not loaded (campuses, roles)" in err
    assert _warehouse_tables(warehouse_path) == {"Campuses", "tasks"}


# --- one table fails: the others still load --------------------------------------------------

def _poison(url: str) -> str:
    """A value OnTrack's database holds and the warehouse cannot: PostgreSQL's numeric NaN,
    MariaDB's zero date (legal under a lax sql_mode, as old Rails apps left them)."""
    pk, ts = _types(url)
    execute(url, f"CREATE TABLE task_similarities (id {pk}, pct numeric(5,2), "
                 f"created_at {ts}, updated_at {ts})")
    execute(url, "INSERT INTO task_similarities (pct, created_at, updated_at) "
                 "VALUES (12.5, %s, %s)", params=(LONG_AGO, LONG_AGO))
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if is_pg(url):
        return ("INSERT INTO task_similarities (pct, created_at, updated_at) "
                f"VALUES ('NaN', '{now}', '{now}')")
    return ("INSERT INTO task_similarities (pct, created_at, updated_at) "
            f"VALUES (1, '0000-00-00 00:00:00', '{now}')")


@pytest.fixture
def url_with_password(source_url):
    """The same database, reached with a password in the URL (MariaDB: a user of its own)."""
    password = f"pw-{uuid.uuid4().hex[:10]}"
    c = ConnectionStringCredentials(source_url)
    if is_pg(source_url):  # trust auth accepts any password: it is still in the URL
        yield source_url.replace(f"{c.username}@", f"{c.username}:{password}@"), password
        return
    user = f"thoth_{uuid.uuid4().hex[:8]}"
    admin = mysql_admin()
    admin.cursor().execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    admin.cursor().execute(f"GRANT ALL ON `{c.database}`.* TO '{user}'@'%'")
    try:
        yield (f"mysql+pymysql://{user}:{password}@{MYSQL_HOST}:{MYSQL_PORT}/{c.database}",
               password)
    finally:
        admin.cursor().execute(f"DROP USER '{user}'@'%'")
        admin.close()


def test_a_table_that_fails_is_rolled_back_and_the_others_load(source_url, url_with_password,
                                                               warehouse_path, monkeypatch,
                                                               capsys):
    url, password = url_with_password
    tiny_ontrack(source_url)
    poison = _poison(source_url)
    assert thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")[0] == 0
    before = load_state(warehouse_path)["task_similarities"]

    execute(source_url, "SET SESSION sql_mode = ''" if not is_pg(source_url) else "SELECT 1",
            poison)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    execute(source_url, "UPDATE tasks SET task_status_id = 9, updated_at = %s WHERE id = 1",
            params=(now,))
    code, out, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    assert code == 1
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 1
    assert failed[0].startswith("ontrack.task_similarities: FAILED, rolled back (keeps its "
                                "last load): ")
    assert ("nan" in failed[0].lower() if is_pg(source_url) else "0000-00-00" in failed[0])
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("thoth: error: 1 of 3 OnTrack tables not loaded (task_similarities), "
                          "each keeps its last load; the other 2 loaded.")
    assert password not in out + err
    # The other tables loaded; the failed one is exactly as its last load left it.
    assert rows(warehouse_path, "SELECT task_status_id FROM ontrack_raw.tasks WHERE id = 1") == [
        (9,)]
    assert rows(warehouse_path, "SELECT id, pct FROM ontrack_raw.task_similarities") == [
        (1, 12.5)]
    assert load_state(warehouse_path)["task_similarities"] == before


def test_a_table_dropped_during_the_run_fails_alone(source_url, warehouse_path):
    tiny_ontrack(source_url)
    execute(source_url, "CREATE TABLE tutorials (id bigint PRIMARY KEY, code varchar(9))",
            "INSERT INTO tutorials VALUES (1, 'LA1-01')")
    creds = ConnectionStringCredentials(source_url)
    extract(creds, warehouse_path, guard=governance, log=lambda line: None)
    execute(source_url, "INSERT INTO tutorials VALUES (2, 'LA1-02')")
    lines: list[str] = []

    def log(line: str) -> None:  # a migration drops `tasks` after the catalog was read, before
        lines.append(line)       # its rows are (the schema's line comes between the two)
        if line.startswith("ontrack: OnTrack schema"):
            execute(source_url, "DROP TABLE tasks")

    with pytest.raises(ThothError, match=r"^1 of 3 OnTrack tables not loaded \(tasks\), each "
                                         r"keeps its last load; the other 2 loaded"):
        extract(creds, warehouse_path, guard=governance, log=log)
    tables = [line for line in lines if line.startswith("ontrack.")]  # not the schema's lines
    # Whole tables load first, then the incremental ones (extract._start).
    assert [line.split(":")[0] for line in tables] == [
        "ontrack.campuses", "ontrack.tutorials", "ontrack.tasks"]
    assert tables[2].startswith("ontrack.tasks: FAILED, rolled back (keeps its last load): "
                                "reading from the OnTrack")
    assert rows(warehouse_path, "SELECT count(*) FROM ontrack_raw.tasks") == [(5,)]
    assert rows(warehouse_path, "SELECT code FROM ontrack_raw.tutorials ORDER BY id") == [
        ("LA1-01",), ("LA1-02",)]


def test_a_source_that_goes_away_stops_the_extract(source_url, warehouse_path):
    """Not a table's failure: every next table would fail the same way, so the extract stops
    with the connection's own one line; what loaded before stays."""
    tiny_ontrack(source_url)
    creds = ConnectionStringCredentials(source_url)
    lines: list[str] = []

    def log(line: str) -> None:  # the whole database goes after the first table loaded
        lines.append(line)
        if line.startswith("ontrack.campuses"):
            if is_pg(source_url):
                admin = source_url.rsplit("/", 1)[0].replace("+psycopg", "") + "/postgres"
                with psycopg.connect(admin, autocommit=True) as con:
                    con.execute(f"DROP DATABASE {creds.database} WITH (FORCE)")
            else:
                mysql_admin().cursor().execute(f"DROP DATABASE {creds.database}")

    with pytest.raises(ThothError, match=f'^cannot connect to the OnTrack .* "{creds.database}"'):
        extract(creds, warehouse_path, guard=governance, log=log)
    assert [line.split(":")[0] for line in lines if line.startswith("ontrack.")] == [
        "ontrack.campuses"]
    assert rows(warehouse_path, "SELECT count(*) FROM ontrack_raw.campuses") == [(2,)]
