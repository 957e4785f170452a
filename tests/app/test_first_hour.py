"""The first hour: default places beside the warehouse (never the working directory), the
commands the demo ends with work on its warehouse, the pseudonym key cannot change silently, and
`thoth status` says what is not extracted yet."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY
from publish_helpers import copy_warehouse

from thoth.cli import main
from thoth.core import config
from thoth.core.platform import keys
from thoth.core.storage import (
    configured_archive,
    configured_lake,
    configured_products,
    configured_publish,
)
from thoth.demo import DEMO_PSEUDONYM_KEY, follow_up


@pytest.fixture
def warehouse(template, tmp_path, monkeypatch) -> Path:
    (tmp_path / "wh").mkdir()
    path = copy_warehouse(template, tmp_path / "wh" / "warehouse.duckdb")
    monkeypatch.setenv("WAREHOUSE__PATH", str(path))
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    for key in ("SOURCES__GA4__PROPERTY_IDS", "LANDING__BUCKET_URL",
                "SOURCES__ONTRACK_METRICS__SCRAPE_URLS"):
        monkeypatch.delenv(key, raising=False)
    return path


def test_default_places_are_beside_the_warehouse_wherever_the_command_runs(tmp_path,
                                                                           monkeypatch):
    for key in ("PUBLISH__BUCKET_URL", "PRODUCTS__BUCKET_URL", "RETENTION__ARCHIVE_URL",
                "LAKE__BUCKET_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WAREHOUSE__PATH", str(tmp_path / "srv" / "warehouse.duckdb"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert [t.url for t in (configured_publish(), configured_products(), configured_archive(),
                            configured_lake())] == [
        str(tmp_path / "srv" / name) for name in ("publish", "products", "archive", "lake")]
    # A relative warehouse: its folders beside it, as absolute paths.
    monkeypatch.setenv("WAREHOUSE__PATH", "data/warehouse.duckdb")
    assert configured_archive().url == str(elsewhere / "data" / "archive")
    monkeypatch.setenv("RETENTION__ARCHIVE_URL", "gs://bucket/archive")  # set: as set
    assert configured_archive().url == "gs://bucket/archive"


def test_the_demo_ends_with_the_commands_that_work_on_its_warehouse(warehouse, monkeypatch,
                                                                    capsys):
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", DEMO_PSEUDONYM_KEY)
    lines = follow_up(warehouse)
    (export,) = [line for line in lines if "export " in line]
    env = dict(item.split("=", 1) for item in shlex.split(export)[1:])
    assert env == {"WAREHOUSE__PATH": str(warehouse),
                   "TRANSFORMS__PSEUDONYM_KEY": DEMO_PSEUDONYM_KEY}
    monkeypatch.setenv("WAREHOUSE__PATH", env["WAREHOUSE__PATH"])
    monkeypatch.delenv("PUBLISH__BUCKET_URL", raising=False)
    assert main(["status"]) == 0
    assert capsys.readouterr().out.startswith(f"warehouse: {warehouse}\n")
    # A key someone set is never printed.
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", "a-real-secret-key")
    assert "a-real-secret-key" not in "\n".join(follow_up(warehouse))
    assert "TRANSFORMS__PSEUDONYM_KEY=<the key you set>" in "\n".join(follow_up(warehouse))


def test_another_pseudonym_key_is_refused_in_one_line(warehouse, monkeypatch, capsys):
    assert main(["transform"]) == 0  # the first build records the key's fingerprint
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ((fingerprint,),) = con.execute("SELECT fingerprint FROM platform.pseudonym_key"
                                        ).fetchall()
        built = con.execute("SELECT max(built_at) FROM platform.model_builds").fetchone()
    assert fingerprint == keys.fingerprint(PSEUDONYM_KEY.encode())
    assert PSEUDONYM_KEY not in fingerprint
    capsys.readouterr()
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", "another-key")
    assert main(["transform"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "thoth: error: TRANSFORMS__PSEUDONYM_KEY is not the key this warehouse's pseudonyms were "
        f"built with (its fingerprint is {keys.fingerprint(b'another-key')}, the warehouse's "
        f"{fingerprint}): set the key it was built with")
    assert "another-key" not in err
    assert main(["erase-user", "11"]) == 1  # an erasure would record hashes matching nobody
    assert "is not the key this warehouse's pseudonyms" in capsys.readouterr().err
    with duckdb.connect(str(warehouse), read_only=True) as con:  # nothing was rebuilt
        assert con.execute("SELECT max(built_at) FROM platform.model_builds").fetchone() == built
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    assert main(["transform"]) == 0


def test_status_says_not_extracted_yet(warehouse, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LANDING__BUCKET_URL", str(tmp_path / "landing"))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "never" not in out
    # The template holds landing_raw tables: GA4 is not configured here, so nothing to say.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM platform.load_state WHERE source = 'landing'")
    assert main(["status"]) == 0
    assert "landing: not extracted yet (`thoth extract landing`)" in capsys.readouterr().out
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    monkeypatch.setenv("WAREHOUSE__PATH", str(empty))
    assert main(["status"]) == 0
    assert capsys.readouterr().out.startswith(f"{empty}: not extracted yet; run ")
    assert config.beside_warehouse("x") == str(tmp_path / "x")


def test_retention_says_what_it_archived_and_where(warehouse, monkeypatch, capsys):
    """Into archive/ beside the warehouse (not the working directory), each archive named."""
    for key in ("RETENTION__ARCHIVE_URL", "RETENTION__POLICIES_FILE", "RETENTION__ENDPOINT_URL",
                "PUBLISH__ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    assert main(["retention", "--apply"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    archive = warehouse.parent / "archive"
    assert re.fullmatch(rf"retention: [1-9][\d,]* rows of [1-9] tables archived under "
                        rf"{re.escape(str(archive))}(; ontrack_raw\.\w+ → "
                        rf"{re.escape(str(archive))}/\d{{8}}T\d{{6}}Z-ontrack_raw\.\w+)+", last)
    named = re.findall(rf"→ {re.escape(str(archive))}/([^;]+)", last)
    assert sorted(named) == sorted(p.name for p in archive.iterdir())
