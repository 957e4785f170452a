"""OnTrack's logs as production writes them: Doubtfire's own prefix (8.0.x escaped, 6.x/7.x
multi-line), its nginx proxy's access log (combined, and with durations), both in one file.
Built from the format strings in doubtfire-api and nginx (landing_helpers); loaded through the
real pipeline into a real DuckDB file."""

from __future__ import annotations

import re

import duckdb
import pytest
from landing_helpers import (
    DF_DAY,
    DOUBTFIRE_6_LOG,
    DOUBTFIRE_6_REQUESTS,
    DOUBTFIRE_8_ACCOUNTING,
    DOUBTFIRE_8_LOG,
    DOUBTFIRE_8_QUARANTINE,
    DOUBTFIRE_8_REQUESTS,
    NGINX_LOG,
    NGINX_REQUESTS,
    NGINX_TIMED_LOG,
    all_text,
    local_landing,
    rows,
)

from pipelines.landing import rails_log, settings


@pytest.fixture
def local(tmp_path):
    return local_landing(tmp_path / "landing")


def _requests(warehouse, where: str = "TRUE"):
    return rows(warehouse, "SELECT CAST(requested_at AS VARCHAR), method, path_template, status, "
                           "duration_ms, exception_class FROM landing_raw.ontrack_logs "
                           f"WHERE {where} ORDER BY requested_at, path_template")


def _accounting(warehouse, path):
    (row,) = rows(warehouse, "SELECT lines, rows, context_lines, quarantined_lines, blank_lines "
                             f"FROM landing_raw._files WHERE path = '{path}'")
    assert row[0] == sum(row[1:]), row
    return row


def test_doubtfire_8_every_started_is_a_request_and_500s_find_theirs(local, warehouse_path):
    path = local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG)
    local.extract(warehouse_path)
    # +1000 stored in UTC; Grape requests have no status; the 500 is the PUT (its client's
    # Unhandled exception came after another client's Started), the download has its Completed.
    assert _requests(warehouse_path) == DOUBTFIRE_8_REQUESTS
    assert rows(warehouse_path, "SELECT DISTINCT log_format FROM landing_raw.ontrack_logs") == [
        ("doubtfire",)]
    assert rows(warehouse_path, "SELECT line_number, client_network FROM "
                                "landing_raw.ontrack_logs ORDER BY line_number") == [
        (1, "198.51.100.0/24"), (2, "203.0.113.0/24"), (4, "192.0.2.0/24"),
        (5, "198.51.100.0/24"), (10, "203.0.113.0/24"), (11, "198.51.100.0/24")]
    assert rows(warehouse_path, "SELECT line_number, reason FROM landing_raw.quarantine "
                                "ORDER BY line_number") == DOUBTFIRE_8_QUARANTINE
    assert _accounting(warehouse_path, path) == DOUBTFIRE_8_ACCOUNTING


def test_doubtfire_6_multiline_backtraces_are_context_gzip_and_ipv6(local, warehouse_path):
    path = local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log.gz", DOUBTFIRE_6_LOG, gz=True)
    local.extract(warehouse_path)
    assert _requests(warehouse_path) == DOUBTFIRE_6_REQUESTS
    assert rows(warehouse_path, "SELECT client_network FROM landing_raw.ontrack_logs WHERE "
                                "line_number = 9") == [("2001:db8:5::/48",)]
    assert _accounting(warehouse_path, path) == (9, 3, 6, 0, 0)


def test_crlf_line_ends_read_the_same(local, warehouse_path):
    local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG.replace("\n", "\r\n"))
    local.extract(warehouse_path)
    assert _requests(warehouse_path) == DOUBTFIRE_8_REQUESTS


def test_nginx_combined_and_with_request_and_upstream_times(local, warehouse_path):
    combined = local.write(f"ontrack_logs/{DF_DAY}/proxy-access.log", NGINX_LOG)
    timed = local.write("ontrack_logs/2024/05/03/proxy-access.log.gz", NGINX_TIMED_LOG, gz=True)
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT CAST(requested_at AS VARCHAR), method, path_template, "
                                "status, bytes, duration_ms, upstream_ms FROM "
                                "landing_raw.ontrack_logs WHERE log_format = 'nginx' "
                                "ORDER BY requested_at") == NGINX_REQUESTS
    assert rows(warehouse_path, "SELECT path, line_number, reason, raw_line FROM "
                                "landing_raw.quarantine") == [
        (combined, 4, "nginx request is not METHOD PATH PROTOCOL",
         r'198.51.100.0/24 - - [02/May/2024:10:15:11 +1000] "\x16\x03\x01\x00\xCA\x01" 400 157 '
         '"-" "-"')]
    assert _accounting(warehouse_path, combined) == (4, 3, 0, 1, 0)
    assert _accounting(warehouse_path, timed) == (4, 4, 0, 0, 0)


def test_one_file_mixing_doubtfire_and_nginx_lines(local, warehouse_path):
    mixed = DOUBTFIRE_8_LOG.splitlines()
    for n, line in enumerate(NGINX_LOG.splitlines()):  # between a Started and its 500, etc.
        mixed.insert(3 + 4 * n, line)
    path = local.write(f"ontrack_logs/{DF_DAY}/mixed.log", "\n".join(mixed) + "\n")
    local.extract(warehouse_path)
    assert _requests(warehouse_path, "log_format = 'doubtfire'") == DOUBTFIRE_8_REQUESTS
    assert rows(warehouse_path, "SELECT count(*), sum(bytes) FROM landing_raw.ontrack_logs "
                                "WHERE log_format = 'nginx'") == [(3, 5181)]
    lines, requests, context, quarantined, blank = _accounting(warehouse_path, path)
    assert (lines, requests, quarantined, blank) == (25, 9, 4, 1)


def test_no_username_query_or_whole_address_is_stored(local, warehouse_path):
    local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG)
    local.write(f"ontrack_logs/{DF_DAY}/doubtfire-6.log", DOUBTFIRE_6_LOG)
    local.write(f"ontrack_logs/{DF_DAY}/proxy-access.log", NGINX_LOG)
    local.extract(warehouse_path)
    text = all_text(warehouse_path)
    assert "jsmith" not in text and "auth_token" not in text and "trigger=" not in text
    for ip in ("198.51.100.4", "203.0.113.50", "192.0.2.77", "203.0.113.51", "192.0.2.10",
               "2001:db8:5:6::9", "198.51.100.99"):
        assert not re.search(rf"(?<![\d.:]){re.escape(ip)}(?![\d:])", text), ip
    # The quarantined Started line is kept, scrubbed: no query string, the address truncated.
    assert rows(warehouse_path, "SELECT raw_line FROM landing_raw.quarantine WHERE reason = "
                                "'unparseable Started line'") == [
        ("2024-05-02 10:24:00 +1000,unknown,INFO: Started GET /api/units/9?… for "
         "203.0.113.0/24",)]


def test_requests_straddling_blocks_pair_as_in_one_block(local, warehouse_path, monkeypatch):
    local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG + DOUBTFIRE_6_LOG)
    local.extract(warehouse_path)
    whole = _requests(warehouse_path)
    monkeypatch.setattr(settings, "BLOCK_BYTES", 120)  # about a line a block
    local.extract(warehouse_path, full_refresh=True)
    assert _requests(warehouse_path) == whole == sorted(
        DOUBTFIRE_8_REQUESTS + DOUBTFIRE_6_REQUESTS, key=lambda r: (r[0], r[2]))


def test_an_end_past_the_pairing_window_is_quarantined_and_counted(local, warehouse_path,
                                                                   monkeypatch):
    monkeypatch.setattr(rails_log, "PAIRING_WINDOW_LINES", 2)
    monkeypatch.setattr(settings, "BLOCK_BYTES", 120)
    path = local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG)
    local.extract(warehouse_path)
    # The PUT's exception came 3 lines after it, the download's Completed 4: both too late.
    # (The window is checked at the end of each block, so these blocks hold about a line.)
    assert rows(warehouse_path, "SELECT count(*), count(status) FROM "
                                "landing_raw.ontrack_logs") == [(6, 0)]
    assert ("Completed without its Started",) in rows(
        warehouse_path, "SELECT reason FROM landing_raw.quarantine WHERE line_number = 14")
    assert _accounting(warehouse_path, path)[1:4:2] == (6, 5)


def test_an_older_warehouse_gets_a_nullable_status_and_the_new_columns(local, warehouse_path):
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("CREATE SCHEMA landing_raw")
        con.execute("CREATE TABLE landing_raw.ontrack_logs (requested_at TIMESTAMP NOT NULL, "
                    "method VARCHAR NOT NULL, path_template VARCHAR NOT NULL, status SMALLINT NOT "
                    "NULL, duration_ms DOUBLE, client_network VARCHAR, request_id VARCHAR, pid "
                    "INTEGER, log_format VARCHAR NOT NULL, source_file VARCHAR NOT NULL, "
                    "line_number BIGINT NOT NULL)")
        con.execute("INSERT INTO landing_raw.ontrack_logs VALUES ('2024-03-11 09:00:00', 'GET', "
                    "'/api/x', 200, 1.0, NULL, NULL, NULL, 'rails', 'old.log', 1)")
    local.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG)
    local.extract(warehouse_path)
    assert rows(warehouse_path, "SELECT count(*), count(status), count(exception_class) FROM "
                                "landing_raw.ontrack_logs") == [(7, 3, 1)]
