"""`thoth lake` against a local directory and the GCS emulator through gcsfs: the manifest, the
partitions, the lake read back equal to the warehouse, unchanged data writing nothing, a change
rewriting only its partition, a failed or killed write leaving the previous manifest whole, and
bad targets in one line."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime
from http import HTTPStatus
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from kpi_fixtures import Raw
from repo import ROOT

from thoth.cli import main
from thoth.core.errors import ThothError
from thoth.core.lake import MANIFEST, parse_iso, read_manifest
from thoth.core.storage import Target, open_target
from warehouse.lake import NULL_PARTITION, PARTITIONS, lake_tables, write_lake

D = datetime
LOADED = D(2024, 4, 2, 3, 4, 5, 678901)
NAME = re.compile(r"part-([0-9a-f]{16})\.parquet$")


def _raw() -> Raw:
    raw = Raw(loaded_at=LOADED).student(11, 101).student(12, 102)
    raw.task_definition(1, target_date=D(2024, 3, 10))
    # Tasks created in three months, and one with no creation time.
    for i, created in enumerate([D(2024, 1, 5), D(2024, 1, 20), D(2024, 2, 3), D(2024, 3, 9),
                                 None], start=1):
        raw.add("tasks", id=i, project_id=101 + i % 2, task_definition_id=1, task_status_id=9,
                submission_date=D(2024, 3, 9, 10), created_at=created)
    raw.add("task_comments", id=1, task_id=1, user_id=11, comment="hello, world",
            created_at=D(2024, 3, 9, 11), content_type="text")
    for minute, day in enumerate([1, 1, 2]):
        raw.add("landing_raw.ontrack_logs", requested_at=D(2024, 3, day, 9, minute),
                method="GET", path_template="/api/units/:id", status=200, duration_ms=12.5,
                log_format="doubtfire", source_file=f"ontrack_logs/2024/03/0{day}/a.log",
                line_number=minute + 1)
    return raw


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    _raw().write(path)
    with duckdb.connect(str(path)) as con:  # a table dlt keeps for itself stays out of the lake
        con.execute("CREATE TABLE ga4_raw._dlt_loads (load_id VARCHAR)")
    return path


@pytest.fixture(params=["local", "gcs"])
def target(request, tmp_path) -> Target:
    if request.param == "local":
        return open_target(str(tmp_path / "lake"), section="lake")
    bucket, endpoint = (request.getfixturevalue("gcs_bucket"),
                        request.getfixturevalue("gcs_emulator"))
    return open_target(f"{bucket}/lake", endpoint_url=endpoint, section="lake")


def _write(warehouse: Path, target: Target, **kwargs):
    return write_lake(warehouse, target, log=lambda line: None, **kwargs)


def _download(target: Target, files: list[str], to: Path) -> list[str]:
    local = []
    for n, relative in enumerate(files):
        path = to / f"{n}.parquet"
        path.write_bytes(target.read(relative))
        local.append(str(path))
    return local


def test_manifest_names_every_table_with_its_partitions_and_loads(warehouse, target):
    report = _write(warehouse, target)
    manifest = read_manifest(target)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = lake_tables(con)
    assert "platform.load_state" in tables and "ontrack_raw.tasks" in tables
    assert "ga4_raw._dlt_loads" not in tables
    assert sorted(manifest["tables"]) == tables
    assert manifest["format"] == 1
    assert parse_iso(manifest["snapshot_at"]) == LOADED  # microseconds kept
    assert parse_iso(manifest["written_at"]) > LOADED

    tasks = manifest["tables"]["ontrack_raw.tasks"]
    assert tasks["partition_by"] == "created_month"
    assert tasks["rows"] == 5
    assert parse_iso(tasks["loaded_at"]) == LOADED
    assert list(tasks["columns"].items())[:2] == [("id", "BIGINT"), ("project_id", "BIGINT")]
    assert tasks["columns"]["created_at"] == "TIMESTAMP"
    assert sorted(f.split("/")[2] for f in tasks["files"]) == [
        "created_month=2024-01", "created_month=2024-02", "created_month=2024-03",
        f"created_month={NULL_PARTITION}"]
    logs = manifest["tables"]["landing_raw.ontrack_logs"]
    assert sorted(f.split("/")[2] for f in logs["files"]) == [
        "requested_day=2024-03-01", "requested_day=2024-03-02"]
    units = manifest["tables"]["ontrack_raw.units"]
    assert units["partition_by"] is None and len(units["files"]) == 1
    assert units["files"][0].startswith("ontrack_raw/units/part-")
    # Tables with no rows are a file each too: they carry the columns.
    assert manifest["tables"]["ga4_raw.traffic"]["rows"] == 0
    assert len(manifest["tables"]["ga4_raw.traffic"]["files"]) == 1
    assert manifest["tables"]["platform.load_state"]["loaded_at"] is None

    listed = [f for entry in manifest["tables"].values() for f in entry["files"]]
    for relative in listed:  # named after their content
        digest = NAME.search(relative).group(1)
        assert hashlib.sha256(target.read(relative)).hexdigest()[:16] == digest
    assert sorted(target.listing()) == sorted([*listed, MANIFEST])
    assert report.written == len(listed) and report.kept == 0 and report.manifest_written


def test_the_lake_read_back_is_the_warehouse_every_row(warehouse, target, tmp_path):
    _write(warehouse, target)
    manifest = read_manifest(target)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, entry in manifest["tables"].items():
            local = _download(target, entry["files"], tmp_path)
            for path in local:  # every file holds every column, the partition's included
                assert pq.read_schema(path).names == list(entry["columns"]), table
            lake = con.execute(f"SELECT * FROM read_parquet({local!r}) ORDER BY ALL").fetchall()
            assert lake == con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall(), table
            assert len(lake) == entry["rows"]
            types = con.execute(f"DESCRIBE SELECT * FROM read_parquet({local!r})").fetchall()
            assert {c[0]: c[1] for c in types} == entry["columns"], table
            for path in local:
                os.remove(path)


def test_nothing_changed_writes_nothing_and_a_change_rewrites_only_its_partition(
        warehouse, target):
    first = _write(warehouse, target)
    before = {p: target.read(p) for p in target.listing()}
    second = _write(warehouse, target)
    assert (second.written, second.removed, second.manifest_written) == (0, [], False)
    assert second.kept == first.written
    assert {p: target.read(p) for p in target.listing()} == before  # the manifest too

    # A task created in February is updated by a later load.
    later = D(2024, 4, 3)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE ontrack_raw.tasks SET task_status_id = 2 WHERE id = 3")
        con.execute("UPDATE platform.load_state SET loaded_at = ? WHERE table_name = 'tasks'",
                    [later])
    third = _write(warehouse, target)
    manifest = read_manifest(target)
    old = json.loads(before[MANIFEST])
    changed = {t: sorted(set(e["files"]) ^ set(old["tables"][t]["files"]))
               for t, e in manifest["tables"].items() if e != old["tables"][t]}
    assert sorted(changed) == ["ontrack_raw.tasks", "platform.load_state"]
    assert [f.split("/")[2] for f in changed["ontrack_raw.tasks"]] == [
        "created_month=2024-02", "created_month=2024-02"]  # the old file and its successor
    assert third.written == 2 and sorted(third.removed) == sorted(
        f for files in changed.values() for f in files if f in before)
    assert parse_iso(manifest["snapshot_at"]) == later
    by_table = {t.table: t for t in third.tables}
    assert (by_table["ontrack_raw.tasks"].written, by_table["ontrack_raw.tasks"].kept,
            by_table["ontrack_raw.tasks"].removed) == (1, 3, 1)
    for path, data in before.items():  # everything else: not one byte written again
        if path != MANIFEST and path not in third.removed:
            assert target.read(path) == data
    assert sorted(target.listing()) == sorted(
        [*(f for e in manifest["tables"].values() for f in e["files"]), MANIFEST])


def test_full_writes_every_file_again(warehouse, tmp_path):
    target = open_target(str(tmp_path / "lake"), section="lake")
    first = _write(warehouse, target)
    again = _write(warehouse, target, full=True)
    assert again.written == first.written and again.kept == 0 and again.removed == []


def _emulator_uploads(monkeypatch, handler) -> None:
    from gcp_storage_emulator import server as emulator
    from gcp_storage_emulator.handlers import objects

    for _, handlers in emulator.HANDLERS:
        if handlers.get("POST") is objects.insert:
            monkeypatch.setitem(handlers, "POST", handler(objects.insert))


def _changed(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE ontrack_raw.tasks SET task_status_id = 2")
        con.execute("UPDATE landing_raw.ontrack_logs SET status = 500")
        con.execute("UPDATE platform.load_state SET loaded_at = TIMESTAMP '2024-04-03'")


def _whole(target: Target, manifest: bytes) -> None:
    """The manifest is the one given, and every file it names is there with its content."""
    assert target.read(MANIFEST) == manifest
    for entry in json.loads(manifest)["tables"].values():
        for relative in entry["files"]:
            data = target.read(relative)
            assert hashlib.sha256(data).hexdigest()[:16] == NAME.search(relative).group(1)


def test_a_refused_upload_fails_in_one_line_and_leaves_the_previous_manifest_whole(
        warehouse, gcs_emulator, gcs_bucket, monkeypatch):
    target = open_target(f"{gcs_bucket}/lake", endpoint_url=gcs_emulator, section="lake")
    _write(warehouse, target)
    old = target.read(MANIFEST)
    _changed(warehouse)
    calls = []

    def refuse_the_second(insert):
        def handler(request, response, storage, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                return insert(request, response, storage, *args, **kwargs)
            response.status = HTTPStatus.FORBIDDEN
        return handler

    _emulator_uploads(monkeypatch, refuse_the_second)
    with pytest.raises(ThothError) as failed:
        _write(warehouse, target)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"writing the lake to {gcs_bucket}/lake failed: HTTP 403")
    assert "the previous manifest and its files are untouched" in message
    monkeypatch.undo()
    _whole(target, old)
    # The one file that did arrive is named by no manifest: the next write removes it, or
    # keeps it when it is what the new manifest names.
    report = _write(warehouse, target)
    assert report.manifest_written and report.kept >= 1
    _whole(target, target.read(MANIFEST))


def test_a_write_killed_midway_leaves_the_previous_manifest_whole(
        warehouse, gcs_emulator, gcs_bucket, monkeypatch, tmp_path):
    target = open_target(f"{gcs_bucket}/lake", endpoint_url=gcs_emulator, section="lake")
    _write(warehouse, target)
    old = target.read(MANIFEST)
    _changed(warehouse)
    # The emulator serves one request at a time: let one upload through, hold the next, and kill
    # the writing process right there.
    uploading, release, calls = threading.Event(), threading.Event(), []

    def hold_the_second(insert):
        def handler(request, response, storage, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                return insert(request, response, storage, *args, **kwargs)
            uploading.set()
            release.wait(30)
            response.status = HTTPStatus.SERVICE_UNAVAILABLE
        return handler

    _emulator_uploads(monkeypatch, hold_the_second)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LAKE__", "WAREHOUSE"))},
           "WAREHOUSE__PATH": str(warehouse), "LAKE__BUCKET_URL": f"{gcs_bucket}/lake",
           "LAKE__ENDPOINT_URL": gcs_emulator, "RUNTIME__DLTHUB_TELEMETRY": "false",
           "RUN__LOCK_FILE": str(tmp_path / "run.lock")}
    child = subprocess.Popen([sys.executable, "-m", "thoth.cli", "lake"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert uploading.wait(60), child.communicate(timeout=5)[0]
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        release.set()
        child.kill()
    monkeypatch.undo()

    _whole(target, old)
    listed = {f for e in json.loads(old)["tables"].values() for f in e["files"]}
    orphans = [p for p in target.listing() if p not in listed and p != MANIFEST]
    assert len(orphans) == 1  # the upload that got through, named by no manifest

    # The next write finishes the job: the new manifest, and nothing it does not name.
    _write(warehouse, target)
    manifest = read_manifest(target)
    assert parse_iso(manifest["snapshot_at"]) == D(2024, 4, 3)
    _whole(target, target.read(MANIFEST))
    assert sorted(target.listing()) == sorted(
        [*(f for e in manifest["tables"].values() for f in e["files"]), MANIFEST])


def test_lake_command_logs_a_line_per_table(warehouse, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("LAKE__BUCKET_URL", str(tmp_path / "lake"))
    assert main(["lake"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^lake ontrack_raw\.tasks: 5 rows; 4 files written, 0 kept, 0 removed$",
                     out, re.M)
    assert re.search(r"^lake platform\.load_state: \d+ rows; 1 files written", out, re.M)
    assert re.search(rf"^lake {re.escape(str(tmp_path / 'lake'))}: \d+ tables, [\d,]+ rows; "
                     r"\d+ files written, 0 kept, 0 removed; manifest written", out, re.M)
    assert main(["lake"]) == 0
    assert "0 files written" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("url, expected", [
    ("s3://bucket/lake", "LAKE__BUCKET_URL is 's3://bucket/lake': expected gs://bucket/prefix "
                         "or a local directory"),
    ("FILE", "writing the lake to {FILE} failed: Not a directory: {FILE}/"),
])
def test_a_bad_lake_url_is_one_line(warehouse, tmp_path, monkeypatch, capsys, url, expected):
    blocker = tmp_path / "a-file"  # a file where the lake's directory should be
    blocker.write_text("not a directory")
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("LAKE__BUCKET_URL", str(blocker) if url == "FILE" else url)
    assert main(["lake"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert expected.replace("{FILE}", str(blocker)) in err
    assert blocker.read_text() == "not a directory"


def test_every_partitioned_table_names_a_time_column_the_real_tables_have():
    """The declarative list stays true to the tables as loaded: each names a date or time column
    that every OnTrack generation's table has (the generator copies their schema.rb), or that
    the landing loader creates."""
    from pipelines.landing import settings as landing
    from thoth.demo.ontrack.tables import VARIANTS, tables_for

    for table, part in PARTITIONS.items():
        assert part.grain in ("month", "day")
        schema, name = table.split(".")
        if schema == "landing_raw":
            columns = dict(c.strip().split(" ", 1)
                           for c in landing.FEEDS[name].columns.split(","))
            assert columns[part.column].startswith("TIMESTAMP"), table
            continue
        for variant in VARIANTS:
            (found,) = [t for t in tables_for(variant) if t.name == name]
            types = {c.name: c.type for c in found.columns}
            assert types[part.column] in ("datetime", "date"), (table, variant)


def test_run_writes_the_lake_after_the_loads_only_when_asked(warehouse, tmp_path, monkeypatch,
                                                             capsys):
    from thoth.app.run import run
    from thoth.app.steps import CHAIN, LAKE

    names = [s.name for s in CHAIN]
    assert names.index("lake") == names.index("retention") + 1 == names.index("transform") - 1
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("LAKE__BUCKET_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("WAREHOUSE__ENGINE", "duckdb")
    monkeypatch.delenv("LAKE__IN_RUN", raising=False)
    assert run(warehouse, steps=[LAKE], alert=lambda payload: None) == 0
    assert ("lake: skipped (WAREHOUSE__ENGINE is duckdb and LAKE__IN_RUN is false)"
            in capsys.readouterr().out)
    assert not (tmp_path / "lake").exists()

    monkeypatch.setenv("LAKE__IN_RUN", "true")
    assert run(warehouse, steps=[LAKE], alert=lambda payload: None) == 0
    out = capsys.readouterr().out
    assert re.search(r"^lake ontrack_raw\.tasks: 5 rows; 4 files written, 0 kept, 0 removed$",
                     out, re.M)
    assert re.search(rf"^lake: ok, [\d,]+ rows, [\d.]+ s; \d+ tables to "
                     rf"{re.escape(str(tmp_path / 'lake'))}: \d+ files written, 0 kept, "
                     r"0 removed$", out, re.M)
    assert read_manifest(open_target(str(tmp_path / "lake")))["tables"]["ontrack_raw.tasks"]

    # A lake that refuses fails the step in one line, and the run with it.
    monkeypatch.setenv("LAKE__BUCKET_URL", "s3://elsewhere/lake")
    assert run(warehouse, steps=[LAKE], alert=lambda payload: None) == 1
    assert "lake: failed" in capsys.readouterr().out


def test_the_lake_is_never_where_the_kpis_products_or_archives_go(warehouse, tmp_path,
                                                                  monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse))
    monkeypatch.setenv("PUBLISH__BUCKET_URL", str(tmp_path / "out"))
    monkeypatch.setenv("LAKE__BUCKET_URL", str(tmp_path / "out" / "lake"))
    assert main(["lake"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "LAKE__BUCKET_URL" in err and "PUBLISH__BUCKET_URL" in err
    assert "nothing was written" in err
    assert not (tmp_path / "out").exists()


def test_erase_user_rewrites_the_lake_without_the_person(warehouse, tmp_path, monkeypatch,
                                                         capsys):
    from kpi_fixtures import PSEUDONYM_KEY

    lake = tmp_path / "lake"
    for key, value in {"WAREHOUSE__PATH": str(warehouse), "LAKE__BUCKET_URL": str(lake),
                       "RETENTION__ARCHIVE_URL": str(tmp_path / "archive"),
                       "TRANSFORMS__PSEUDONYM_KEY": PSEUDONYM_KEY}.items():
        monkeypatch.setenv(key, value)
    assert main(["lake"]) == 0
    target = open_target(str(lake))
    before = read_manifest(target)
    capsys.readouterr()

    assert main(["erase-user", "11"]) == 0  # student 11: project 101, tasks 2 and 4, a comment
    out = capsys.readouterr().out
    assert re.search(rf"^  lake {re.escape(str(lake))}: [1-9]\d* files rewritten in [1-9]\d* "
                     r"tables, [1-9]\d* old files removed$", out, re.M)
    after = read_manifest(target)
    changed = sorted(t for t in after["tables"] if after["tables"][t] != before["tables"][t])
    assert {"ontrack_raw.users", "ontrack_raw.projects", "ontrack_raw.task_comments"} <= set(
        changed)
    assert "ontrack_raw.units" not in changed  # nothing of them there: not one byte written
    files = {f for e in after["tables"].values() for f in e["files"]}
    assert sorted(target.listing()) == sorted([*files, MANIFEST])  # the old files are gone
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ("ontrack_raw.users", "ontrack_raw.projects", "ontrack_raw.task_comments",
                      "ontrack_raw.tasks"):
            local = [str(lake / f) for f in after["tables"][table]["files"]]
            # The files in place, as a reader takes them: no columns from the folders' names.
            assert con.execute(f"SELECT * FROM read_parquet({local!r}, hive_partitioning = "
                               "false) ORDER BY ALL").fetchall() == con.execute(
                f"SELECT * FROM {table} ORDER BY ALL").fetchall(), table
        users = [str(lake / f) for f in after["tables"]["ontrack_raw.users"]["files"]]
        assert con.execute(f"SELECT count(*) FROM read_parquet({users!r}) WHERE id = 11"
                           ).fetchone()[0] == 0
