"""`thoth erase-user` reaches the data products: the person's project leaves the attention file at
once (read back from a directory and from the GCS emulator), the audit row lists the files
rewritten, and the next publish leaves them out of everything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY
from products_fixtures import AS_OF, build_warehouse, insights_raw, project, student_user
from publish_helpers import copy_warehouse

from thoth.core.storage import Target, open_target
from transforms.build import build
from transforms.checks import run_checks
from warehouse.governance.erasure import erase_user
from warehouse.governance.products_erasure import ProductErasure
from warehouse.products import publish_products, store

UNIT, STUDENT = 2, 3
PERSON, THEIRS = student_user(UNIT, STUDENT), project(UNIT, STUDENT)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_warehouse(insights_raw(), tmp_path_factory.mktemp("erase") / "w.duckdb")


@pytest.fixture(params=["directory", "gcs"])
def target(request, tmp_path) -> Target:
    if request.param == "directory":
        return open_target(str(tmp_path / "products"))
    bucket = request.getfixturevalue("gcs_bucket")
    return open_target(f"{bucket}/products", endpoint_url=request.getfixturevalue("gcs_emulator"))


def _projects(target: Target, unit: int) -> list[int]:
    return [p["project_id"] for p in json.loads(target.read(
        f"ontrack/v1/attention/{unit}.json"))["projects"]]


def test_erase_user_then_publish_removes_the_person(template, tmp_path, target, monkeypatch):
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    warehouse = copy_warehouse(template, tmp_path / "w.duckdb")
    publish_products(warehouse, target, as_of=AS_OF, log=lambda line: None)
    assert THEIRS in _projects(target, UNIT)
    others = _projects(target, 1)
    lines: list[str] = []

    erase_user(warehouse, PERSON, pseudonym_key=PSEUDONYM_KEY.encode(),
               steps=[ProductErasure(target)], log=lines.append)

    # At once: read back from the target, the file holds everyone but them, and still
    # validates; the manifest names the new bytes; other units' files are untouched.
    target.fs.invalidate_cache()
    doc = json.loads(target.read(f"ontrack/v1/attention/{UNIT}.json"))
    assert THEIRS not in [p["project_id"] for p in doc["projects"]]
    assert len(doc["projects"]) == 6 and doc["flagged"] == sum(p["flagged"]
                                                                 for p in doc["projects"])
    store.validate(doc, "schemas/ontrack/v1/attention.schema.json", "erased")
    manifest = json.loads(target.read(store.MANIFEST))
    entry = manifest["files"][f"ontrack/v1/attention/{UNIT}.json"]
    assert entry["sha256"] == store.ProductFile("", target.read(
        f"ontrack/v1/attention/{UNIT}.json"), "", "personal", "").sha256
    assert _projects(target, 1) == others
    assert any("1 projects removed" in line for line in lines)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (details,) = con.execute("SELECT CAST(details AS VARCHAR) FROM platform.audit "
                                 "WHERE action = 'erase-user'").fetchone()
    assert json.loads(details)["products"] == [{
        "path": f"ontrack/v1/attention/{UNIT}.json", "projects_removed": 1, "projects_left": 6}]
    assert str(PERSON) not in details and not re.search(rf"\b{THEIRS}\b", details)

    # The next publish: rebuilt, checked, published — they are in no product file.
    build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
    assert run_checks(warehouse, log=print)
    report = publish_products(warehouse, target, as_of=AS_OF, log=lambda line: None)
    assert f"ontrack/v1/units/{UNIT}.json" in report.written  # the aggregates lost a student
    assert THEIRS not in _projects(target, UNIT)
    unit = json.loads(target.read(f"ontrack/v1/units/{UNIT}.json"))
    assert unit["enrolled_students"]["value"] == 6


def test_an_erasure_with_no_product_published_rewrites_nothing(template, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    warehouse = copy_warehouse(template, tmp_path / "w.duckdb")
    target = open_target(str(tmp_path / "empty"))
    erase_user(warehouse, PERSON, pseudonym_key=PSEUDONYM_KEY.encode(),
               steps=[ProductErasure(target)], log=lambda line: None)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (details,) = con.execute("SELECT CAST(details AS VARCHAR) FROM platform.audit "
                                 "WHERE action = 'erase-user'").fetchone()
    assert json.loads(details)["products"] == []
    assert target.listing() == {}
