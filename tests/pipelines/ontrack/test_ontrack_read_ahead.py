"""The source read ahead of the warehouse (pipelines/ontrack/read_ahead.py), on real PostgreSQL
and MariaDB: a table's load gets the rows as they were read, the count and sum as they were
counted after them (up to the bound they were counted to, else asked again), the ids scanned
when those say rows are gone, a failed read fails that table's load in one line, and nothing
stays on disk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dlt.common.configuration.specs import ConnectionStringCredentials
from ontrack_helpers import execute, thoth
from test_ontrack_schema_changes import rows, tiny_ontrack

from pipelines.ontrack.deletions import Known
from pipelines.ontrack.read_ahead import ReadAhead
from pipelines.ontrack.source_db import SourceDB
from thoth.core.errors import ThothError


def _ids(reader) -> list[int]:
    return sorted(reader.read_all().column("id").to_pylist())


def test_a_read_ahead_serves_the_rows_and_totals_as_read(source_url, tmp_path):
    tiny_ontrack(source_url)
    src = SourceDB(ConnectionStringCredentials(source_url))
    columns = src.catalog()["tasks"]
    after_2 = f" WHERE {src.quote('id')} > 2"
    # The warehouse holds ids 1 and 2; the read brings 3, 4 and 5.
    held = Known(bound=2, certified=True, totals=(2, 3), low=1, count=2)
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", columns, after_2, held)
        # Counted after the read, up to its largest id (5): waits for the read.
        assert ahead.id_totals("tasks", 5) == (5, 15)
        assert ahead.scanned("tasks") is None  # as the warehouse will hold: nothing gone
        execute(source_url, "DELETE FROM tasks WHERE id = 4")

        assert ahead.id_totals("tasks", 5) == (5, 15)  # as counted: the next load finds id 4 gone
        assert ahead.id_totals("tasks", 3) == (3, 6)  # another bound: asked of the source now
        with ahead.rows("tasks", columns, after_2) as reader:
            assert _ids(reader) == [3, 4, 5]  # as read
        with ahead.rows("tasks", columns[:1]) as reader:  # not read ahead: the source's now
            assert _ids(reader) == [1, 2, 3, 5]
        assert not list((tmp_path / "ahead").iterdir())  # a file read is deleted
    finally:
        ahead.close()
    assert not (tmp_path / "ahead").exists()


def test_a_read_ahead_scans_the_ids_when_rows_are_gone(source_url, tmp_path):
    tiny_ontrack(source_url)
    execute(source_url, "DELETE FROM tasks WHERE id = 2")
    src = SourceDB(ConnectionStringCredentials(source_url))
    columns = src.catalog()["tasks"]
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", columns, f" WHERE {src.quote('id')} > 4",
                    Known(bound=4, certified=True, totals=(4, 10), low=1, count=4))
        assert ahead.id_totals("tasks", 5) == (4, 13)  # the warehouse will hold (5, 15)
        scanned = ahead.scanned("tasks")  # so it read every id, over the warehouse's 1..5
        assert (scanned.low, scanned.bound, scanned.dense) == (1, 5, True)
        assert scanned.present.tolist() == [True, False, True, True, True]
        # Nobody's count may be trusted (an erasure): the ids are read whatever the sums.
        ahead.start("campuses", src.catalog()["campuses"], " WHERE 1 = 1",
                    Known(bound=2, certified=False, totals=(2, 3), low=1, count=2))
        assert ahead.scanned("campuses").present.tolist() == [True, True]
    finally:
        ahead.close()


def test_a_failed_read_fails_its_table_in_one_line(source_url, tmp_path):
    tiny_ontrack(source_url)
    src = SourceDB(ConnectionStringCredentials(source_url))
    columns = src.catalog()["tasks"]
    execute(source_url, "DROP TABLE tasks")
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", columns, " WHERE 1 = 1",
                    Known(bound=5, certified=True, totals=(5, 15), low=1, count=5))
        with pytest.raises(ThothError, match=r"^reading from the OnTrack .* failed: .*tasks"), \
                ahead.rows("tasks", columns, " WHERE 1 = 1"):
            pass
    finally:
        ahead.close()
    assert not (tmp_path / "ahead").exists()


def test_the_extract_leaves_no_read_ahead_behind(source_url, warehouse_path, monkeypatch,
                                                 capsys):
    tiny_ontrack(source_url)
    left = warehouse_path.with_name(warehouse_path.name + ".read-ahead")
    left.mkdir()
    (left / "0.arrow").write_bytes(b"a killed run's")
    for _ in range(2):  # a first load (whole tables), then an incremental one (read ahead)
        code, _, err = thoth(monkeypatch, capsys, source_url, warehouse_path, "extract",
                             "ontrack")
        assert code == 0, err
        assert not left.exists()
    assert rows(warehouse_path, "SELECT count(*) FROM ontrack_raw.tasks") == [(5,)]


def test_large_tables_load_as_their_reads_finish(source_url, warehouse_path, monkeypatch,
                                                 capsys):
    """Every table counts as large here (`LARGE_ROWS` 1): each loads once its read is done, and
    the hour's change lands the same."""
    tiny_ontrack(source_url)
    code, _, err = thoth(monkeypatch, capsys, source_url, warehouse_path, "extract", "ontrack")
    assert code == 0, err
    monkeypatch.setattr("pipelines.ontrack.extract.LARGE_ROWS", 1)
    execute(source_url, "UPDATE tasks SET task_status_id = 9, updated_at = %s WHERE id = 2",
            params=(datetime.now(UTC).replace(tzinfo=None),))
    execute(source_url, "DELETE FROM tasks WHERE id = 5")
    code, out, err = thoth(monkeypatch, capsys, source_url, warehouse_path, "extract", "ontrack")
    assert code == 0, err
    assert "ontrack.tasks: incremental, " in out and ", 1 deleted, 4 in warehouse" in out
    assert rows(warehouse_path, "SELECT id, task_status_id FROM ontrack_raw.tasks ORDER BY id"
                ) == [(1, 2), (2, 9), (3, 1), (4, 2)]


def test_as_read_gives_tables_not_read_ahead_first(source_url, tmp_path):
    tiny_ontrack(source_url)
    src = SourceDB(ConnectionStringCredentials(source_url))
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", src.catalog()["tasks"], " WHERE 1 = 1", None)
        assert list(ahead.as_read(["tasks", "campuses"])) == ["campuses", "tasks"]
    finally:
        ahead.close()
