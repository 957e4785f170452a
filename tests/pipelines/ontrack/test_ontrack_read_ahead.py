"""The source read ahead of the warehouse (pipelines/ontrack/read_ahead.py), on real PostgreSQL
and MariaDB: a table's load gets the rows as they were read, the count and sum as they were
counted after them (up to the bound they were counted to, else asked again), a failed read fails
that table's load in one line, and nothing stays on disk."""

from __future__ import annotations

import pytest
from dlt.common.configuration.specs import ConnectionStringCredentials
from ontrack_helpers import execute, thoth
from test_ontrack_schema_changes import rows, tiny_ontrack

from pipelines.ontrack.read_ahead import ReadAhead
from pipelines.ontrack.source_db import SourceDB
from thoth.core.errors import ThothError


def _ids(reader) -> list[int]:
    return sorted(reader.read_all().column("id").to_pylist())


def test_a_read_ahead_serves_the_rows_and_totals_as_read(source_url, tmp_path):
    tiny_ontrack(source_url)
    src = SourceDB(ConnectionStringCredentials(source_url))
    columns = src.catalog()["tasks"]
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", columns, f" WHERE {src.quote('id')} > 2", id_bound=2, totals=True)
        # Counted after the read, up to its largest id (5): waits for the read.
        assert ahead.id_totals("tasks", 5) == (5, 15)
        execute(source_url, "DELETE FROM tasks WHERE id = 4")

        assert ahead.id_totals("tasks", 5) == (5, 15)  # as counted: the next load finds id 4 gone
        assert ahead.id_totals("tasks", 3) == (3, 6)  # another bound: asked of the source now
        with ahead.rows("tasks", columns, f" WHERE {src.quote('id')} > 2") as reader:
            assert _ids(reader) == [3, 4, 5]  # as read
        with ahead.rows("tasks", columns[:1]) as reader:  # not read ahead: the source's now
            assert _ids(reader) == [1, 2, 3, 5]
        assert not list((tmp_path / "ahead").iterdir())  # a file read is deleted
    finally:
        ahead.close()
    assert not (tmp_path / "ahead").exists()


def test_a_failed_read_fails_its_table_in_one_line(source_url, tmp_path):
    tiny_ontrack(source_url)
    src = SourceDB(ConnectionStringCredentials(source_url))
    columns = src.catalog()["tasks"]
    execute(source_url, "DROP TABLE tasks")
    ahead = ReadAhead(src, tmp_path / "ahead")
    try:
        ahead.start("tasks", columns, " WHERE 1 = 1", id_bound=5, totals=True)
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
