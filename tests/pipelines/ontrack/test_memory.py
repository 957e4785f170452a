"""DuckDB's memory in the loaders: a table's load succeeds whatever changed before it in the
run (issue #25: a large change in task_comments left no room for the one in tasks), with the
limit set low, and the warehouse equals the source after."""

from __future__ import annotations

import os

import pytest
from ontrack_helpers import assert_mirrors_source, execute, load_state, query, thoth

from thoth.core import config
from thoth.core.duck import limits, open_warehouse
from thoth.core.errors import ThothError
from thoth.demo.ontrack import generate

SCALE = 0.02  # ~94 k tasks, ~54 k comments, ~100 k read receipts, ~240 k engagements
LIMIT = "20MB"  # at this scale, like 256MB at scale 1; the loaders' default is 256MB


@pytest.fixture
def low_memory(monkeypatch):
    monkeypatch.setenv("WAREHOUSE__LOAD_MEMORY_LIMIT", LIMIT)
    monkeypatch.setenv("WAREHOUSE__MEMORY_LIMIT", LIMIT)
    monkeypatch.setenv("WAREHOUSE__THREADS", "2")  # each thread holds buffers: fixed here


def _load(monkeypatch, capsys, url, warehouse):
    code, out, err = thoth(monkeypatch, capsys, url, warehouse, "extract", "ontrack")
    assert (code, err) == (0, ""), out + err
    return out


def _delete_comments(url: str, modulo: int) -> int:
    """Comments deleted with their read receipts, as OnTrack does (dependent: :destroy)."""
    (n,) = query(url, f"SELECT count(*) FROM task_comments WHERE id % {modulo} = 1")[0]
    execute(url,
            "DELETE FROM comments_read_receipts WHERE task_comment_id IN "
            f"(SELECT id FROM task_comments WHERE id % {modulo} = 1)",
            f"DELETE FROM task_comments WHERE id % {modulo} = 1")
    return n


def test_a_large_change_leaves_room_for_the_next_tables_change(pg_url, warehouse_path,
                                                             monkeypatch, capsys, low_memory):
    generate(pg_url, scale=SCALE, seed=3)
    _load(monkeypatch, capsys, pg_url, warehouse_path)
    deleted = _delete_comments(pg_url, 3)  # a third: far past the 0.1 %
    (receipts,) = query(pg_url, "SELECT count(*) FROM comments_read_receipts")[0]
    # Every task submitted or assessed in the hour (the batch: 1 %).
    execute(pg_url, "UPDATE tasks SET updated_at = now() AT TIME ZONE 'UTC', "
                    "times_assessed = times_assessed + 1, task_status_id = 2")
    (updated,) = query(pg_url, "SELECT count(*) FROM tasks")[0]

    out = _load(monkeypatch, capsys, pg_url, warehouse_path)

    assert "FAILED" not in out
    state = load_state(warehouse_path)  # mode, rows_loaded, rows_deleted, rows_total, cursor
    assert state["task_comments"][0] == "incremental"
    assert state["task_comments"][2] == deleted
    assert state["comments_read_receipts"][3] == receipts
    assert state["tasks"][0] == "incremental"
    assert state["tasks"][1] == updated
    assert_mirrors_source(pg_url, warehouse_path)


def test_a_catch_up_after_a_day_of_missed_runs(pg_url, warehouse_path, monkeypatch, capsys,
                                               low_memory):
    """24 hours of changes in one run, read with a day's look-back: every table with
    `updated_at` changed in a quarter of its rows, comments deleted, tasks added."""
    generate(pg_url, scale=SCALE, seed=4)
    _load(monkeypatch, capsys, pg_url, warehouse_path)
    tables = [t for (t,) in query(
        pg_url, "SELECT table_name FROM information_schema.columns WHERE column_name = "
                "'updated_at' AND table_schema = 'public' ORDER BY 1")]
    execute(pg_url, *[
        f"UPDATE {t} SET updated_at = now() AT TIME ZONE 'UTC' - (id % 1440) * interval "
        "'1 minute' WHERE id % 4 = 0" for t in tables])
    _delete_comments(pg_url, 20)
    execute(pg_url, "INSERT INTO tasks (task_definition_id, project_id, task_status_id, "
                    "created_at, updated_at, times_assessed, extensions, scorm_extensions) "
                    "SELECT task_definition_id, project_id + 10000000, task_status_id, created_at, "
                    "now() AT TIME ZONE 'UTC', times_assessed, extensions, scorm_extensions "
                    "FROM tasks WHERE id % 5 = 0")
    monkeypatch.setenv("SOURCES__ONTRACK__LOOKBACK_MINUTES", str(24 * 60))

    out = _load(monkeypatch, capsys, pg_url, warehouse_path)

    assert "FAILED" not in out
    assert {t for t, (mode, *_) in load_state(warehouse_path).items()
            if t in tables and mode != "incremental"} == set()
    assert_mirrors_source(pg_url, warehouse_path)


def test_the_limits_are_configured_and_applied(warehouse_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE__MEMORY_LIMIT", "1.5GB")
    monkeypatch.setenv("WAREHOUSE__LOAD_MEMORY_LIMIT", "64 MiB")
    monkeypatch.setenv("WAREHOUSE__THREADS", "1")
    assert (limits().memory_mb, limits().load_memory_mb, limits().threads) == (1536, 64, 1)
    for streaming, expected in ((False, 1536), (True, 64)):
        con = open_warehouse(warehouse_path, streaming=streaming)
        try:
            got = con.execute("SELECT current_setting('memory_limit'), "
                              "current_setting('threads'), current_setting('temp_directory'), "
                              "current_setting('preserve_insertion_order')").fetchone()
        finally:
            con.close()
        # DuckDB shows its limit in its own units (1536 MiB is "1.5 GiB").
        assert config.memory_megabytes(got[0].replace(" ", "")) in (expected, expected - 1)
        assert got[1:] == (1, f"{warehouse_path}.tmp", False)


def test_a_share_of_the_host_memory(monkeypatch):
    monkeypatch.setenv("WAREHOUSE__MEMORY_LIMIT", "25%")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    assert abs(limits().memory_mb - total / 4) <= 1


@pytest.mark.parametrize(("value", "why"), [
    ("lots", "'lots': expected a size of at least 16MB such as 512MB or 2GB, or a share of "
             "this host's memory such as 25%"),
    ("12MB", "'12MB': expected a size of at least 16MB"),
    ("512", "'512': expected a size"),
])
def test_a_limit_that_is_not_a_size_is_refused_in_one_line(monkeypatch, value, why):
    monkeypatch.setenv("WAREHOUSE__LOAD_MEMORY_LIMIT", value)
    with pytest.raises(ThothError, match="^WAREHOUSE__LOAD_MEMORY_LIMIT is " + why):
        limits()
