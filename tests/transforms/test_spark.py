"""The spark engine end to end: the demo's raw data as a lake, after one incremental cycle (more
data landed and loaded, the lake written again), built by Spark through `thoth transform`
(WAREHOUSE__ENGINE=spark), gives the marts DuckDB builds from the same raw data, every row and
value; `thoth check` and `thoth publish` pass on them; a Spark failure is one line and leaves the
marts as they were.

One Spark build serves the module (a build of every model is most of these tests' time): the
tests read it, and the failing one works on its own copy."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from governance_fixtures import DEMO_KEY

from pipelines.landing.config import LandingConfig
from pipelines.landing.extract import extract as extract_landing
from thoth.cli import main
from thoth.core.lake import parse_iso
from thoth.core.storage import open_target
from thoth.demo.landing_samples import write_samples
from transforms.build import build
from warehouse.lake import write_lake

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def lake(warehouse: Path, root: Path) -> None:
    """`thoth lake`: the warehouse's raw tables and platform.load_state as Parquet at `root`."""
    write_lake(warehouse, open_target(str(root), section="lake"), log=lambda line: None)


def marts(path: Path) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """Every marts table: its (column, type) list and its rows, sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "ORDER BY 1").fetchall()]
        out = {}
        for name in names:
            columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE marts.{name}").fetchall()]
            rows = con.execute(f"SELECT * FROM marts.{name}").fetchall()
            out[name] = (columns, sorted(rows, key=repr))
        return out


def assert_same_marts(duck: Path, spark: Path) -> int:
    expected, got = marts(duck), marts(spark)
    assert sorted(got) == sorted(expected)
    compared = 0
    for name, (columns, rows) in expected.items():
        assert got[name][0] == columns, name
        assert len(got[name][1]) == len(rows), name
        for want, have in zip(rows, got[name][1], strict=True):
            for w, h in zip(want, have, strict=True):
                if isinstance(w, float) and isinstance(h, float):
                    assert math.isclose(w, h, rel_tol=0, abs_tol=1e-9), (name, want, have)
                else:
                    assert w == h, (name, want, have)
                compared += 1
    return compared


@dataclass(frozen=True)
class Built:
    warehouse: Path  # its marts built by Spark
    duck: Path  # the same raw data, its marts built by DuckDB
    lake: Path
    publish: Path
    printed: str  # by `thoth transform`
    landing_rows: tuple[int, int]  # landing_raw.splashkit_usage before and after the cycle


def _splashkit_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT count(*) FROM landing_raw.splashkit_usage").fetchone()[0]


@pytest.fixture(scope="module")
def built(spark, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """A copy of the demo warehouse with the spark engine configured, its lake written; then the
    week after the demo's landed and ingested as the hourly job does, and the lake written again
    (only what changed); then one `thoth transform` on Spark. Beside it, DuckDB's build of a copy
    of the same raw data."""
    root = tmp_path_factory.mktemp("spark")
    warehouse, lake_root = root / "warehouse.duckdb", root / "lake"
    shutil.copy(demo_dir / "warehouse.duckdb", warehouse)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE__PATH", str(warehouse))
        env.setenv("TRANSFORMS__PSEUDONYM_KEY", DEMO_KEY)
        env.setenv("RUN__LOCK_FILE", str(root / "run.lock"))
        env.setenv("WAREHOUSE__ENGINE", "spark")
        env.setenv("LAKE__BUCKET_URL", str(lake_root))
        env.setenv("PUBLISH__BUCKET_URL", str(root / "publish"))
        lake(warehouse, lake_root)
        landing = root / "landing"
        write_samples(landing, days=7, end=date.today() + timedelta(days=7))
        before = _splashkit_rows(warehouse)
        extract_landing(LandingConfig(str(landing)), warehouse, log=lambda line: None)
        after = _splashkit_rows(warehouse)
        lake(warehouse, lake_root)
        duck = root / "duck.duckdb"
        shutil.copy(warehouse, duck)
        build(duck, pseudonym_key=DEMO_KEY.encode(), log=lambda line: None)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["transform"]) == 0
        yield Built(warehouse, duck, lake_root, root / "publish", printed.getvalue(),
                    (before, after))


def test_spark_builds_the_marts_duckdb_builds_after_an_incremental_cycle(built: Built):
    assert "building on Spark (local[2])" in built.printed
    assert "marts.kpi_comment_activity: built on spark" in built.printed
    before, after = built.landing_rows
    assert after > before  # the cycle loaded more, and the lake was written again with it
    assert assert_same_marts(built.duck, built.warehouse) > 1000
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        engines = con.execute(
            "SELECT engine, snapshot_at, count(*) FROM platform.model_builds "
            "WHERE engine = 'spark' GROUP BY ALL").fetchall()
        keys = con.execute("SELECT count(*), count(DISTINCT user_key) FROM "
                           "staging.stg_ontrack__user_keys").fetchone()
    manifest = json.loads((built.lake / "_manifest.json").read_text())
    snapshot = parse_iso(manifest["snapshot_at"])
    assert [(e, s) for e, s, _ in engines] == [("spark", snapshot)]
    assert keys[0] == keys[1] > 0
    # The data tests and the publish step read the Spark-built marts unchanged.
    assert main(["check"]) == 0
    assert main(["publish"]) == 0
    assert any((built.publish / "kpi").iterdir())


def test_a_spark_failure_is_one_line_and_keeps_the_marts(built: Built, tmp_path: Path,
                                                         monkeypatch, capsys):
    root, warehouse = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    shutil.copytree(built.lake, root)
    shutil.copy(built.warehouse, warehouse)
    monkeypatch.setenv("LAKE__BUCKET_URL", str(root))
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    manifest = json.loads((root / "_manifest.json").read_text())
    # A lake whose events.event_name is said to be a number: Spark's cast of 'page_view' fails
    # as the first model reading it runs (the first model built, so the failure costs one).
    manifest["tables"]["ga4_raw.events"]["columns"]["event_name"] = "INTEGER"
    (root / "_manifest.json").write_text(json.dumps(manifest))
    before = marts(warehouse)
    assert main(["transform"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("thoth: error: model staging.stg_ga4__events failed on Spark: ")
    assert "CAST" in err[0]
    assert marts(warehouse) == before

    # Files the manifest names gone: the lake does not read, said in one line.
    for table in manifest["tables"].values():
        for relative in table["files"]:
            (root / relative).unlink()
    assert main(["transform"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not read on Spark: [PATH_NOT_FOUND]" in err[0]
    assert marts(warehouse) == before
