"""Helpers for the OnTrack pipeline tests: run the CLI, change the source, compare both sides."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pymysql
from dlt.common.configuration.specs import ConnectionStringCredentials
from repo import ROOT

from thoth.cli import main

SECRET_TABLES = {"auth_tokens"}
SECRET_COLUMNS = {
    "users": {"encrypted_password", "reset_password_token", "unlock_token"},
    "webcals": {"guid"},
}


def thoth(monkeypatch, capsys, url: str | None, warehouse: Path, *args: str):
    """Run `thoth ARGS` in-process with the given source and warehouse; (exit code, out, err)."""
    if url is None:
        monkeypatch.delenv("SOURCES__ONTRACK__CREDENTIALS", raising=False)
    else:
        monkeypatch.setenv("SOURCES__ONTRACK__CREDENTIALS", url)
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def thoth_process(url: str, warehouse: Path, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "SOURCES__ONTRACK__CREDENTIALS": url, "WAREHOUSE__PATH": str(warehouse)}
    return subprocess.Popen(
        [sys.executable, "-m", "thoth.cli", *args], cwd=ROOT, env=env, text=True, **popen
    )


def connect(url: str):
    """A DB-API connection (autocommit) to the source database at a SQLAlchemy URL."""
    c = ConnectionStringCredentials(url)
    if c.drivername.startswith("postgresql"):
        return psycopg.connect(
            host=c.host, port=c.port, user=c.username, password=c.password or None,
            dbname=c.database, autocommit=True,
        )
    return pymysql.connect(
        host=c.host, port=c.port, user=c.username, password=c.password or "",
        database=c.database, autocommit=True,
    )


def is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def execute(url: str, *statements: str, params: tuple = ()) -> None:
    con = connect(url)
    try:
        cur = con.cursor()
        for sql in statements:
            cur.execute(sql, params or None)
    finally:
        con.close()


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    con = connect(url)
    try:
        cur = con.cursor()
        cur.execute(sql, params or None)
        return list(cur.fetchall())
    finally:
        con.close()


def source_tables(url: str) -> list[str]:
    if is_pg(url):
        rows = query(url, "SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
    else:
        rows = query(url, "SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")
    return sorted(r[0] for r in rows)


def _norm(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | int | str) or value is None:
        return value
    return str(value)


def warehouse_tables(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT table_name FROM duckdb_tables() "
                           "WHERE schema_name = 'ontrack_raw' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def warehouse_columns(warehouse: Path, table: str) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'ontrack_raw' AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall())


def warehouse_rows(warehouse: Path, table: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f'SELECT {cols} FROM ontrack_raw."{table}" ORDER BY id').fetchall()
    return [tuple(map(_norm, r)) for r in rows]


def assert_mirrors_source(url: str, warehouse: Path) -> None:
    """Every non-secret source table is in the warehouse with exactly the source's rows."""
    expected = [t for t in source_tables(url) if t not in SECRET_TABLES]
    assert warehouse_tables(warehouse) == expected
    q = '"' if is_pg(url) else "`"
    for table in expected:
        columns = list(warehouse_columns(warehouse, table))
        assert not set(columns) & SECRET_COLUMNS.get(table, set()), table
        cols = ", ".join(f"{q}{c}{q}" for c in columns)
        source = [tuple(map(_norm, r))
                  for r in query(url, f"SELECT {cols} FROM {q}{table}{q} ORDER BY id")]
        assert warehouse_rows(warehouse, table, columns) == source, f"{table} differs"


def load_state(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, mode, rows_loaded, rows_deleted, rows_total, cursor_value "
            "FROM platform.load_state WHERE source = 'ontrack'"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}
