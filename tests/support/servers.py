"""The database servers the tests use: the local ones (SERVICES.md) unless THOTH_TEST_* say
otherwise."""

from __future__ import annotations

import os

import pymysql

PG_ADMIN_URL = os.environ.get("THOTH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST = os.environ.get("THOTH_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("THOTH_TEST_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("THOTH_TEST_MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("THOTH_TEST_MYSQL_PASSWORD", "")


def mysql_admin() -> pymysql.connections.Connection:
    return pymysql.connect(
        host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, password=MYSQL_PASSWORD,
        autocommit=True, connect_timeout=3,
    )
