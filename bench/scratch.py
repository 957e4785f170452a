"""The benchmarks' scratch PostgreSQL database and working folder, made for one run and removed
after it, whatever happens in between."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ADMIN = os.environ.get("THOTH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch(prefix: str, template: str | None = None) -> Iterator[tuple[str, Path]]:
    """(the new database's postgresql:// URL, an empty working folder). `template`: a database
    to copy (one generated before at the same scale and seed), else the database is empty."""
    name = f"thoth_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    info = psycopg.conninfo.conninfo_to_dict(ADMIN)
    user, host, port = info.get("user", "postgres"), info.get("host"), info.get("port", 5432)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield f"postgresql://{user}@{host}:{port}/{name}", work
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
