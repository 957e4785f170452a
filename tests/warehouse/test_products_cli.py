"""The products through the commands: `thoth publish` and `thoth run` write them to
PRODUCTS__BUCKET_URL beside the Looker publish, never into it; a products target that is the
Looker one is refused before anything is written; `thoth erase-user` rewrites them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from clock import NOW
from kpi_fixtures import PSEUDONYM_KEY
from products_fixtures import AS_OF, build_warehouse, insights_raw, project, student_user
from publish_helpers import copy_warehouse

from thoth.cli import main


def _weeks_to_now() -> timedelta:
    """A whole number of weeks that moves the fixture's AS_OF (a Monday) into the suite's clock's
    week, so its teaching period is current then."""
    return timedelta(weeks=(NOW.replace(tzinfo=None) - AS_OF).days // 7)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_warehouse(insights_raw(shift=_weeks_to_now()),
                           tmp_path_factory.mktemp("cli") / "w.duckdb", shift=_weeks_to_now())


@pytest.fixture
def env(template, tmp_path, monkeypatch, clock) -> dict[str, Path]:
    paths = {"warehouse": copy_warehouse(template, tmp_path / "warehouse.duckdb"),
             "looker": tmp_path / "publish", "products": tmp_path / "products"}
    for key, value in {"WAREHOUSE__PATH": paths["warehouse"],
                       "PUBLISH__BUCKET_URL": paths["looker"],
                       "PRODUCTS__BUCKET_URL": paths["products"],
                       "TRANSFORMS__PSEUDONYM_KEY": PSEUDONYM_KEY,
                       "RETENTION__ARCHIVE_URL": tmp_path / "archive",
                       "RUN__LOCK_FILE": tmp_path / "run.lock"}.items():
        monkeypatch.setenv(key, str(value))
    for key in ("SOURCES__ONTRACK__CREDENTIALS", "SOURCES__GA4__PROPERTY_IDS",
                "LANDING__BUCKET_URL", "PUBLISH__ENDPOINT_URL", "PRODUCTS__ENDPOINT_URL",
                "ALERTS__COMMAND", "ALERTS__WEBHOOK_URL"):
        monkeypatch.delenv(key, raising=False)
    return paths


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(errors="replace")
            for p in root.rglob("*") if p.is_file()}


def test_publish_writes_the_products_beside_never_into_the_looker_target(env, capsys):
    assert main(["publish"]) == 0
    out = capsys.readouterr().out
    assert f"products: 15 files to {env['products']}" in out
    products, looker = _files(env["products"]), _files(env["looker"])
    assert "ontrack/v1/attention/1.json" in products and "ontrack/v1/units/9.json" in products
    assert not any(p.startswith(("ontrack", "splashkit", "schemas")) for p in looker)
    people = [f'"project_id": {project(u, 1)}' for u in (1, 2, 3)]
    assert not any(x in text for text in looker.values() for x in people + ["attention"])
    assert any(people[0] in text for text in products.values())


def test_a_products_target_inside_the_looker_target_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("PRODUCTS__BUCKET_URL", str(env["looker"] / "products"))
    assert main(["publish"]) == 1
    err = capsys.readouterr().err
    assert "must never reach the Looker target" in err and err.count("\n") == 1
    assert not env["looker"].exists() and not env["products"].exists()  # nothing written


def test_run_publishes_the_products_after_a_passing_check(env):
    assert main(["run", "--skip-extract"]) == 0
    assert json.loads((env["products"] / "_control/manifest.json").read_text())[
        "data_tests"]["passed"] is True
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        (steps,) = con.execute("SELECT CAST(steps AS VARCHAR) FROM platform.runs").fetchone()
    assert "products" in steps


def test_erase_user_cli_rewrites_the_attention_file(env, capsys):
    assert main(["publish"]) == 0
    path = env["products"] / "ontrack/v1/attention/2.json"
    assert project(2, 3) in [p["project_id"] for p in json.loads(path.read_text())["projects"]]
    assert main(["erase-user", str(student_user(2, 3))]) == 0
    assert "products" in capsys.readouterr().out
    assert project(2, 3) not in [p["project_id"]
                                 for p in json.loads(path.read_text())["projects"]]
