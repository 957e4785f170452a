"""The data products (warehouse/products) on hand-built warehouses, to a directory and to the GCS
emulator: every file valid against its schema, numbers equal to the marts, small groups withheld,
nothing personal outside the attention files, those never in the Looker target, and a publish
with nothing changed writing no product file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest
from products_fixtures import (
    AS_OF,
    FIRST,
    LAST,
    UNITS,
    build_warehouse,
    insights_raw,
    project,
    student_user,
)
from publish_helpers import copy_warehouse, generations
from repo import ROOT

from thoth.core.classification import product_class
from thoth.core.errors import ThothError
from thoth.core.storage import Target, open_target
from warehouse.products import SCHEMA_FILES, check_targets, publish_products, store

SCHEMAS = ROOT / "warehouse" / "products" / "schemas"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_warehouse(insights_raw(), tmp_path_factory.mktemp("products") / "w.duckdb")


@pytest.fixture
def warehouse(template, tmp_path) -> Path:
    return copy_warehouse(template, tmp_path / "warehouse.duckdb")


@pytest.fixture(params=["directory", "gcs"])
def target(request, tmp_path) -> Target:
    if request.param == "directory":
        return open_target(str(tmp_path / "products"))
    bucket = request.getfixturevalue("gcs_bucket")
    return open_target(f"{bucket}/products", endpoint_url=request.getfixturevalue("gcs_emulator"))


def _publish(warehouse: Path, target: Target, **kw):
    return publish_products(warehouse, target, as_of=AS_OF, log=lambda line: None, **kw)


def _read(target: Target, path: str) -> dict:
    return json.loads(target.read(path))


def _validator(schema_path: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_path.removeprefix("schemas/")).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_every_file_validates_against_its_published_schema(warehouse, target):
    report = _publish(warehouse, target)
    manifest = _read(target, store.MANIFEST)
    files = manifest["files"]
    paths = sorted(p for p in files if not p.startswith("schemas/"))
    # Units 1–4 of 2024 T1 (current), 9 of 2023 T3 (previous); 8 of 2022 is too old.
    assert paths == [
        "ontrack/v1/attention/1.json", "ontrack/v1/attention/2.json",
        "ontrack/v1/attention/3.json", "ontrack/v1/attention/4.json",
        "ontrack/v1/units/1.json", "ontrack/v1/units/2.json", "ontrack/v1/units/3.json",
        "ontrack/v1/units/4.json", "ontrack/v1/units/9.json", "ontrack/v1/units/index.json",
        "splashkit/v1/usage.json"]
    assert sorted(p for p in files if p.startswith("schemas/")) == SCHEMA_FILES
    for path, entry in files.items():
        data = target.read(path)
        assert store.ProductFile(path, data, "", "public", "").sha256 == entry["sha256"]
        published_schema = json.loads(target.read(entry["schema"]))
        assert published_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        if not path.startswith("schemas/"):
            errors = list(_validator(entry["schema"]).iter_errors(json.loads(data)))
            assert errors == [], (path, errors[:1])
    assert sorted(report.written) == sorted(files)  # a first publish writes everything
    index = _read(target, "ontrack/v1/units/index.json")
    assert [(u["unit_id"], u["period"]) for u in index["units"]] == [
        (1, "current"), (2, "current"), (3, "current"), (4, "current"), (9, "previous")]


def test_a_broken_document_is_refused_by_its_schema():
    with pytest.raises(ThothError, match=r"does not match .*unit.schema.json at unit: "):
        store.validate({"product": "ontrack-unit-insights", "version": 1, "unit": {},
                        "min_students": 5, "freshness": {}, "enrolled_students": {
                            "value": 1, "students": 6, "withheld": None},
                        "backlog": {}, "weeks": []},
                       "schemas/ontrack/v1/unit.schema.json", "x")


def _mart(con, sql: str, *params) -> dict:
    return {tuple(r[:-1]): r[-1] for r in con.execute(sql, list(params)).fetchall()}


def test_numbers_equal_the_marts_and_small_groups_are_withheld(warehouse, tmp_path):
    target = open_target(str(tmp_path / "products"))
    _publish(warehouse, target)
    con = duckdb.connect(str(warehouse), read_only=True)
    # Per unit and target week, from the per-task-definition marts.
    by_target_week = """
        SELECT s.unit_id, CAST(date_trunc('week', td.target_date) AS DATE), {expr}
        FROM marts.{mart} AS s
        JOIN intermediate.int_task_definitions AS td USING (task_definition_id)
        GROUP BY ALL"""
    expected = {
        "submission_rate": _mart(con, by_target_week.format(
            mart="kpi_task_submission", expr="sum(submitted) / sum(expected)")),
        "on_time_rate": _mart(con, by_target_week.format(
            mart="kpi_on_time", expr="sum(on_time) / sum(on_time + late)")),
        "feedback_turnaround_median_hours": _mart(
            con, "SELECT unit_id, week_start, median_hours FROM marts.kpi_feedback_turnaround"),
        "feedback_turnaround_p90_hours": _mart(
            con, "SELECT unit_id, week_start, p90_hours FROM marts.kpi_feedback_turnaround"),
        "inactive_share": _mart(
            con, "SELECT a.unit_id, a.week_start, a.inactive_students / e.enrolled "
            "FROM marts.kpi_student_activity AS a JOIN marts.kpi_enrolment AS e USING (unit_id)"),
        # Not decomposable by week in their KPI marts: the product mart's, whose parts are
        # tied to kpi_extensions and kpi_feedback_read by its identity tests.
        "extension_response_median_hours": _mart(
            con, "SELECT unit_id, week_start, extension_median_response_hours "
            "FROM marts.product_unit_weeks"),
        "comments_read_rate": _mart(
            con, "SELECT unit_id, week_start, read_rate FROM marts.product_unit_weeks"),
    }
    backlog = _mart(con, "SELECT unit_id, sum(awaiting_feedback) FROM marts.kpi_feedback_backlog "
                    "GROUP BY ALL")
    con.close()
    compared: dict[str, int] = dict.fromkeys(expected, 0)
    withheld = 0
    for unit_id, (_, _, students) in UNITS.items():
        if unit_id == 8:
            continue
        doc = _read(target, f"ontrack/v1/units/{unit_id}.json")
        small = students < 5
        assert doc["enrolled_students"] == (
            {"value": None, "students": None, "withheld": "fewer than 5 students"} if small
            else {"value": students, "students": students, "withheld": None})
        assert doc["backlog"]["awaiting_feedback"]["value"] == (
            None if small else backlog.get((unit_id,), 0))
        assert doc["weeks"], unit_id
        for week in doc["weeks"]:
            key = (unit_id, date.fromisoformat(week["week_start"]))
            for name, metric in week["metrics"].items():
                if metric["withheld"] == "fewer than 5 students":
                    assert metric["value"] is None and metric["students"] is None
                    withheld += 1
                elif metric["withheld"] is None:
                    assert not small and metric["students"] >= 5
                    assert metric["value"] == pytest.approx(expected[name][key]), (name, key)
                    compared[name] += 1
    assert all(n >= 2 for n in compared.values()), compared
    assert withheld >= 14  # unit 4's every metric, and the weeks where few students count


def test_peers_place_each_unit_among_its_teaching_period(warehouse, tmp_path):
    target = open_target(str(tmp_path / "products"))
    _publish(warehouse, target)
    docs = {u: _read(target, f"ontrack/v1/units/{u}.json") for u in (1, 2, 3, 4)}
    week = docs[1]["weeks"][1]["week_start"]
    values = {}
    for unit_id, doc in docs.items():
        (found,) = [w for w in doc["weeks"] if w["week_start"] == week]
        values[unit_id] = found["metrics"]["submission_rate"]
    published = sorted(v["value"] for v in values.values() if v["value"] is not None)
    assert len(published) == 3 and values[4]["value"] is None  # unit 4 withheld, not a peer
    peers = values[1]["peers"]
    assert peers["units"] == 3 and peers["median"] == pytest.approx(published[1])
    assert peers["q1"] == pytest.approx((published[0] + published[1]) / 2)
    own = values[1]["value"]
    below = sum(v < own for v in published)
    equal = sum(v == own for v in published)
    assert peers["percentile"] == pytest.approx(round(100 * (below + equal / 2) / 3, 1))
    # The previous period has one unit: no peer statistics, and it says why.
    prev = _read(target, "ontrack/v1/units/9.json")["weeks"][0]["metrics"]["submission_rate"]
    assert prev["peers"]["median"] is None and prev["peers"]["withheld"].startswith("fewer than 3")


def test_nothing_personal_outside_the_attention_files(warehouse, tmp_path):
    target = open_target(str(tmp_path / "products"))
    _publish(warehouse, target)
    people = set()
    for unit_id, (_, _, students) in UNITS.items():
        for i in range(1, students + 1):
            uid = student_user(unit_id, i)
            people |= {f"{FIRST}{uid}", f"{FIRST.lower()}{uid}", f"77{uid:07d}", f"qv{uid}"}
    manifest = _read(target, store.MANIFEST)
    for path, entry in manifest["files"].items():
        if entry["product"] == "schemas":
            continue
        text = target.read(path).decode()
        assert LAST not in text and not any(p in text for p in people), path
        if entry["product"] == "ontrack-attention":
            assert entry["classification"] == "personal" and "project_id" in text
        else:
            assert entry["classification"] in ("internal", "public"), path
            assert "project_id" not in text and "user_id" not in text, path
            assert not any(f'"{project(u, 1)}"' in text for u in UNITS), path
    assert product_class("ontrack-attention") == "personal"
    assert product_class("ontrack-unit-insights") == "internal"
    assert product_class("splashkit-usage") == "public"


def test_a_publish_with_nothing_changed_writes_no_product_file(warehouse, target):
    first = _publish(warehouse, target)
    before = generations(target, "")
    second = _publish(warehouse, target)
    after = generations(target, "")
    assert second.written == [] and second.removed == []
    assert sorted(second.unchanged) == sorted(first.written)
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert [p.rsplit("/", 2)[-2:] for p in changed] == [["_control", "manifest.json"]]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT target, CAST(details AS VARCHAR) FROM platform.audit "
                           "WHERE action = 'products-publish'").fetchall()
    assert len(rows) == 1 and rows[0][0] == f"run {first.run_id}"  # the second wrote nothing
    written = json.loads(rows[0][1])["written"]
    assert {"path": "ontrack/v1/attention/1.json", "classification": "personal"} in written


def test_objects_are_json_with_a_short_cache_lifetime(warehouse, gcs_bucket, gcs_emulator):
    target = open_target(f"{gcs_bucket}/p", endpoint_url=gcs_emulator)
    _publish(warehouse, target)
    target.fs.invalidate_cache()
    unit = target.fs.info(target.path("ontrack/v1/units/1.json"))
    attention = target.fs.info(target.path("ontrack/v1/attention/1.json"))
    assert unit["contentType"] == attention["contentType"] == "application/json"
    assert attention["cacheControl"] == "private, max-age=300"
    assert target.fs.info(target.path(SCHEMA_FILES[0]))["cacheControl"] == "public, max-age=300"


def test_only_units_still_current_keep_an_attention_file(warehouse, tmp_path):
    from datetime import datetime

    target = open_target(str(tmp_path / "products"))
    _publish(warehouse, target)
    later = publish_products(warehouse, target, as_of=datetime(2024, 7, 1),
                             log=lambda line: None)
    # 2024 T1 has ended: it is the previous period now, and nobody's list stays published.
    assert not [p for p in target.listing() if "/attention/" in p]
    assert sorted(p for p in later.removed if "/attention/" in p) == [
        f"ontrack/v1/attention/{u}.json" for u in (1, 2, 3, 4)]


@pytest.mark.parametrize("products, looker", [
    ("shared", "shared"), ("shared/products", "shared"), ("shared", "shared/looker")])
def test_the_products_target_may_not_be_or_hold_the_looker_target(tmp_path, products, looker):
    with pytest.raises(ThothError, match="personal data .* never reach the Looker target"):
        check_targets(open_target(str(tmp_path / products)), open_target(str(tmp_path / looker)))
    check_targets(open_target(str(tmp_path / "a")), open_target(str(tmp_path / "ab")))


def test_splashkit_usage_equals_the_mart_and_withholds_fewer_than_5_installs(warehouse, tmp_path):
    target = open_target(str(tmp_path / "products"))
    _publish(warehouse, target)
    doc = _read(target, "splashkit/v1/usage.json")
    assert doc["window"] == {"weeks": 4, "first_week": "2024-03-11", "last_week": "2024-04-01"}
    top = {t["language"]: t for t in doc["top_functions"]}
    # C++: 9 installs draw circles (27 calls over 3 weeks); fill_rectangle's 3 are withheld.
    assert top["C++"]["functions"] == [{"function": "draw_circle", "calls": 27, "installs": 9}]
    assert top["C++"]["withheld_functions"] == 1
    # Python: 3 installs only: nothing listed.
    assert top["Python"] == {"language": "Python", "functions": [], "withheld_functions": 1}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart = {(str(w), d, v): (n, s) for w, d, v, n, s in con.execute(
            "SELECT week_start, dimension, value, active_installs, share_of_installs "
            "FROM marts.kpi_splashkit_usage WHERE dimension IN ('version', 'language', 'os')"
        ).fetchall()}
        (calls,) = con.execute("SELECT sum(events) FROM marts.kpi_splashkit_usage WHERE "
                               "dimension = 'function' AND value = 'draw_circle'").fetchone()
    assert calls == 27 + 18  # C++ and Python together, as the file's cells add up to
    cells = 0
    for version in doc["adoption"]:
        for week in version["weeks"]:
            installs, share = mart[(week["week_start"], "version", version["version"])]
            cells += 1
            if installs < 5:
                assert week == {"week_start": week["week_start"], "installs": None,
                                "share": None, "withheld": "fewer than 5 installs"}
            else:
                assert (week["installs"], week["share"]) == (installs, pytest.approx(share))
    for dimension in ("languages", "os"):
        for week in doc[dimension]:
            for value in week["values"]:
                installs, share = mart[(week["week_start"], dimension.rstrip("s")
                                        if dimension == "languages" else "os", value["value"])]
                cells += 1
                assert value["installs"] == (installs if installs >= 5 else None)
    assert cells == 3 * 2 + 3 * 2 + 3 * 2  # 3 weeks × (2 versions, 2 languages, 2 systems)
    assert [v["version"] for v in doc["adoption"]] == ["1.3.1", "1.4.0"]
    assert [w["installs"] for w in doc["adoption"][0]["weeks"]] == [8, 8, 8]
    assert all(w["withheld"] for w in doc["adoption"][1]["weeks"])  # 4 installs a week
