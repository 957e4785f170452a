"""The spark engine end to end: the demo's raw data as a lake, built by Spark through `thoth
transform` (WAREHOUSE__ENGINE=spark), gives the marts DuckDB builds, every row and value; `thoth
check` passes on them; one incremental cycle (more data landed and loaded, the lake rewritten)
agrees again; a Spark failure is one line and leaves the marts as they were."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from thoth.cli import main
from thoth.core.lake import parse_iso
from thoth.core.storage import open_target
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


@pytest.fixture
def spark_env(spark, demo_warehouse: Path, tmp_path: Path, monkeypatch) -> Path:
    """The demo warehouse (DuckDB-built marts), its lake, and the spark engine configured."""
    monkeypatch.setenv("WAREHOUSE__ENGINE", "spark")
    monkeypatch.setenv("LAKE__BUCKET_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(tmp_path / "publish"))
    lake(demo_warehouse, tmp_path / "lake")
    return demo_warehouse


def test_spark_builds_the_demo_marts_duckdb_builds(spark_env: Path, demo_dir: Path, tmp_path,
                                                   capsys):
    assert main(["transform"]) == 0
    out = capsys.readouterr().out
    assert "building on Spark (local[2])" in out
    assert "marts.kpi_comment_activity: built on spark" in out
    compared = assert_same_marts(demo_dir / "warehouse.duckdb", spark_env)
    assert compared > 1000
    with duckdb.connect(str(spark_env), read_only=True) as con:
        engines = con.execute(
            "SELECT engine, snapshot_at, count(*) FROM platform.model_builds "
            "WHERE engine = 'spark' GROUP BY ALL").fetchall()
        keys = con.execute("SELECT count(*), count(DISTINCT user_key) FROM "
                           "staging.stg_ontrack__user_keys").fetchone()
    manifest = json.loads((tmp_path / "lake" / "_manifest.json").read_text())
    snapshot = parse_iso(manifest["snapshot_at"])
    assert [(e, s) for e, s, _ in engines] == [("spark", snapshot)]
    assert keys[0] == keys[1] > 0
    # The data tests and the publish step read the Spark-built marts unchanged.
    assert main(["check"]) == 0
    assert main(["publish"]) == 0
    assert any((tmp_path / "publish" / "kpi").iterdir())


def test_an_incremental_cycle_agrees_again(spark_env: Path, tmp_path: Path):
    from pipelines.landing.config import LandingConfig
    from pipelines.landing.extract import extract as extract_landing
    from thoth.demo.landing_samples import write_samples

    # Load more: the week after the demo's, landed and ingested as the hourly job does.
    landing = tmp_path / "landing"
    write_samples(landing, days=7, end=date.today() + timedelta(days=7))
    with duckdb.connect(str(spark_env), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM landing_raw.splashkit_usage").fetchone()[0]
    extract_landing(LandingConfig(str(landing)), spark_env, log=lambda line: None)
    with duckdb.connect(str(spark_env), read_only=True) as con:
        after = con.execute("SELECT count(*) FROM landing_raw.splashkit_usage").fetchone()[0]
    assert after > before
    lake(spark_env, tmp_path / "lake")
    assert main(["transform"]) == 0
    duck = tmp_path / "duck.duckdb"
    shutil.copy(spark_env, duck)
    build(duck, log=lambda line: None)
    assert assert_same_marts(duck, spark_env) > 1000


def test_a_spark_failure_is_one_line_and_keeps_the_marts(spark_env: Path, tmp_path: Path,
                                                         capsys):
    root = tmp_path / "lake"
    manifest = json.loads((root / "_manifest.json").read_text())
    # A lake whose units.code is said to be a number: Spark's cast of 'SIT101' fails as the
    # first model reading it runs.
    manifest["tables"]["ontrack_raw.units"]["columns"]["code"] = "INTEGER"
    (root / "_manifest.json").write_text(json.dumps(manifest))
    before = marts(spark_env)
    assert main(["transform"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("thoth: error: model staging.stg_ontrack__units failed on Spark: ")
    assert "CAST" in err[0]
    assert marts(spark_env) == before

    # Files the manifest names gone: the lake does not read, said in one line.
    for table in manifest["tables"].values():
        for relative in table["files"]:
            (root / relative).unlink()
    assert main(["transform"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not read on Spark: [PATH_NOT_FOUND]" in err[0]
    assert marts(spark_env) == before
