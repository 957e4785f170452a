"""Reproducible builds: "now" in a model is the data's snapshot time (the last load of its
sources), so a rebuild at a later hour with nothing new loaded gives the same marts, row for row,
and the next publish writes nothing new."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from publish_helpers import copy_warehouse, target_for

from thoth.core.platform import builds
from transforms.build import build
from transforms.checks import run_checks
from warehouse.products import publish_products
from warehouse.publish import publish


def _marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart, every row, in a stable order."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall()]
        return {n: con.execute(f"SELECT * FROM marts.{n} ORDER BY ALL").fetchall() for n in names}


def _builds(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT build_id, min(built_at), min(snapshot_at), min(engine) FROM "
                           "platform.model_builds GROUP BY build_id ORDER BY 2").fetchall()


def test_a_rebuild_with_nothing_loaded_changes_no_mart_and_publishes_nothing(
        template, tmp_path, monkeypatch):
    warehouse = copy_warehouse(template, tmp_path / "warehouse.duckdb")
    looker, products = target_for("local", tmp_path, None, None), \
        target_for("local", tmp_path / "products", None, None)
    first = publish(warehouse, looker, dataset="thoth_kpi", log=lambda line: None)
    publish_products(warehouse, products, looker=looker, log=lambda line: None)
    marts = _marts(warehouse)
    assert marts["kpi_feedback_backlog"], "the fixture must have a backlog to measure"
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", "test-pseudonym-key")

    # Later (every build's wall clock differs), nothing loaded in between.
    build(warehouse, pseudonym_key=b"test-pseudonym-key", log=lambda line: None)
    assert run_checks(warehouse, log=lambda line: None)
    assert _marts(warehouse) == marts  # every mart, row for row, value for value
    (_, built_1, snapshot_1, engine_1), (_, built_2, snapshot_2, engine_2) = _builds(warehouse)
    assert built_2 > built_1 and snapshot_1 == snapshot_2 and engine_1 == engine_2 == "duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # The snapshot is the newest load of any source: the backlog's "now" (OnTrack's).
        assert snapshot_2 == con.execute(
            "SELECT max(loaded_at) FROM platform.load_state").fetchone()[0]
        assert con.execute("SELECT DISTINCT as_of FROM marts.kpi_feedback_backlog").fetchall() \
            == con.execute("SELECT max(loaded_at) FROM platform.load_state "
                           "WHERE source = 'ontrack'").fetchall()
        assert builds.last_built_at(con) == built_2

    second = publish(warehouse, looker, dataset="thoth_kpi", log=lambda line: None)
    made = publish_products(warehouse, products, looker=looker, log=lambda line: None)
    assert (second.uploaded, second.generated, second.deleted) == ([], [], [])
    assert len(second.unchanged) == len(first.uploaded) > 0
    assert (made.written, made.removed) == ([], [])
    # The products' "today" is the marts' snapshot too, not the wall clock: a rebuild the next
    # day with nothing loaded rewrites no attention file either.
    manifest = json.loads(products.read("_control/manifest.json"))
    assert manifest["as_of"] == snapshot_2.strftime("%Y-%m-%dT%H:%M:%SZ")
