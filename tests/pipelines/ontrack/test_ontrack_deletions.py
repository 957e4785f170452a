"""Rows deleted in the source, found by the id scan, which runs only when the count and the sum
of the ids say rows may be gone (pipelines/ontrack/deletions.py); real PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest
from ontrack_helpers import assert_mirrors_source, execute, load_state, query, thoth
from test_ontrack_schema_changes import LONG_AGO, rows, tiny_ontrack

from pipelines.ontrack import deletions
from thoth.core.storage import open_target
from thoth.demo.ontrack import generate
from warehouse.governance import retention
from warehouse.governance.erasure import erase_user

KEY = "test-only-pseudonym-key-0000000000000000"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _extract(monkeypatch, capsys, url: str, warehouse) -> str:
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert code == 0, err
    return out


def _line(out: str, table: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"ontrack.{table}: "))


def _new_task(url: str, created: datetime, updated: datetime, task_id: int | None = None) -> None:
    cols, values = "task_status_id, times_assessed, created_at, updated_at", "%s, %s, %s, %s"
    params: tuple = (1, 0, created, updated)
    if task_id is not None:
        cols, values, params = f"id, {cols}", f"%s, {values}", (task_id, *params)
    execute(url, f"INSERT INTO tasks ({cols}) VALUES ({values})", params=params)


def test_the_id_scan_runs_only_when_rows_may_be_gone(source_url, warehouse_path, monkeypatch,
                                                     capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    _extract(monkeypatch, capsys, url, warehouse)
    scans = deletions.SCANS["tasks"]

    # An hour that changes and adds rows but deletes none: one aggregate row, no scan.
    execute(url, "UPDATE tasks SET times_assessed = 9, updated_at = %s WHERE id = 3",
            params=(now(),))
    _new_task(url, now(), now())
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 0 deleted, 6 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans

    # A deletion: the count differs, the scan finds it.
    execute(url, "DELETE FROM tasks WHERE id = 2")
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 1 deleted, 5 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans + 1

    # A deletion and a new row in the same hour.
    execute(url, "DELETE FROM tasks WHERE id = 4")
    _new_task(url, now(), now())
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 1 deleted, 5 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans + 2
    assert_mirrors_source(url, warehouse)

    # A quiet hour after them: the counts match again.
    _extract(monkeypatch, capsys, url, warehouse)
    assert deletions.SCANS["tasks"] == scans + 2

    # As many rows as before — one deleted, one appearing below ids already read, which no
    # cursor sees (an old updated_at) — but not the same ids: the sum tells.
    execute(url, "DELETE FROM tasks WHERE id = 5")
    _new_task(url, LONG_AGO, LONG_AGO, task_id=2)
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 1 deleted, " in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans + 3
    assert 5 not in {r[0] for r in rows(warehouse, "SELECT id FROM ontrack_raw.tasks")}


def _archive_tasks(warehouse, tmp_path, keep: str) -> retention.Move:
    policy = retention.Policy("ontrack_raw.tasks", "created_at", keep)
    (move,) = retention.archive(warehouse, open_target(str(tmp_path / "archive")),
                                policies=[policy], apply=True, log=lambda line: None)
    return move


def _archived(warehouse) -> list[int]:
    return [r[0] for r in rows(warehouse, "SELECT id FROM platform.archived_ids WHERE "
                                          "table_name = 'ontrack_raw.tasks' ORDER BY id")]


def test_archived_rows_do_not_force_the_scan_and_their_deletion_is_found(
        source_url, warehouse_path, tmp_path, monkeypatch, capsys):
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)  # five tasks of three days ago
    execute(url, "UPDATE tasks SET created_at = %s WHERE id >= 4", params=(now(),))
    _extract(monkeypatch, capsys, url, warehouse)
    assert _archive_tasks(warehouse, tmp_path, "1 day").rows == 3
    scans = deletions.SCANS["tasks"]

    # The source still has the three archived rows: counted with the warehouse's, no scan.
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 0 deleted, 2 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans

    # An archived row deleted in the source: scanned, and its id forgotten.
    execute(url, "DELETE FROM tasks WHERE id = 2")
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 0 deleted, 2 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans + 1
    assert _archived(warehouse) == [1, 3]
    _extract(monkeypatch, capsys, url, warehouse)
    assert deletions.SCANS["tasks"] == scans + 1  # matching again

    # A row the warehouse holds, deleted: found.
    execute(url, "DELETE FROM tasks WHERE id = 5")
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 1 deleted, 1 in warehouse" in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == scans + 2
    assert [r[0] for r in rows(warehouse, "SELECT id FROM ontrack_raw.tasks")] == [4]


def test_a_table_retention_emptied_stays_incremental(source_url, warehouse_path, tmp_path,
                                                     monkeypatch, capsys):
    """Every row archived (logins older than 90 days): the next loads read only what is new,
    not the whole table for the guard to drop again."""
    url, warehouse = source_url, warehouse_path
    tiny_ontrack(url)
    for task_id in range(1, 6):  # an hour apart: only the newest is inside the look-back
        execute(url, "UPDATE tasks SET updated_at = %s WHERE id = %s",
                params=(LONG_AGO - timedelta(hours=5 - task_id), task_id))
    _extract(monkeypatch, capsys, url, warehouse)
    assert _archive_tasks(warehouse, tmp_path, "1 day").rows == 5
    scans = deletions.SCANS["tasks"]

    out = _extract(monkeypatch, capsys, url, warehouse)
    assert "ontrack.tasks: incremental, 1 rows read, 0 deleted, 0 in warehouse" in out
    _new_task(url, now(), now())
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert "ontrack.tasks: incremental, 2 rows read, 0 deleted, 1 in warehouse" in out
    assert deletions.SCANS["tasks"] == scans
    assert load_state(warehouse)["tasks"][0] == "incremental"

    execute(url, "DELETE FROM tasks WHERE id = 3")  # an archived row
    _extract(monkeypatch, capsys, url, warehouse)
    assert deletions.SCANS["tasks"] == scans + 1
    assert _archived(warehouse) == [1, 2, 4, 5]


def test_after_an_erasure_the_scan_runs_until_the_source_loses_the_rows_too(
        pg_url, warehouse_path, monkeypatch, capsys):
    url, warehouse = pg_url, warehouse_path
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", KEY)
    generate(url, scale=0.001, seed=7)
    _extract(monkeypatch, capsys, url, warehouse)
    ((user_id, theirs),) = rows(warehouse, (
        "SELECT p.user_id, count(*) FROM ontrack_raw.tasks t JOIN ontrack_raw.projects p "
        "ON p.id = t.project_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"))
    erase_user(warehouse, user_id, pseudonym_key=KEY.encode(), log=lambda line: None)
    tasks, defs = deletions.SCANS["tasks"], deletions.SCANS["task_definitions"]

    # The source still has the person's tasks, listed nowhere: scanned every load.
    _extract(monkeypatch, capsys, url, warehouse)
    _extract(monkeypatch, capsys, url, warehouse)
    assert deletions.SCANS["tasks"] == tasks + 2
    # A table they had no rows in: scanned once after the erasure, then counts are enough.
    assert deletions.SCANS["task_definitions"] == defs + 1

    # The source deletes them too: one more scan finds nothing held out, then none.
    their_tasks = f"SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id " \
                  f"WHERE p.user_id = {user_id}"
    assert len(query(url, their_tasks)) == theirs > 0
    execute(url, f"DELETE FROM tasks WHERE id IN ({their_tasks})")
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 0 deleted, " in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == tasks + 3
    _extract(monkeypatch, capsys, url, warehouse)
    assert deletions.SCANS["tasks"] == tasks + 3

    # Someone else's task deleted: found.
    (gone,) = query(url, "SELECT max(id) FROM tasks")[0]
    execute(url, f"DELETE FROM tasks WHERE id = {gone}")
    out = _extract(monkeypatch, capsys, url, warehouse)
    assert ", 1 deleted, " in _line(out, "tasks")
    assert deletions.SCANS["tasks"] == tasks + 4
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert not con.execute(f"SELECT count(*) FROM ontrack_raw.tasks WHERE id = {gone}"
                               ).fetchone()[0]


@pytest.fixture(autouse=True)
def _pseudonym_key_unset(monkeypatch):
    monkeypatch.delenv("TRANSFORMS__PSEUDONYM_KEY", raising=False)


def test_the_id_scan_reads_every_id_across_blocks(pg_url):
    """PostgreSQL's ids come as binary COPY, decoded a block at a time: rows cut by a block's
    edge, an `integer` id, and the trailer all come out exact."""
    from dlt.common.configuration.specs import ConnectionStringCredentials

    from pipelines.ontrack.source_db import Column, SourceDB

    execute(pg_url, "CREATE TABLE big (id integer PRIMARY KEY)",
            "INSERT INTO big SELECT g FROM generate_series(1, 250000) AS g WHERE g % 7 <> 3")
    src = SourceDB(ConnectionStringCredentials(pg_url))
    with src.ids("big", Column("id", "INTEGER", False)) as batches:
        blocks = list(batches)
    assert len(blocks) > 2  # several blocks, most ending mid-row
    ids = np.concatenate(blocks)
    expected = np.array([g for g in range(1, 250001) if g % 7 != 3])
    assert np.array_equal(np.sort(ids), expected)


@pytest.mark.parametrize(("stream", "says"), [
    (b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\x00\x01\x00\x00\x00\x08" + (7).to_bytes(8, "big")
     + b"\xff\xff", None),
    (b"COPY 1\n7\n", "binary COPY did not start as PostgreSQL's does"),
    (b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\x00\x02\x00\x00\x00\x08" + (7).to_bytes(8, "big")
     + b"\xff\xff", "binary COPY of ids was not one bigint a row"),
    (b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\x00\x01\x00\x00\x00\x08\x00\x00",
     "binary COPY of ids ended mid-row"),
])
def test_the_binary_id_stream_is_decoded_or_refused_in_one_line(stream, says):
    """PostgreSQL's binary COPY layout (a signature, flags, the extension's length; per row the
    field count, the field's length and its bytes; -1 to end), from a real process's pipe."""
    import subprocess
    import sys

    from pipelines.ontrack.source_db import _binary_ids, _Watched
    from thoth.core.errors import ThothError

    writes = f"import sys; sys.stdout.buffer.write({stream!r})"
    proc = subprocess.Popen([sys.executable, "-c", writes], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        if says is None:
            assert np.concatenate(list(_binary_ids(_Watched(proc)))).tolist() == [7]
        else:
            with pytest.raises(ThothError, match=f"^the OnTrack database's {says}$"):
                list(_binary_ids(_Watched(proc)))
    finally:
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
