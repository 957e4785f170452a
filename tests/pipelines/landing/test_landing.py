"""The landing pipeline on real files, in a directory and in the GCS emulator: each file exactly
once, rewrites replace, both Rails log formats paired by id (never by adjacency), IPs never
stored whole, bad lines and bad files quarantined, config errors in one line."""

from __future__ import annotations

import gzip
import os
import re
import time

import pytest
from landing_helpers import (
    BAD_LOG,
    BAD_LOG_QUARANTINE,
    BAD_METRICS,
    BAD_METRICS_QUARANTINE,
    DAY,
    LOGRAGE,
    METRICS,
    PID_LOG,
    PLAIN_LOG,
    TAGGED_LOG,
    all_text,
    gcs_landing,
    jsonl,
    local_landing,
    rows,
    write_sample,
)

from pipelines.landing import extract as landing_extract
from pipelines.landing import settings
from pipelines.landing.privacy import mask_line, path_template, truncate_ip
from thoth.cli import main


@pytest.fixture(params=["local", "gcs"])
def landing(request, tmp_path):
    if request.param == "local":
        return local_landing(tmp_path / "landing")
    return gcs_landing(request.getfixturevalue("gcs_bucket"),
                       request.getfixturevalue("gcs_emulator"))


@pytest.fixture
def local(tmp_path):
    return local_landing(tmp_path / "landing")


def _ledger(warehouse):
    return rows(warehouse, "SELECT path, rows, quarantined_lines, status FROM landing_raw._files "
                           "ORDER BY path")


def _requests(warehouse, where: str = "TRUE"):
    return rows(warehouse, "SELECT CAST(requested_at AS VARCHAR), method, path_template, status, "
                           "duration_ms, log_format FROM landing_raw.ontrack_logs "
                           f"WHERE {where} ORDER BY requested_at, path_template")


def test_each_file_once_across_runs_and_a_new_file_alone(landing, warehouse_path):
    write_sample(landing)
    first = landing.extract(warehouse_path)
    counts = rows(warehouse_path, "SELECT (SELECT count(*) FROM landing_raw.ontrack_logs), "
                                  "(SELECT count(*) FROM landing_raw.ontrack_metrics), "
                                  "(SELECT count(*) FROM landing_raw.splashkit_usage)")
    assert counts == [(3 + 2 + 2 + 2, len(METRICS), 6)]
    assert sum("rows from" in line for line in first) == 6

    again = landing.extract(warehouse_path)  # nothing new: nothing read
    assert not any("rows from" in line for line in again)
    assert "landing.ontrack_logs: 0 new files, 0 rewritten, 4 unchanged; 0 rows loaded" in \
        "\n".join(again)
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.ontrack_logs") == [(9,)]

    landing.write(f"ontrack_metrics/{DAY}/metrics-1000.jsonl", jsonl(METRICS[:2]))
    third = [line for line in landing.extract(warehouse_path) if "rows from" in line]
    assert len(third) == 1 and third[0].startswith(
        f"landing.ontrack_metrics/{DAY}/metrics-1000.jsonl: 2 rows from 2 lines, 0 quarantined")
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.ontrack_metrics") == [(8,)]
    assert rows(warehouse_path, "SELECT table_name, rows_loaded, rows_total, flags FROM "
                                "platform.load_state WHERE source = 'landing' ORDER BY 1") == [
        ("ontrack_logs", 0, 9, "4 files, 0 lines quarantined"),
        ("ontrack_metrics", 2, 8, "2 files, 0 lines quarantined"),
        ("splashkit_usage", 0, 6, "1 files, 0 lines quarantined"),
    ]


def test_rewritten_file_replaces_its_rows_and_gzip_is_read(landing, warehouse_path):
    path = landing.write(f"ontrack_metrics/{DAY}/m.jsonl.gz", jsonl(METRICS), gz=True)
    landing.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT count(*), sum(value) FROM landing_raw.ontrack_metrics") \
        == [(6, 50.0)]
    time.sleep(0.01)  # a new modification time, as a producer re-uploading would give
    landing.write(path, jsonl(METRICS[:2] + ["broken"]), gz=True)
    lines = landing.extract(warehouse_path)
    assert any(line.startswith(f"landing.{path}: rewritten, 2 rows, replacing 6 from 3 lines, "
                               "1 quarantined") for line in lines), lines
    assert rows(warehouse_path, "SELECT count(*), sum(value) FROM landing_raw.ontrack_metrics") \
        == [(2, 3.0)]
    assert _ledger(warehouse_path) == [(path, 2, 1, "loaded")]
    landing.write(path, jsonl(METRICS[:2]), gz=True)  # fixed: its quarantined line goes too
    landing.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.quarantine") == [(0,)]
    assert rows(warehouse_path, "SELECT rows_deleted FROM platform.load_state "
                                "WHERE table_name = 'ontrack_metrics'") == [(2,)]


def test_same_size_rewrite_is_seen_by_its_modification_time(local, warehouse_path):
    path = local.write(f"ontrack_metrics/{DAY}/m.jsonl", jsonl(METRICS[:1]))
    local.extract(warehouse_path)
    changed = jsonl([{**METRICS[0], "value": 7}])
    assert len(changed) == len(jsonl(METRICS[:1]))
    local.write(path, changed)
    full = local.target.path(path)
    os.utime(full, (time.time() + 5, time.time() + 5))
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT value FROM landing_raw.ontrack_metrics") == [(7.0,)]


def test_same_content_under_two_names_is_two_files(landing, warehouse_path):
    landing.write(f"ontrack_metrics/{DAY}/a.jsonl", jsonl(METRICS))
    landing.write(f"ontrack_metrics/{DAY}/copy-of-a.jsonl", jsonl(METRICS))
    landing.extract(warehouse_path)
    landing.extract(warehouse_path)  # listed again: not read again
    assert rows(warehouse_path, "SELECT count(*), count(DISTINCT source_file) FROM "
                                "landing_raw.ontrack_metrics") == [(12, 2)]
    (sha_a, sha_b) = [r[0] for r in rows(warehouse_path, "SELECT sha256 FROM landing_raw._files "
                                                          "ORDER BY path")]
    assert sha_a == sha_b and len(sha_a) == 64


def test_interleaved_rails_entries_pair_by_request_id_then_pid_never_adjacency(
        local, warehouse_path):
    local.write(f"ontrack_logs/{DAY}/web-1.log", TAGGED_LOG)
    local.write(f"ontrack_logs/{DAY}/web-2.log", PID_LOG)
    local.write(f"ontrack_logs/{DAY}/dev.log", PLAIN_LOG)
    local.extract(warehouse_path)
    assert _requests(warehouse_path) == [
        # +1100 converted to UTC; C (same pid as A, own request id) is not mixed up with A.
        ("2024-03-11 09:00:01", "POST", "/api/projects/:id/task_def_id/:id/submission", 500,
         250.0, "rails"),
        ("2024-03-11 09:00:01", "GET", "/api/units/:id", 404, 4.0, "rails"),
        ("2024-03-11 09:00:01", "GET", "/api/units/:id/tasks", 200, 11.0, "rails"),
        ("2024-03-11 10:00:00", "GET", "/api/tasks/:id/comments", 200, 30.0, "rails"),
        ("2024-03-11 10:00:00", "GET", "/api/units/:id", 404, 2.0, "rails"),
        ("2024-03-11 11:00:00", "GET", "/api/auth/method", 200, 5.0, "rails"),
        ("2024-03-11 11:00:01", "DELETE", "/api/tasks/:id/pdf", 204, 7.0, "rails"),
    ]
    assert rows(warehouse_path, "SELECT request_id, pid, line_number FROM "
                                "landing_raw.ontrack_logs WHERE source_file LIKE '%web-%' "
                                "ORDER BY source_file, line_number") == [
        ("aaaaaaaa-0000-4000-8000-000000000001", 4021, 1),
        ("bbbbbbbb-0000-4000-8000-000000000002", 4022, 2),
        ("cccccccc-0000-4000-8000-000000000003", 4021, 3),
        (None, 5001, 1), (None, 5002, 2)]
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.quarantine") == [(0,)]


def test_entries_straddling_blocks_pair_as_in_one_block(local, warehouse_path, monkeypatch):
    log = TAGGED_LOG + PID_LOG + TAGGED_LOG.replace("2024-03-11 09:", "2024-03-11 13:")
    local.write(f"ontrack_logs/{DAY}/web-1.log", log)
    local.extract(warehouse_path)
    whole = _requests(warehouse_path)
    monkeypatch.setattr(settings, "BLOCK_BYTES", 150)  # about a line a block
    local.extract(warehouse_path, full_refresh=True)
    assert _requests(warehouse_path) == whole and len(whole) == 8


def test_lograge_json_lines_gzip_and_ipv6(local, warehouse_path):
    local.write(f"ontrack_logs/{DAY}/api.jsonl.gz", jsonl(LOGRAGE), gz=True)
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT CAST(requested_at AS VARCHAR), path_template, status, "
                                "duration_ms, client_network, request_id, log_format FROM "
                                "landing_raw.ontrack_logs ORDER BY 1") == [
        ("2024-03-11 09:05:00", "/api/units/:id/tasks", 200, 20.0, "2001:db8:abcd::/48", "r-1",
         "json"),
        ("2024-03-11 09:06:00", "/api/units/:id/tasks", 503, 100.0, "203.0.113.0/24", None,
         "json")]


@pytest.mark.parametrize("path, template", [
    ("/api/units/12/tasks?abbr=1", "/api/units/:id/tasks"),
    ("/api/units/12/34/56", "/api/units/:id/:id/:id"),
    ("/api/tasks/6f1c0a4e-8b0d-4a8e-9a45-0c7e5a1d2b3c/comments", "/api/tasks/:id/comments"),
    ("/api/submission/123.pdf", "/api/submission/:id.pdf"),
    ("/api/files/0123456789abcdef0123/download", "/api/files/:id/download"),
    ("/api/auth/method#x", "/api/auth/method"),
    ("/", "/"),
])
def test_path_templates_replace_ids(path, template):
    assert path_template(path) == template


def test_ip_addresses_are_truncated_and_never_stored_whole(local, warehouse_path):
    write_sample(local)
    local.write(f"ontrack_logs/{DAY}/bad.log", BAD_LOG)
    local.extract(warehouse_path)
    text = all_text(warehouse_path)
    for ip in ("203.0.113.9", "198.51.100.23", "203.0.113.10", "192.0.2.1", "203.0.113.77",
               "2001:db8:abcd:12::7", "203.0.113.200", "203.0.113.5", "203.0.113.6"):
        assert not re.search(rf"(?<![\d.:]){re.escape(ip)}(?![\d:])", text), ip
    assert "203.0.113.0/24" in text and "198.51.100.0/24" in text
    assert truncate_ip("::ffff:10.1.2.3") == "10.1.2.0/24" and truncate_ip("junk") is None
    assert mask_line("x 10.1.2.3 y 2001:db8:1:2::1 at 09:00:01", 1000) == \
        "x 10.1.2.0/24 y 2001:db8:1::/48 at 09:00:01"


def test_malformed_lines_are_quarantined_with_file_and_line_number(local, warehouse_path):
    bad_log = local.write(f"ontrack_logs/{DAY}/bad.log", BAD_LOG)
    bad_metrics = local.write(f"ontrack_metrics/{DAY}/m.jsonl",
                              jsonl(METRICS) + "\n".join(BAD_METRICS) + "\n")
    lines = local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT path, line_number, reason FROM landing_raw.quarantine "
                                "ORDER BY path, line_number") == sorted(
        [(bad_log, n, reason) for n, reason in BAD_LOG_QUARANTINE]
        + [(bad_metrics, n, reason) for n, reason in BAD_METRICS_QUARANTINE])
    assert rows(warehouse_path, "SELECT raw_line FROM landing_raw.quarantine WHERE "
                                "line_number = 2") == [
        ("I, [bad #1]  INFO -- : Started GET without a quoted path for 203.0.113.0/24",)]
    # The Started never completed (line 6) is a request of unknown status, not an error.
    assert _ledger(warehouse_path) == [(bad_log, 2, 3, "loaded"),
                                       (bad_metrics, len(METRICS), 4, "loaded")]
    assert rows(warehouse_path, "SELECT line_number, status FROM landing_raw.ontrack_logs "
                                "ORDER BY line_number") == [(1, 200), (6, None)]
    assert f"landing.{bad_log}: 2 rows from 6 lines, 3 quarantined" in "\n".join(lines)
    assert _accounting(warehouse_path) == [(bad_log, 6, 2, 1, 3, 0),
                                           (bad_metrics, len(METRICS) + 5, len(METRICS), 0, 4, 1)]


def _accounting(warehouse):
    """Every line of a loaded file is a row, context, quarantined or blank: nothing vanishes."""
    ledger = rows(warehouse, "SELECT path, lines, rows, context_lines, quarantined_lines, "
                             "blank_lines FROM landing_raw._files WHERE status = 'loaded' "
                             "ORDER BY path")
    for path, lines, *parts in ledger:
        assert lines == sum(parts), (path, lines, parts)
    return ledger


def test_every_line_is_accounted_for(landing, warehouse_path):
    write_sample(landing)
    landing.write(f"ontrack_metrics/{DAY}/blanks.jsonl", "\n" + jsonl(METRICS[:2]) + "  \n\n")
    landing.extract(warehouse_path)
    ledger = _accounting(warehouse_path)
    assert len(ledger) == 7
    assert [r[1:] for r in ledger if r[0].endswith("blanks.jsonl")] == [(5, 2, 0, 0, 3)]


def test_long_quarantined_lines_are_cut(local, warehouse_path):
    local.write(f"ontrack_metrics/{DAY}/m.jsonl", "x" * 5000 + "\n")
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT length(raw_line) FROM landing_raw.quarantine") == \
        [(settings.QUARANTINE_LINE_CHARS,)]


def test_binary_bad_gzip_wrong_encoding_and_wrong_type_are_quarantined_whole(
        landing, warehouse_path):
    landing.write(f"ontrack_logs/{DAY}/core.log", b"ELF\x00\x01\x02binary\n")
    landing.write(f"ontrack_metrics/{DAY}/cut.jsonl.gz",
                  gzip.compress(jsonl(METRICS).encode())[:40])
    landing.write(f"ontrack_metrics/{DAY}/plain.jsonl.gz", jsonl(METRICS))
    landing.write(f"splashkit_usage/{DAY}/latin1.jsonl", "{\"event\": \"caf\xe9\"}\n"
                  .encode("latin-1"))
    landing.write(f"splashkit_usage/{DAY}/notes.csv", "a,b\n1,2\n")
    landing.write(f"splashkit_usage/{DAY}/.usage.jsonl.tmp", "half a fi")  # being written
    landing.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT path, line_number, reason, raw_line FROM "
                                "landing_raw.quarantine ORDER BY path") == [
        (f"ontrack_logs/{DAY}/core.log", None, "whole file: binary content: a NUL byte at "
         "byte 3", None),
        (f"ontrack_metrics/{DAY}/cut.jsonl.gz", None, "whole file: bad gzip: Compressed file "
         "ended before the end-of-stream marker was reached", None),
        (f"ontrack_metrics/{DAY}/plain.jsonl.gz", None, "whole file: named .gz but not "
         "gzip-compressed", None),
        (f"splashkit_usage/{DAY}/latin1.jsonl", None, "whole file: not UTF-8 text: an invalid "
         "byte at byte 14", None),
        (f"splashkit_usage/{DAY}/notes.csv", None, "whole file: not a splashkit_usage file: "
         "expected *.jsonl[.gz]", None),
    ]
    assert {r[0] for r in rows(warehouse_path, "SELECT status FROM landing_raw._files")} == \
        {"quarantined"}
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.ontrack_metrics") == [(0,)]
    assert rows(warehouse_path, "SELECT flags FROM platform.load_state WHERE table_name = "
                                "'ontrack_metrics'") == [
        ("2 files, 0 lines quarantined, 2 files quarantined",)]


def test_a_file_failing_midway_leaves_nothing_of_itself(local, warehouse_path, monkeypatch):
    local.write(f"ontrack_metrics/{DAY}/a.jsonl", jsonl(METRICS))
    local.write(f"ontrack_metrics/{DAY}/b.jsonl", jsonl(METRICS))
    real = landing_extract._quarantine
    calls = []

    def crash_on_second_file(con, file, entries, stored):
        calls.append(file.path)
        if file.path.endswith("b.jsonl"):
            raise KeyboardInterrupt  # e.g. killed between inserting rows and the ledger row
        real(con, file, entries, stored)

    monkeypatch.setattr(landing_extract, "_quarantine", crash_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT DISTINCT source_file FROM landing_raw.ontrack_metrics") \
        == [(f"ontrack_metrics/{DAY}/a.jsonl",)]
    assert [r[0] for r in _ledger(warehouse_path)] == [f"ontrack_metrics/{DAY}/a.jsonl"]
    monkeypatch.setattr(landing_extract, "_quarantine", real)
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT count(*) FROM landing_raw.ontrack_metrics") == [(12,)]


@pytest.mark.parametrize("value, message", [
    (None, "LANDING__BUCKET_URL is not set: set it (or [landing] bucket_url in "
           ".dlt/config.toml) to the landing zone, gs://bucket/prefix or a directory"),
    ("/nonexistent/landing", "LANDING__BUCKET_URL is '/nonexistent/landing', which is not a "
                             "directory"),
    ("s3://bucket/landing", "LANDING__BUCKET_URL is 's3://bucket/landing': expected "
                            "gs://bucket/prefix or a local directory"),
    ("gs://", "LANDING__BUCKET_URL is 'gs://': name the bucket"),
])
def test_config_errors_are_one_line_and_touch_nothing(value, message, warehouse_path,
                                                      monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse_path))
    if value is None:
        monkeypatch.delenv("LANDING__BUCKET_URL", raising=False)
    else:
        monkeypatch.setenv("LANDING__BUCKET_URL", value)
    assert main(["extract", "landing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"thoth: error: {message}") and err.count("\n") == 1
    assert not warehouse_path.exists()


def test_a_missing_bucket_is_one_line(gcs_emulator, warehouse_path, monkeypatch, capsys):
    for key, value in {"WAREHOUSE__PATH": str(warehouse_path),
                       "LANDING__BUCKET_URL": "gs://no-such-bucket-here/landing",
                       "LANDING__ENDPOINT_URL": gcs_emulator}.items():
        monkeypatch.setenv(key, value)
    assert main(["extract", "landing"]) == 1
    err = capsys.readouterr().err
    assert err == ("thoth: error: LANDING__BUCKET_URL is gs://no-such-bucket-here/landing: the "
                   "bucket does not exist or this account cannot list it\n")
    assert not warehouse_path.exists()


def test_cli_run_step_and_status(local, warehouse_path, monkeypatch, capsys):
    from thoth.app.context import Context
    from thoth.app.steps import Skip, extract_in_run

    def in_run(log):  # the landing step of `thoth run`: its rows and its line's detail
        done = extract_in_run(Context(warehouse_path, log), "landing")
        return done.rows, done.detail

    monkeypatch.delenv("LANDING__BUCKET_URL", raising=False)
    with pytest.raises(Skip, match="LANDING__BUCKET_URL is not set"):
        in_run(print)
    write_sample(local)
    monkeypatch.setenv("LANDING__BUCKET_URL", local.config.bucket_url)
    monkeypatch.setenv("WAREHOUSE__PATH", str(warehouse_path))
    assert in_run(lambda line: None) == (9 + 6 + 6, "3 feeds")
    assert main(["extract", "landing", "--full-refresh"]) == 0
    assert "landing.splashkit_usage: 1 new files" in capsys.readouterr().out
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"landing\.ontrack_logs +9 .* full +file_mtime=\d{4}-\d\d-\d\d "
                     r"\d\d:\d\d:\d\d .* 4 files, 0 lines quarantined", out), out


def test_grape_logger_variants_without_ip_or_with_seconds(local, warehouse_path):
    local.write(f"ontrack_logs/{DAY}/grape.log", "\n".join([
        'Started GET "/api/units/5" at 2024-03-11 09:00:00 UTC',
        "  Parameters: {\"id\"=>\"5\"}",
        "Completed 200 in 6.29ms",
        'Started PUT "/api/tasks/8" for 192.0.2.9 at 2024-03-11 09:00:01 +0000',
        "Completed 422 in 1.25 s (ActiveRecord: 0.7631 s | View: 0.4995 s)",
    ]) + "\n")
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT path_template, status, duration_ms, client_network "
                                "FROM landing_raw.ontrack_logs ORDER BY requested_at") == [
        ("/api/units/:id", 200, 6.29, None), ("/api/tasks/:id", 422, 1250.0, "192.0.2.0/24")]


def test_a_storage_error_stops_the_run_without_quarantining_the_file(local, warehouse_path,
                                                                     monkeypatch):
    from pipelines.landing import files
    from thoth.core.errors import ThothError

    path = local.write(f"ontrack_metrics/{DAY}/m.jsonl.gz", jsonl(METRICS), gz=True)
    real = files._Hashing.read

    def flaky(self, size=-1):
        raise ConnectionResetError("Connection reset by peer")

    monkeypatch.setattr(files._Hashing, "read", flaky)
    with pytest.raises(ThothError, match=rf"cannot read {re.escape(path)} from the landing "
                                         "zone: Connection reset by peer; nothing of it"):
        local.extract(warehouse_path)
    assert _ledger(warehouse_path) == []
    monkeypatch.setattr(files._Hashing, "read", real)
    local.extract(warehouse_path)
    assert _ledger(warehouse_path) == [(path, len(METRICS), 0, "loaded")]
