"""`thoth publish` against a local directory and the GCS emulator through gcsfs: layout, manifest,
values, generated DDL and LookML, incremental uploads, a publish killed midway, refusals, PII."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlglot
from publish_helpers import (
    build_template,
    copy_warehouse,
    download,
    generations,
    manifest,
    pii_values,
    published_text,
    sha256,
    target_for,
    warehouse_rows,
)

from thoth.cli import main
from thoth.core.classification import personal_reason
from transforms.catalogue import load_catalogue
from transforms.checks import run_checks
from warehouse.publish import publish

ROOT = Path(__file__).resolve().parents[1]
DATASET = "thoth_kpi"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


@pytest.fixture
def warehouse(template, tmp_path) -> Path:
    return copy_warehouse(template, tmp_path / "warehouse.duckdb")


@pytest.fixture(params=["local", "gcs"])
def target(request, tmp_path):
    if request.param == "local":
        return target_for("local", tmp_path, None, None)
    endpoint = request.getfixturevalue("gcs_emulator")
    return target_for("gcs", tmp_path, request.getfixturevalue("gcs_bucket"), endpoint)


def _publish(warehouse: Path, target):
    return publish(warehouse, target, dataset=DATASET, log=lambda line: None)


def _kpi_tables(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND (table_name LIKE 'kpi_%' OR table_name LIKE 'dim_%') ORDER BY 1").fetchall()]


def test_layout_manifest_and_values_equal_the_warehouse(warehouse, target, tmp_path):
    report = _publish(warehouse, target)
    doc = manifest(target)
    local = download(target, tmp_path / "copy")
    tables = _kpi_tables(warehouse)
    # The KPIs, their conformed dimensions, and the publish's own kpi_publish_log (test_looker).
    assert sorted(doc["tables"]) == sorted([*tables, "kpi_publish_log"]) and len(tables) >= 15
    assert doc["run_id"] == report.run_id and doc["data_tests"]["passed"] is True
    assert doc["data_tests"]["tests"] > 100
    assert not (local / "_staging").exists()

    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    for name in tables:
        entry = doc["tables"][name]
        columns = [c["name"] for c in entry["schema"]]
        assert columns == [r[0] for r in con.execute(f"DESCRIBE marts.{name}").fetchall()]
        (rows,) = con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()
        assert entry["rows"] == rows > 0, name
        for f in entry["files"]:  # every listed file is there, with its checksum
            assert sha256(local / f["path"]) == f["sha256"], f["path"]
        parquet = [f for f in entry["files"] if f["format"] == "parquet"]
        csv = [f for f in entry["files"] if f["format"] == "csv"]
        assert sum(f["rows"] for f in parquet) == rows

        # Parquet: hive-partitioned by dt where the grain has a date, one file otherwise.
        date_column = next((g for g in entry["grain"] if g in ("day", "week_start")), None)
        pattern = (rf"kpi/{name}/dt=(\d{{4}}-\d\d-\d\d)/{name}-[0-9a-f]{{12}}\.parquet"
                   if date_column else rf"kpi/{name}/{name}-[0-9a-f]{{12}}\.parquet")
        for f in parquet:
            match = re.fullmatch(pattern, f["path"])
            assert match, f["path"]
            file = pq.read_table(local / f["path"])
            assert "dt" not in file.column_names and file.column_names == columns
            if date_column:
                assert {str(v) for v in file.column(date_column).to_pylist()} == {match[1]}
        if date_column:
            assert entry["partitioned_by"] == {"key": "dt", "type": "DATE",
                                               "column": date_column}
            assert len(parquet) == con.execute(
                f"SELECT count(DISTINCT {date_column}) FROM marts.{name}").fetchone()[0]
        else:
            assert len(parquet) == 1 and entry["partitioned_by"] is None
        paths = [str(local / f["path"]) for f in parquet]
        assert _rows(con, f"SELECT * FROM read_parquet({paths}, hive_partitioning = false)") == \
            warehouse_rows(con, name, columns), name

        # CSV: one file, header row, the same values (timestamps to the second).
        (one,) = csv
        assert re.fullmatch(rf"looker_studio/{name}/{name}-[0-9a-f]{{12}}\.csv", one["path"])
        text = (local / one["path"]).read_text()
        assert text.splitlines()[0] == ",".join(columns)
        types = dict(con.execute(f"SELECT column_name, data_type FROM duckdb_columns() "
                                 f"WHERE schema_name = 'marts' AND table_name = '{name}'")
                     .fetchall())
        spec = ", ".join(f"'{c}': '{t}'" for c, t in types.items())
        from_csv = _rows(con, f"SELECT * FROM read_csv('{local / one['path']}', header = true, "
                              f"columns = {{{spec}}})")
        trunc = ", ".join(f"date_trunc('second', \"{c}\")" if t.startswith("TIMESTAMP")
                          else f'"{c}"' for c, t in types.items())
        assert from_csv == _rows(con, f"SELECT {trunc} FROM marts.{name}"), name

        # Types a BigQuery external table reads as they are.
        for column in entry["schema"]:
            assert column["bigquery_type"] in {"INT64", "FLOAT64", "STRING", "DATE",
                                               "TIMESTAMP", "BOOL"}
        assert entry["bigquery_ddl"]["path"] == f"bigquery/{name}.sql"
        assert entry["lookml"]["path"] == f"looker/{name}.view.lkml"
        assert sha256(local / entry["lookml"]["path"]) == entry["lookml"]["sha256"]

    # Widened on the way out: INTEGER grade → int64; TIMESTAMP → µs, UTC-adjusted.
    grade = doc["tables"]["kpi_grade_distribution"]["files"][0]["path"]
    assert str(pq.read_schema(local / grade).field("grade").type) == "int64"
    backlog = doc["tables"]["kpi_feedback_backlog"]["files"][0]["path"]
    assert str(pq.read_schema(local / backlog).field("as_of").type) == "timestamp[us, tz=UTC]"
    # Freshness: the oldest load among the KPI's raw tables (loaded a minute apart).
    enrolment = doc["tables"]["kpi_enrolment"]
    assert enrolment["requires"] == next(k.requires for k in load_catalogue()
                                         if k.name == "kpi_enrolment")
    assert enrolment["source_freshness"].startswith("2026-01-01T10:")
    con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    def plain(value: object) -> object:  # TIMESTAMPTZ read back → naive UTC, as stored
        return value.replace(tzinfo=None) if isinstance(value, datetime) else value

    return sorted((tuple(plain(v) for v in row) for row in con.execute(sql).fetchall()),
                  key=repr)


def test_bigquery_ddl_parses_and_lookml_has_a_dimension_per_column(warehouse, tmp_path):
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target)
    doc = manifest(target)
    for name, entry in doc["tables"].items():
        ddl = target.read(f"bigquery/{name}.sql").decode()
        partitioned = entry["partitioned_by"] is not None
        # sqlglot (30.x) lacks BigQuery's `WITH PARTITION COLUMNS`: check the clause where the
        # grammar puts it (between the column list and OPTIONS), and parse the rest strictly.
        clause = "\nWITH PARTITION COLUMNS (dt DATE)\n"
        assert (clause in ddl) == partitioned, name
        tree = sqlglot.parse_one(ddl.replace(clause, "\n"), read="bigquery",
                                 error_level=sqlglot.ErrorLevel.RAISE)
        assert isinstance(tree, sqlglot.exp.Create) and tree.args["kind"] == "TABLE", name
        assert tree.this.this.sql("bigquery") == f"`{DATASET}.{name}`"
        assert [c.name for c in tree.find_all(sqlglot.exp.ColumnDef)] == \
            [c["name"] for c in entry["schema"]]
        options = tree.sql("bigquery")
        assert f"uris=['gs://YOUR_BUCKET/thoth/kpi/{name}/*']" in options
        if partitioned:
            prefix = re.search(r"hive_partition_uri_prefix='([^']*)'", options)[1]
            assert prefix == f"gs://YOUR_BUCKET/thoth/kpi/{name}/"  # right before dt=
            dt_path = next(f["path"] for f in entry["files"] if f["format"] == "parquet")
            assert ("gs://YOUR_BUCKET/thoth/" + dt_path).startswith(prefix + "dt=")

        lookml = target.read(f"looker/{name}.view.lkml").decode()
        assert lookml.count("view: ") == 1 and f"view: {name} {{" in lookml
        assert f"sql_table_name: `@{{DATASET}}.{name}` ;;" in lookml
        assert lookml.count("{") == lookml.count("}")
        for column in entry["schema"]:
            kind = "dimension_group" if column["bigquery_type"] in ("DATE", "TIMESTAMP") \
                else "dimension"
            block = lookml.split(f"  {kind}: {column['name']} {{", 1)[1].split("\n  }", 1)[0]
            assert f"sql: ${{TABLE}}.{column['name']} ;;" in block
            if column["description"]:
                assert f'description: "{column["description"]}"' in block
        assert "measure: count {" in lookml
    submission = target.read("looker/kpi_task_submission.view.lkml").decode()
    assert "measure: total_submitted {" in submission
    assert "measure: total_submission_rate" not in submission  # rates do not add up
    definition = next(k.definition for k in load_catalogue() if k.name == "kpi_task_submission")
    assert " ".join(definition.split())[:60] in submission


def test_unchanged_publish_uploads_nothing_and_a_change_uploads_only_it(warehouse, target):
    def written() -> dict[str, object]:
        return {p: g for under in ("kpi", "looker_studio", "bigquery", "looker")
                for p, g in generations(target, under).items()}

    first = _publish(warehouse, target)
    assert len(first.uploaded) > 20 and first.unchanged == []
    before = written()
    second = _publish(warehouse, target)
    assert second.uploaded == [] and second.generated == [] and second.deleted == []
    assert len(second.unchanged) == len(first.uploaded)
    assert written() == before  # not one object written again
    assert manifest(target)["run_id"] == second.run_id != first.run_id

    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_enrolment SET withdrawn = withdrawn + 1")
    assert run_checks(warehouse, log=lambda line: None)
    third = _publish(warehouse, target)
    # kpi_publish_log names the data published, so it changes with it (Looker's datagroup).
    changed = ("kpi_enrolment", "kpi_publish_log")
    assert sorted(p.rsplit("/", 1)[0] for p in third.uploaded) == \
        ["kpi/kpi_enrolment", "kpi/kpi_publish_log", "looker_studio/kpi_enrolment",
         "looker_studio/kpi_publish_log"]
    assert sorted(third.deleted) == sorted(p for p in first.uploaded
                                           if p.split("/")[1] in changed)

    def others(files: dict[str, object]) -> dict[str, object]:
        return {p: g for p, g in files.items() if not any(c in p for c in changed)}

    assert others(written()) == others(before)


def test_publish_killed_midway_leaves_the_previous_publish_whole(
        warehouse, gcs_emulator, gcs_bucket, tmp_path, monkeypatch):
    from gcp_storage_emulator import server as emulator
    from gcp_storage_emulator.handlers import objects

    target = target_for("gcs", tmp_path, gcs_bucket, gcs_emulator)
    _publish(warehouse, target)
    old_manifest = target.read("_control/manifest.json")
    with duckdb.connect(str(warehouse)) as con:
        # One submission judged late instead: on_time + late still equals submitted.
        con.execute("UPDATE marts.kpi_on_time SET on_time = on_time - 1, late = late + 1 "
                    "WHERE on_time > 0")
    assert run_checks(warehouse, log=lambda line: None)

    # The emulator serves one request at a time: hold the first copy into place (after every
    # file was staged and read back), and kill the publishing process right there.
    copying, release = threading.Event(), threading.Event()

    def held_rewrite(request, response, storage):
        copying.set()
        release.wait(30)
        response.status = 503

    for _, handlers in emulator.HANDLERS:
        if handlers.get("POST") is objects.rewrite:
            monkeypatch.setitem(handlers, "POST", held_rewrite)
    env = {"WAREHOUSE__PATH": str(warehouse), "PUBLISH__BUCKET_URL": f"{gcs_bucket}/kpis",
           "PUBLISH__ENDPOINT_URL": gcs_emulator, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    child = subprocess.Popen([sys.executable, "-m", "thoth.cli", "publish"], cwd=ROOT,
                             env={**_environ(), **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    try:
        assert copying.wait(60), child.communicate(timeout=5)[0]
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        release.set()
        child.kill()
    monkeypatch.undo()

    assert target.read("_control/manifest.json") == old_manifest
    doc = json.loads(old_manifest)
    listed = [f for entry in doc["tables"].values() for f in entry["files"]]
    for f in listed:
        assert target.sha256(f["path"]) == f["sha256"], f["path"]
    assert any(p.startswith("_staging/") for p in target.listing())  # it was killed there

    # The next publish finishes the job and clears the dead run's staging.
    report = _publish(warehouse, target)
    assert sorted(p.split("/")[1] for p in report.uploaded) == \
        ["kpi_on_time", "kpi_on_time", "kpi_publish_log", "kpi_publish_log"]
    assert not any(p.startswith("_staging/") for p in target.listing())
    for entry in manifest(target)["tables"].values():
        for f in entry["files"]:
            assert target.sha256(f["path"]) == f["sha256"]


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISH__", "WAREHOUSE"))}


def test_published_files_hold_no_personal_data(warehouse, tmp_path):
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target)
    text = published_text(Path(target.root))
    assert "kpi_enrolment" in text and "unit_code" in text  # the scan sees the files
    assert [v for v in pii_values() if v in text] == []
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)  # no email address at all


def test_refuses_a_table_with_a_personal_column(warehouse, tmp_path, monkeypatch, capsys):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE marts.kpi_leak AS SELECT 1 AS unit_id, "
                    "'a@b.example' AS email, 7 AS staff_user_id, 'k' AS student_key")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(tmp_path / "publish"))
    assert main(["publish"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("thoth: error: refusing to publish personal data: "
                          "marts.kpi_leak.email (email address), marts.kpi_leak.staff_user_id")
    assert err.count("\n") == 1 and "student_key" not in err
    assert not (tmp_path / "publish").exists()


def test_classification_allows_pseudonymous_keys():
    for column in ("email", "First_Name", "username", "login_id", "student_id", "user_id",
                   "author_user_id", "last_sign_in_ip", "comment", "grade_rationale",
                   "nickname"):
        assert personal_reason(column), column
    for column in ("student_key", "tutor_key", "unit_id", "task_definition_id", "unit_code",
                   "students_per_tutor", "comments", "as_of"):
        assert personal_reason(column) is None, column


def test_refuses_when_the_check_never_ran_failed_or_is_stale(warehouse, tmp_path, monkeypatch,
                                                            capsys):
    publish_dir = tmp_path / "publish"
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(publish_dir))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP TABLE platform.check_results")
    assert main(["publish"]) == 1
    assert "no `thoth check` has run on this warehouse" in capsys.readouterr().err
    assert not publish_dir.exists()

    assert run_checks(warehouse, log=lambda line: None)
    assert main(["publish"]) == 0
    good = (publish_dir / "_control" / "manifest.json").read_bytes()
    capsys.readouterr()

    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_enrolment SET enrolled = NULL")
    assert not run_checks(warehouse, log=lambda line: None)
    assert main(["publish"]) == 1
    err = capsys.readouterr().err
    # The not_null test and the identities with kpi_enrolment.enrolled all fail.
    assert re.match(r"thoth: error: the last `thoth check` \(.* UTC\) failed \d+ of \d+ data "
                    r"tests: fix them", err) and err.count("\n") == 1
    assert (publish_dir / "_control" / "manifest.json").read_bytes() == good

    # A check that passed, but on tables built before the latest `thoth transform`.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.kpi_enrolment SET enrolled = 3")
    assert run_checks(warehouse, log=lambda line: None)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("INSERT INTO platform.model_builds BY NAME SELECT 'later' AS build_id, "
                    "model, rows, 0 AS seconds, built_at + INTERVAL 1 HOUR AS built_at "
                    "FROM platform.model_builds")
    assert main(["publish"]) == 1
    assert "rebuilt" in capsys.readouterr().err
    assert (publish_dir / "_control" / "manifest.json").read_bytes() == good
