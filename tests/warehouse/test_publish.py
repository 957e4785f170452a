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
from publish_helpers import (
    Killed,
    Reader,
    copy_warehouse,
    download,
    generations,
    instrumented,
    manifest,
    parse_ddl,
    pii_values,
    published_text,
    sha256,
    target_for,
    warehouse_rows,
)
from repo import ROOT

from thoth.cli import main
from thoth.core.classification import personal_reason
from transforms.catalogue import load_catalogue
from transforms.checks import run_checks
from warehouse.publish import PublishFailed, publish
from warehouse.publish.render import PARTITION_MIN_ROWS

DATASET = "thoth_kpi"


@pytest.fixture
def warehouse(template, tmp_path) -> Path:
    return copy_warehouse(template, tmp_path / "warehouse.duckdb")


@pytest.fixture(params=["local", "gcs"])
def target(request, tmp_path):
    if request.param == "local":
        return target_for("local", tmp_path, None, None)
    endpoint = request.getfixturevalue("gcs_emulator")
    return target_for("gcs", tmp_path, request.getfixturevalue("gcs_bucket"), endpoint)


def _publish(warehouse: Path, target, partition_min_rows: int = PARTITION_MIN_ROWS):
    return publish(warehouse, target, dataset=DATASET, log=lambda line: None,
                   partition_min_rows=partition_min_rows)


def _kpi_tables(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND (table_name LIKE 'kpi_%' OR table_name LIKE 'dim_%') ORDER BY 1").fetchall()]


def test_layout_manifest_and_values_equal_the_warehouse(warehouse, target, tmp_path):
    # Every table with a date grain split by date (one row per date is enough here).
    report = _publish(warehouse, target, partition_min_rows=1)
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

        # BigQuery's manifest: the Parquet files' gs:// URIs, a line each.
        assert entry["bigquery_manifest"]["path"] == f"bigquery/manifests/{name}.txt"
        assert (local / entry["bigquery_manifest"]["path"]).read_text().splitlines() == \
            [target.gs_url(f["path"]) for f in parquet]

        # CSV: one file under a fixed name, header row, the same values (timestamps to the second).
        (one,) = csv
        assert one["path"] == f"looker_studio/{name}/{name}.csv"
        assert [p.name for p in (local / "looker_studio" / name).iterdir()] == [f"{name}.csv"]
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


def test_bigquery_ddl_parses_whole_and_reads_through_the_manifest(warehouse, tmp_path):
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target, partition_min_rows=1)
    doc = manifest(target)
    assert any(e["partitioned_by"] for e in doc["tables"].values())
    assert any(not e["partitioned_by"] for e in doc["tables"].values())
    for name, entry in doc["tables"].items():
        # The whole statement, partition clause included, parsed by sqlfluff's BigQuery grammar.
        ddl = parse_ddl(target.read(f"bigquery/{name}.sql").decode())
        assert ddl["prefix"] == ["CREATE", "OR", "REPLACE", "EXTERNAL", "TABLE"]
        assert ddl["table"] == f"{DATASET}.{name}"
        assert [(c["name"], c["type"]) for c in ddl["columns"]] == \
            [(c["name"], c["bigquery_type"]) for c in entry["schema"]]
        for column, published in zip(ddl["columns"], entry["schema"], strict=True):
            assert column["options"] == ({"description": published["description"]}
                                         if published["description"] else {})
        options = ddl["options"]
        manifest_uri = f"gs://YOUR_BUCKET/thoth/bigquery/manifests/{name}.txt"
        expected = {"format": "PARQUET", "uris": [manifest_uri],
                    "file_set_spec_type": "NEW_LINE_DELIMITED_MANIFEST"}
        if entry["partitioned_by"]:
            assert ddl["partition_columns"] == [{"name": "dt", "type": "DATE", "options": {}}]
            expected |= {"hive_partition_uri_prefix": f"gs://YOUR_BUCKET/thoth/kpi/{name}/",
                         "require_hive_partition_filter": False}
        else:
            assert ddl["partition_columns"] is None
        description = options.pop("description")
        assert options == expected, name
        assert description.startswith(" ".join(entry["description"].split())[:40])
        # The manifest lists every Parquet file, each under the hive prefix right before dt=.
        lines = target.read(f"bigquery/manifests/{name}.txt").decode().splitlines()
        parquet = [f["path"] for f in entry["files"] if f["format"] == "parquet"]
        assert lines == ["gs://YOUR_BUCKET/thoth/" + p for p in parquet]
        if entry["partitioned_by"]:
            assert all(line.startswith(expected["hive_partition_uri_prefix"] + "dt=")
                       for line in lines)


def test_a_table_is_one_parquet_file_unless_its_dates_hold_many_rows(warehouse, tmp_path):
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target)  # the default: 100,000 rows per date on average
    doc = manifest(target)
    for name, entry in doc["tables"].items():
        parquet = [f for f in entry["files"] if f["format"] == "parquet"]
        assert len(parquet) == 1 and entry["partitioned_by"] is None, name
        assert parquet[0]["rows"] == entry["rows"]

    # The rule: split by date when rows ≥ threshold × dates. A threshold between the tables'
    # averages splits the denser ones only; each date is then one file.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        density = {}
        for name, entry in doc["tables"].items():
            date = next((g for g in entry["grain"] if g in ("day", "week_start")), None)
            if date:
                density[name] = con.execute(f"SELECT count(*), count(DISTINCT {date}) "
                                            f"FROM marts.{name}").fetchone()
    threshold = max(rows // dates for rows, dates in density.values())
    dense = {n for n, (rows, dates) in density.items() if rows >= threshold * dates}
    assert dense and dense != set(density)
    _publish(warehouse, target, partition_min_rows=threshold)
    doc = manifest(target)
    for name, entry in doc["tables"].items():
        parquet = [f for f in entry["files"] if f["format"] == "parquet"]
        if name in dense:
            assert entry["partitioned_by"]["key"] == "dt"
            assert len(parquet) == density[name][1] == len({f["dt"] for f in parquet})
        else:
            assert len(parquet) == 1 and entry["partitioned_by"] is None, name


def test_lookml_has_a_dimension_per_column(warehouse, tmp_path):
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target)
    doc = manifest(target)
    for name, entry in doc["tables"].items():
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
    assert sorted(third.generated) == ["bigquery/manifests/kpi_enrolment.txt",
                                       "bigquery/manifests/kpi_publish_log.txt"]
    # The CSV was replaced in place; the old Parquet stays for queries begun on the previous
    # publish, until the next one.
    assert third.deleted == []
    old = [p for p in first.uploaded if p.startswith("kpi/") and p.split("/")[1] in changed]
    assert all(p in target.listing() for p in old)
    fourth = _publish(warehouse, target)
    assert fourth.uploaded == [] and sorted(fourth.deleted) == sorted(old)

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
    reader = Reader(target, tmp_path / "read")
    seen = reader.view()
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
    assert reader.view() == seen  # BigQuery and Looker Studio: still the previous publish
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
    now = reader.view()
    assert [key for key in seen if now[key] != seen[key]] == [
        (t, r) for t in ("kpi_on_time", "kpi_publish_log") for r in ("bigquery", "looker_studio")]
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


# --- Readers during and after a publish killed anywhere -----------------------------------------

CHANGED = ["kpi_enrolment", "kpi_feedback_backlog", "kpi_on_time", "kpi_web_traffic"]


def _version(warehouse: Path, n: int) -> Path:
    """The warehouse after `n` changes in OnTrack and GA4: four tables differ from the first
    version (three between later ones), and of the day-partitioned kpi_web_traffic only its first
    day."""
    if n:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("UPDATE marts.kpi_on_time SET on_time = on_time - 1, late = late + 1 "
                        "WHERE on_time > 0")
            con.execute(f"UPDATE marts.kpi_enrolment SET withdrawn = withdrawn + {n}")
            con.execute("UPDATE marts.kpi_feedback_backlog "
                        f"SET oldest_waiting_days = oldest_waiting_days + {n}")
            con.execute(f"UPDATE marts.kpi_web_traffic SET page_views = page_views + {n} "
                        "WHERE day = (SELECT min(day) FROM marts.kpi_web_traffic)")
        assert run_checks(warehouse, log=lambda line: None)
    return warehouse


def _whole(warehouse: Path, tmp_path: Path, name: str) -> dict:
    """What each reader sees of a whole publish of `warehouse` (into a directory of its own)."""
    target = target_for("local", tmp_path / name, None, None)
    _publish(warehouse, target, partition_min_rows=1)
    return Reader(target, tmp_path / f"read-{name}").view()


def _readable(target) -> set[str]:
    """The Parquet files a reader may be using: those the control manifest lists, and those the
    table manifests list (a killed publish may have replaced some)."""
    doc = manifest(target)
    files = {f["path"] for e in doc["tables"].values() for f in e["files"]}
    for path in target.listing("bigquery/manifests"):
        files |= {line.removeprefix(target.gs_url("")) for line in
                  target.read(path).decode().splitlines()}
    return files


def _tidy(target, before: set[str]) -> None:
    """After a whole publish: no staging, no temporary file, one file in each Looker Studio
    folder, and under kpi/ only what this publish lists or a reader may have been using when it
    began (`before`)."""
    files = target.listing()
    assert not [p for p in files if p.startswith("_staging/") or ".tmp-" in p]
    assert sorted(p.rsplit("/", 1)[0] for p in files if p.startswith("looker_studio/")) == \
        sorted(f"looker_studio/{t}" for t in manifest(target)["tables"])
    assert not [p for p in files if p.startswith("kpi/") and p not in _readable(target) | before]


def test_a_reader_sees_the_previous_or_the_next_publish_wherever_it_is_killed(
        template, target, tmp_path):
    # Three versions, published in turn: a publish keeps the previous one's files, so going
    # back to the version before that writes (and deletes) as much as going forward.
    warehouses = [_version(copy_warehouse(template, tmp_path / f"v{n}.duckdb"), n)
                  for n in range(3)]
    versions = [_whole(w, tmp_path, f"v{n}") for n, w in enumerate(warehouses)]
    differ = {key for key in versions[0] if versions[0][key] != versions[1][key]}
    # kpi_publish_log names the data published, so it changes with it (Looker's datagroup).
    assert differ == {(t, r) for t in (*CHANGED, "kpi_publish_log")
                      for r in ("bigquery", "looker_studio")}
    reader = Reader(target, tmp_path / "read")

    def check(before: int, after: int) -> dict:
        now = reader.view()
        assert now.keys() == versions[before].keys()
        mixed = sorted(key for key, seen in now.items()
                       if seen not in (versions[before][key], versions[after][key]))
        assert mixed == [], f"a reader sees neither version of {mixed}"
        return now

    _publish(warehouses[0], target, partition_min_rows=1)
    assert check(0, 0) == versions[0]

    # A whole publish of the next version, read between every two of its storage writes (where
    # a kill would leave it).
    writes = []

    def watch(method: str, path: str) -> None:
        writes.append((method, path))
        check(0, 1)

    before = _readable(target)
    publish(warehouses[1], instrumented(target, watch), dataset=DATASET, log=lambda line: None,
            partition_min_rows=1)
    assert check(1, 1) == versions[1]
    _tidy(target, before)
    assert len(writes) > 20

    # Killed at a write of each kind (what it does, and where: staging, kpi/, the table manifests,
    # looker_studio/, the control manifest, deleting), and halfway through the most frequent
    # kind. Each killed publish starts where the last one was killed, going to the next version:
    # every table, for each reader, shows what it showed before or the version going in.
    kinds = [_kind(target, method, path) for method, path in writes]
    assert {"_staging", "kpi", "bigquery/manifests", "looker_studio", "_control",
            *(() if target.is_local else ("rm",))} <= {where for _, where in kinds}
    commonest = max(set(kinds), key=kinds.count)
    points = [(kind, 1) for kind in dict.fromkeys(kinds)] + \
        [(commonest, kinds.count(commonest) // 2)]
    shown, now, killed = dict(versions[1]), 1, []
    for kind, nth in points:
        seen = 0

        def kill(method: str, path: str, kind: tuple = kind, nth: int = nth) -> None:
            nonlocal seen
            if _kind(target, method, path) == kind:
                seen += 1
                if seen == nth:
                    raise Killed(f"{method} {path}")

        going = (now + 1) % len(versions)
        try:
            publish(warehouses[going], instrumented(target, kill), dataset=DATASET,
                    log=lambda line: None, partition_min_rows=1)
        except Killed:
            killed.append(kind)
        after = reader.view()
        mixed = sorted(key for key, seen in after.items()
                       if seen not in (shown[key], versions[going][key]))
        assert mixed == [], f"killed at {kind} #{nth}: neither version of {mixed}"
        shown, now = after, going
    assert len(killed) >= len(points) - 1, killed

    # The next publish finishes the job and clears what the killed ones left.
    before = _readable(target)
    going = (now + 1) % len(versions)
    _publish(warehouses[going], target, partition_min_rows=1)
    assert reader.view() == versions[going]
    _tidy(target, before)


def _kind(target, method: str, path: object) -> tuple[str, str]:
    """A storage write's kind: its method, and the folder it writes to."""
    if method in ("rm", "rm_file"):
        return method, "rm"
    relative = str(path).removeprefix(target.root + "/")
    top = relative.split("/", 1)[0]
    return method, ("bigquery/manifests" if relative.startswith("bigquery/manifests/")
                    else top)


def test_files_of_the_whole_project_are_listed_and_kept_while_published(tmp_path):
    from warehouse.publish import PublishReport, _put_in_place

    target = target_for("local", tmp_path, None, None)

    def put(files: dict[str, bytes]) -> PublishReport:
        report = PublishReport("r", target.url)
        _put_in_place(target, [], {}, report, DATASET, {}, {"passed": True}, lambda line: None,
                      project_files=files)
        return report

    model = {"looker/thoth.model.lkml": b'connection: "@{CONNECTION}"\n'}
    assert put(model).generated == ["looker/thoth.model.lkml"]
    assert manifest(target)["generated"] == {"looker/thoth.model.lkml": {
        "path": "looker/thoth.model.lkml", "sha256": sha256(tmp_path / "publish" / next(
            iter(model)))}}
    assert put(model).generated == []  # the same bytes: not written again
    assert put({}).deleted == ["looker/thoth.model.lkml"]


def test_a_storage_failure_while_tables_switch_says_how_many_read_as_the_new_publish(
        template, tmp_path):
    warehouse = copy_warehouse(template, tmp_path / "w.duckdb")
    target = target_for("local", tmp_path, None, None)
    _publish(warehouse, target)
    before = Reader(target, tmp_path / "read").view()
    _version(warehouse, 1)
    swaps = []

    def refuse(method: str, path: str) -> None:  # the storage fails at the third switch
        if "_staging" not in path and ("/looker_studio/" in path or "/manifests/" in path):
            swaps.append(path)
            if len(swaps) == 3:
                raise OSError(5, "Input/output error", path)

    with pytest.raises(PublishFailed) as failure:
        _publish(warehouse, instrumented(target, refuse))
    tables = len(manifest(target)["tables"])
    first = CHANGED[0]  # the first changed table, switched whole: its CSV and its manifest
    assert [p.split("/")[-2 if "looker_studio" in p else -1] for p in swaps[:2]] == \
        [first, f"{first}.txt"]
    assert re.fullmatch(
        rf"publishing the KPIs to {re.escape(target.url)} failed: .*Input/output error.*; 1 of "
        rf"{tables} tables already read as the new publish \(run [0-9a-f]{{12}}\), the rest as "
        "the previous one, table by table; the next publish finishes it", str(failure.value))
    assert not failure.value.live
    now = Reader(target, tmp_path / "read2").view()
    assert sorted({t for (t, _), seen in now.items() if seen != before[(t, _)]}) == [first]
