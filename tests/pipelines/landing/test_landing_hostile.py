"""The landing loader against hostile files (issue #15): each one is quarantined with a clear
reason — whole, or line by line — `thoth extract landing` exits 0, the files after it are read,
every line is accounted for, and a second run does nothing. An error nobody planned for costs
its own file, never the run; a failing storage still stops the run and leaves the file unread."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import polars as pl
import pytest
from hostile_files import AFTER, CASES, MB, NESTED_ARRAYS, around
from landing_helpers import DAY, METRICS, SPLASHKIT, jsonl, local_landing, rows
from polars.exceptions import PanicException

from pipelines.landing import jsonl as landing_jsonl
from pipelines.landing import settings
from thoth.cli import main


@pytest.fixture
def local(tmp_path):
    return local_landing(tmp_path / "landing")


@pytest.fixture
def cli_env(local, warehouse_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse_path))
    monkeypatch.setenv("LANDING__BUCKET_URL", local.config.bucket_url)
    return local


def _files(warehouse):
    return rows(warehouse, "SELECT path, status, reason, lines, rows, context_lines, "
                           "quarantined_lines, blank_lines, loaded_at FROM landing_raw._files "
                           "ORDER BY path")


def _accounted(ledger) -> None:
    """lines = rows + context + quarantined + blank, for every file, loaded or quarantined."""
    for path, _, _, lines, *parts, _ in ledger:
        assert lines == sum(parts), (path, lines, parts)


def _nothing_new(out: str) -> None:
    for feed in settings.FEEDS:
        assert f"landing.{feed}: 0 new files, 0 rewritten" in out, out
    assert "rows from" not in out and "quarantined whole:" not in out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_hostile_file_is_quarantined_and_the_files_after_it_are_read(
        case, cli_env, warehouse_path, capsys):
    cli_env.write(case.path, case.data())
    after, after_text, after_rows = AFTER[case.feed]
    cli_env.write(after, after_text)

    assert main(["extract", "landing"]) == 0
    out = capsys.readouterr().out
    ledger = {r[0]: r for r in _files(warehouse_path)}
    _, status, reason, lines, file_rows, _, quarantined, _, _ = ledger[case.path]
    stored = rows(warehouse_path, "SELECT line_number, reason, raw_line FROM landing_raw."
                                  f"quarantine WHERE path = '{case.path}' ORDER BY line_number")
    if case.whole:
        assert (status, lines, file_rows) == ("quarantined", 0, 0)
        assert reason.startswith(case.whole), reason
        assert stored == [(None, f"whole file: {reason}", None)]
        assert f"landing.{case.path}: quarantined whole: {reason}" in out
    else:
        assert (status, reason, file_rows) == ("loaded", None, case.rows), ledger[case.path]
        assert [(n, r) for n, r, _ in stored] == case.lines
        assert quarantined == len(case.lines)
        # An overlong line is never stored, not even cut: only its number and length.
        assert all(raw is None for _, r, raw in stored if "exceeds the 1 MB limit" in r)
    assert ledger[after][1:5] == ("loaded", None, len(after_text.splitlines()), after_rows)
    _accounted(ledger.values())
    assert rows(warehouse_path, f"SELECT count(*) FROM landing_raw.{case.feed} WHERE "
                                f"source_file = '{case.path}'") == [(case.rows,)]
    if case.check:
        sql, expected = case.check
        assert rows(warehouse_path, sql) == expected

    assert main(["extract", "landing"]) == 0  # the same files again: nothing to do
    _nothing_new(capsys.readouterr().out)
    assert {r[0]: r for r in _files(warehouse_path)} == ledger


def test_an_unexpected_error_quarantines_its_file_whole_and_never_stops_a_run_again(
        cli_env, warehouse_path, monkeypatch, capsys):
    """The issue's crash, as the code was: json.loads raising RecursionError out of the parser.
    The file is quarantined whole with the error, the next file is read, the next run skips it,
    and a rewrite of it is read again (here with the line-level guard back)."""
    nested = cli_env.write(f"ontrack_metrics/{DAY}/a-nested.jsonl", around([NESTED_ARRAYS]))
    after = cli_env.write(f"ontrack_metrics/{DAY}/b-after.jsonl", jsonl(METRICS))
    monkeypatch.setattr(landing_jsonl, "_load", json.loads)  # the unguarded decoder

    assert main(["extract", "landing"]) == 0
    out = capsys.readouterr().out
    reason = ("RecursionError: maximum recursion depth exceeded while decoding a JSON array "
              "from a unicode string")
    assert f"landing.{nested}: quarantined whole: {reason}" in out
    assert "1 files quarantined whole" in out
    assert [r[:5] for r in _files(warehouse_path)] == [
        (nested, "quarantined", reason, 0, 0), (after, "loaded", None, 6, 6)]
    assert rows(warehouse_path, "SELECT line_number, reason FROM landing_raw.quarantine") == [
        (None, f"whole file: {reason}")]
    assert rows(warehouse_path, "SELECT flags FROM platform.load_state WHERE table_name = "
                                "'ontrack_metrics'") == [
        ("2 files, 0 lines quarantined, 1 files quarantined",)]

    assert main(["extract", "landing"]) == 0  # recorded: not read, not failing, again
    _nothing_new(capsys.readouterr().out)

    monkeypatch.undo()
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse_path))
    monkeypatch.setenv("LANDING__BUCKET_URL", cli_env.config.bucket_url)
    time.sleep(0.01)
    cli_env.write(nested, around([NESTED_ARRAYS]) + b"\n")  # rewritten: read again
    assert main(["extract", "landing"]) == 0
    assert [r[:8] for r in _files(warehouse_path)][0] == (
        nested, "loaded", None, 4, 2, 0, 1, 1)
    assert rows(warehouse_path, "SELECT line_number, reason FROM landing_raw.quarantine") == [
        (2, "JSON nested too deep")]


@pytest.mark.parametrize("error, reason", [
    (MemoryError(), "MemoryError"),
    (PanicException("index out of bounds\nbacktrace"), "PanicException: index out of bounds"),
    (ValueError("from 203.0.113.9: bad"), "ValueError: from 203.0.113.0/24: bad"),
])
def test_any_error_of_a_files_own_costs_that_file_alone(error, reason, local, warehouse_path,
                                                        monkeypatch):
    """Errors no check foresaw, raised while parsing (a Rust panic is a BaseException): the
    reason is the class and the message's first line, IP addresses masked."""
    real = landing_jsonl._load

    def failing_on_boom(text: str):
        if "boom" in text:
            raise error
        return real(text)

    monkeypatch.setattr(landing_jsonl, "_load", failing_on_boom)
    bad = local.write(f"splashkit_usage/{DAY}/a.jsonl", '{"boom": 1}\n')
    good = local.write(f"splashkit_usage/{DAY}/b.jsonl", jsonl(SPLASHKIT))
    local.extract(warehouse_path)
    assert [r[:5] for r in _files(warehouse_path)] == [
        (bad, "quarantined", reason, 0, 0), (good, "loaded", None, 6, 6)]


def test_a_row_polars_refuses_costs_its_line_not_its_file():
    """Should a checked row still not fit its column (here a 64-bit number in a 32-bit one), it
    is found and quarantined alone; the others are kept."""
    schema = {"n": pl.Int32}
    parsed = landing_jsonl.parse_object_lines(
        [(1, '{"n": 1}'), (2, '{"n": 99999999999}'), (3, '{"n": 3}')],
        lambda obj: (obj["n"],), schema)
    assert parsed.rows.rows() == [(1, 1), (3, 3)]
    assert [(n, r) for n, r, _ in parsed.bad] == [
        (2, "a value does not fit its column: ComputeError")]


def test_entries_that_are_not_regular_files_or_have_no_utf8_name_are_quarantined_unread(
        cli_env, warehouse_path, capsys):
    root = cli_env.target.root
    folder = os.path.join(root, "ontrack_metrics", *DAY.split("/"))
    cli_env.write(f"ontrack_metrics/{DAY}/z-good.jsonl", jsonl(METRICS))
    os.mkfifo(os.path.join(folder, "a-fifo.jsonl"))  # opening it would block the run
    os.symlink(os.path.join(folder, "gone.jsonl"), os.path.join(folder, "b-broken.jsonl"))
    with open(os.fsencode(folder) + b"/c-caf\xe9.jsonl", "wb") as handle:
        handle.write(jsonl(METRICS).encode())

    assert main(["extract", "landing"]) == 0
    assert [r[:5] for r in _files(warehouse_path)] == [
        (f"ontrack_metrics/{DAY}/a-fifo.jsonl", "quarantined",
         "not a regular file (other: a FIFO, socket, device or broken link)", 0, 0),
        (f"ontrack_metrics/{DAY}/b-broken.jsonl", "quarantined",
         "not a regular file (other: a FIFO, socket, device or broken link)", 0, 0),
        (f"ontrack_metrics/{DAY}/c-caf\\xe9.jsonl", "quarantined",
         "the file name is not UTF-8", 0, 0),
        (f"ontrack_metrics/{DAY}/z-good.jsonl", "loaded", None, 6, 6),
    ]
    capsys.readouterr()
    assert main(["extract", "landing"]) == 0
    _nothing_new(capsys.readouterr().out)


def test_past_the_per_file_cap_quarantined_lines_are_counted_not_listed(
        local, warehouse_path, monkeypatch):
    """A file of millions of bad lines keeps a bounded quarantine (and transaction): the first
    lines one row each, then one row saying how many more; the ledger counts every one."""
    monkeypatch.setattr(settings, "QUARANTINE_ROWS_PER_FILE", 5)
    monkeypatch.setattr(settings, "BLOCK_BYTES", 64)  # the cap is crossed inside a block
    path = local.write(f"ontrack_metrics/{DAY}/junk.jsonl",
                       jsonl(METRICS[:1]) + "{}\n" * 7 + "x" * (2 * MB) + "\n" + "[]\n" * 4
                       + jsonl(METRICS[1:2]))
    local.extract(warehouse_path)
    assert [r[:8] for r in _files(warehouse_path)] == [
        (path, "loaded", None, 14, 2, 0, 12, 0)]
    assert rows(warehouse_path, "SELECT line_number, reason FROM landing_raw.quarantine "
                                "ORDER BY line_number, reason") == [
        (2, "missing time"), (3, "missing time"), (4, "missing time"), (5, "missing time"),
        (6, "missing time"),
        (7, "7 more lines quarantined from here on, not listed one by one (past 5 in one "
            "file; the ledger counts them)")]


def test_a_file_deleted_after_the_listing_is_skipped_and_the_run_goes_on(local, warehouse_path):
    first = local.write(f"ontrack_metrics/{DAY}/a.jsonl", jsonl(METRICS))
    gone = local.write(f"ontrack_metrics/{DAY}/b.jsonl", jsonl(METRICS))
    last = local.write(f"splashkit_usage/{DAY}/c.jsonl", jsonl(METRICS[:0]))
    lines: list[str] = []

    def delete_b_once_a_is_read(line: str) -> None:
        lines.append(line)
        if line.startswith(f"landing.{first}:"):  # b is listed already, not yet opened
            os.remove(local.target.path(gone))

    from pipelines.landing.extract import extract
    extract(local.config, warehouse_path, log=delete_b_once_a_is_read)
    assert f"landing.{gone}: gone before it was read (deleted or renamed since the listing); " \
           "not recorded, read if it comes back" in lines
    assert "landing.ontrack_metrics: 1 new files, 0 rewritten, 0 unchanged, 1 gone before read" \
        in "\n".join(lines)
    assert [r[0] for r in _files(warehouse_path)] == [first, last]


def test_the_run_step_goes_on_and_reports_quarantined_files(cli_env, warehouse_path):
    from thoth.app.context import Context
    from thoth.app.steps import extract_in_run

    def in_run(log):  # the landing step of `thoth run`: its rows and its line's detail
        done = extract_in_run(Context(warehouse_path, log), "landing")
        return done.rows, done.detail

    cli_env.write(f"ontrack_metrics/{DAY}/a.jsonl.gz", b"\x1f\x8b\x08garbage")
    cli_env.write(f"ontrack_metrics/{DAY}/b.jsonl", jsonl(METRICS) + "oops\n")
    lines: list[str] = []
    assert in_run(lines.append) == (
        len(METRICS), "3 feeds; 1 lines and 1 files quarantined")
    assert any(line.startswith(f"landing.ontrack_metrics/{DAY}/a.jsonl.gz: quarantined whole: "
                               "bad gzip:") for line in lines), lines
    assert in_run(lines.append) == (0, "3 feeds")


# The peak of this process's own memory: VmHWM, not ru_maxrss, which Linux carries over from
# the forking parent (pytest, hundreds of MB into a full run) across exec.
MEMORY_PROBE = textwrap.dedent("""
    import re, sys
    from pathlib import Path
    from pipelines.landing.config import LandingConfig
    from pipelines.landing.extract import extract
    extract(LandingConfig(sys.argv[1]), Path(sys.argv[2]), log=print)
    status = open("/proc/self/status").read()
    print("peak_mb", int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's VmHWM")
def test_a_64_mb_file_without_a_newline_is_read_in_flat_memory(local, warehouse_path):
    """Its bytes are skipped as they stream: the peak is the interpreter and its libraries
    (~200 MB here), not the line. Holding the line would need 64 MB at least twice over."""
    folder = local.target.path(f"splashkit_usage/{DAY}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "flat.jsonl"), "wb") as handle:
        for _ in range(64):
            handle.write(b"z" * MB)
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, local.config.bucket_url,
                           str(warehouse_path)], capture_output=True, text=True, check=True)
    assert f"line of {64 * MB:,} bytes exceeds the 1 MB limit" not in done.stdout  # per line
    assert re.search(r"flat\.jsonl: 0 rows from 1 lines, 1 quarantined", done.stdout), done.stdout
    peak = int(re.search(r"peak_mb (\d+)", done.stdout).group(1))
    assert peak < 400, f"peak RSS {peak} MB"
    assert rows(warehouse_path, "SELECT line_number, reason, raw_line FROM "
                                "landing_raw.quarantine") == [
        (1, f"line of {64 * MB:,} bytes exceeds the 1 MB limit", None)]
