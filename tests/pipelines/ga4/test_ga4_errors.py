"""GA4 failures: bounded retries, quota, permissions, bad reports, unreachable endpoint, bad
configuration. Each is one line and a non-zero exit; a failed report leaves its table as it was."""

from __future__ import annotations

import json

import pytest
from ga4_helpers import (
    EVENTS,
    PROPERTY,
    TRAFFIC,
    days_ago,
    load_state,
    loaded,
    one_line,
    query,
    served,
    stopped_lines,
    thoth,
)


def test_server_errors_are_retried_then_the_load_completes(ga4_env, standin, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("SOURCES__GA4__SERVER_ERROR_RETRIES", "3")
    standin.fail(500, times=2)
    standin.fail(503, times=1)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    expected = served(standin, TRAFFIC, PROPERTY, days_ago(9))
    assert loaded(ga4_env, TRAFFIC) == expected
    answered = {(json.dumps(r.body["dateRanges"]), r.body.get("offset")) for r in standin.requests}
    assert len(standin.requests) == len(answered) + 3
    assert "500 Internal error encountered. — retry 1 of 3 for this property this run" in out
    assert not stopped_lines(out)


def test_a_busy_property_is_retried_then_stopped_for_the_run(ga4_env, standin, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    standin.fail(429, times=None)  # "Exhausted concurrent requests quota." (Airbyte saw it)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err  # try later: the run goes on, the next one continues
    (line,) = stopped_lines(out)
    assert line == (f"ga4: property {PROPERTY} stopped for this run at traffic {days_ago(9)}: "
                    "429 Exhausted concurrent requests quota. — still so after 4 attempts; the "
                    "days before are loaded and the next run continues from there")
    assert len(standin.requests) == 4  # SOURCES__GA4__RETRY_ATTEMPTS; events asked nothing
    assert load_state(ga4_env)["events"][4].startswith(f"stopped {PROPERTY}: 429 Exhausted")


def test_retries_also_stop_at_the_deadline(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__SERVER_ERROR_RETRIES", "9")
    monkeypatch.setenv("SOURCES__GA4__RETRY_INITIAL_SECONDS", "0.2")
    monkeypatch.setenv("SOURCES__GA4__RETRY_TIMEOUT_SECONDS", "1")
    standin.fail(503, times=None)
    code, out, _ = thoth(capsys, "extract", "ga4")
    (line,) = stopped_lines(out)
    assert code == 0
    assert ("503 The service is currently unavailable. — still failing after retrying for 1 s"
            in line)
    assert 2 <= len(standin.requests) < 10


def test_daily_quota_stops_at_once(ga4_env, standin, capsys):
    standin.exhaust_daily_quota()
    code, out, _ = thoth(capsys, "extract", "ga4")
    (line,) = stopped_lines(out)
    assert code == 0
    assert ("GA4's daily quota is used up (Exhausted property tokens per day. These quota tokens "
            "will return in under 24 hours.)") in line
    assert len(standin.requests) == 1  # never retried


def test_failed_report_leaves_its_table_as_it_was(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    monkeypatch.setenv("SOURCES__GA4__PAGE_SIZE", "5")
    assert thoth(capsys, "extract", "ga4")[0] == 0
    events_before = query(ga4_env, "SELECT * FROM ga4_raw.events ORDER BY ALL")
    state_before = load_state(ga4_env)
    meta_before = query(ga4_env, "SELECT * FROM ga4_raw.report_metadata "
                                 "WHERE report = 'events' ORDER BY ALL")

    standin.revision += 1
    standin.subject_to_thresholding = True  # on the days the next run re-reads
    standin.flag_days = {days_ago(n) for n in range(4)}
    # Events fail on their second page, after rows were already read: a page a row, since
    # thresholding leaves a re-read day only a few rows.
    monkeypatch.setenv("SOURCES__GA4__PAGE_SIZE", "1")
    standin.fail(403, times=None, match=lambda pid, body: body["dimensions"][1]["name"]
                 == "eventName" and body.get("offset"))
    code, _, err = thoth(capsys, "extract", "ga4")
    line = one_line(err)
    assert code == 1
    assert (f"GA4 report 'events' for property {PROPERTY}: permission denied (User does not "
            "have sufficient permissions for this property." in line
            and f"has Viewer on property {PROPERTY}" in line)
    # traffic, loaded before the failure, has the revised data; events is exactly as before.
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9))
    assert load_state(ga4_env)["traffic"] != state_before["traffic"]
    assert query(ga4_env, "SELECT * FROM ga4_raw.events ORDER BY ALL") == events_before
    assert load_state(ga4_env)["events"] == state_before["events"]
    assert query(ga4_env, "SELECT * FROM ga4_raw.report_metadata "
                          "WHERE report = 'events' ORDER BY ALL") == meta_before

    standin.clear_faults()  # the next run carries on cleanly
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert loaded(ga4_env, EVENTS) == served(standin, EVENTS, PROPERTY, days_ago(9))
    assert load_state(ga4_env)["events"][4] == "thresholded 4d"


def test_invalid_dimension_names_the_report(ga4_env, standin, monkeypatch, capsys):
    bad = {"name": "devices", "dimensions": ["date", "deviceKategory"], "metrics": ["sessions"]}
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([bad]))
    code, _, err = thoth(capsys, "extract", "ga4")
    line = one_line(err)
    assert code == 1
    assert "GA4 report 'devices'" in line and "deviceKategory is not a valid dimension" in line
    assert len(standin.requests) == 1


def test_unreachable_endpoint(ga4_env, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__API_ENDPOINT", "http://127.0.0.1:1")
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 1
    assert one_line(err) == ("thoth: error: cannot reach the GA4 Data API at "
                             "http://127.0.0.1:1: connection refused")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("SOURCES__GA4__PROPERTY_IDS", "", "SOURCES__GA4__PROPERTY_IDS is empty: set it to your "
         "numeric GA4 property id (Admin → Property details), not the G-… measurement id"),
        ("SOURCES__GA4__PROPERTY_IDS", "G-ABC123XYZ", "that is a measurement id"),
        ("SOURCES__GA4__START_DATE", "2026-13-01",
         "SOURCES__GA4__START_DATE is '2026-13-01': expected a date as YYYY-MM-DD"),
        ("SOURCES__GA4__LOOKBACK_DAYS", "three", "SOURCES__GA4__LOOKBACK_DAYS is 'three'"),
        ("SOURCES__GA4__PAGE_SIZE", "500000", "expected a number between 1 and 250000"),
        ("SOURCES__GA4__REPORTS", '[{"name": "t", "dimensions": ["country"], "metrics": ["x"]}]',
         "GA4 report 't': dimensions must include date"),
        ("SOURCES__GA4__REPORTS", '[{"name": "t", "dimensions": ["date"], "metrics": ["x"], '
         '"dimension_filter": {"filter": {"fieldName": "a", "inList": ["b"]}}}]',
         "GA4 report 't': dimension_filter is not a FilterExpression"),
    ],
)
def test_config_errors_are_one_line_before_any_request(ga4_env, standin, monkeypatch, capsys,
                                                       key, value, message):
    monkeypatch.setenv(key, value)
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 1
    assert message in one_line(err)
    assert not standin.requests
    assert not ga4_env.exists()


def test_bad_start_date_flag_is_a_usage_error(ga4_env, capsys):
    with pytest.raises(SystemExit) as exit_info:
        thoth(capsys, "extract", "ga4", "--start-date", "25/11/2026")
    assert exit_info.value.code == 2
    assert "expected a date as YYYY-MM-DD, got '25/11/2026'" in capsys.readouterr().err


def test_no_credentials_for_google_says_what_to_set(ga4_env, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SOURCES__GA4__API_ENDPOINT", "analyticsdata.googleapis.com")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud login either
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 1
    assert "no GA4 credentials: put the service account's JSON key fields under " \
           "[sources.ga4.credentials]" in one_line(err)


def test_incomplete_service_account_key(ga4_env, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__API_ENDPOINT", "analyticsdata.googleapis.com")
    monkeypatch.setenv("SOURCES__GA4__CREDENTIALS__PROJECT_ID", "thoth")
    monkeypatch.setenv("SOURCES__GA4__CREDENTIALS__CLIENT_EMAIL", "ga4@thoth.iam.example")
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 1
    assert "[sources.ga4.credentials] lacks private_key" in one_line(err)


def test_help_names_the_ga4_keys(capsys):
    from thoth.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["extract", "ga4", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--start-date YYYY-MM-DD" in out and "--full-refresh" in out
    for key in ("PROPERTY_IDS", "START_DATE", "LOOKBACK_DAYS", "API_ENDPOINT"):
        assert f"SOURCES__GA4__{key}" in out


def test_load_state_gains_flags_and_keeps_ten_field_rows(tmp_path):
    """An older warehouse (no flags column) and OnTrack's ten positional fields still work."""
    from datetime import datetime

    import duckdb

    from thoth.core import platform
    from thoth.core.platform import load_state

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA platform")  # the table as OnTrack first made it:
        con.execute(platform.DDL["load_state"].split("-- Caveats")[0])
        con.execute("INSERT INTO platform.load_state VALUES "
                    "('ontrack', 'units', 'full', NULL, NULL, 1, 0, 1, 0.1, now()::TIMESTAMP)")
        assert load_state.read_all(con)[0].flags is None
        load_state.ensure(con)
        loaded_at = datetime(2026, 1, 1)
        load_state.record(con, load_state.TableLoad(
            "ontrack", "tasks", "incremental", "updated_at", "2026-01-01", 5, 1, 9, 0.5, loaded_at))
        load_state.record(con, load_state.TableLoad(
            "ga4", "traffic", "full", "date", "2026-01-01", 3, 0, 3, 0.2, loaded_at,
            "thresholded 1d"))
        rows = {(x.source, x.table): x for x in load_state.read_all(con)}
    assert rows[("ontrack", "tasks")].rows_total == 9 and rows[("ontrack", "tasks")].flags is None
    assert rows[("ga4", "traffic")].flags == "thresholded 1d"


def test_service_account_key_becomes_scoped_credentials(ga4_env, monkeypatch):
    """The production path, without a request: the key's fields through dlt's spec."""
    from cryptography.hazmat.primitives import serialization  # a dev dependency: never skipped
    from cryptography.hazmat.primitives.asymmetric import rsa

    from pipelines.ga4.config import load_config
    from pipelines.ga4.helpers.client import make_client

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    monkeypatch.setenv("SOURCES__GA4__API_ENDPOINT", "analyticsdata.googleapis.com")
    monkeypatch.setenv("SOURCES__GA4__CREDENTIALS", json.dumps({
        "type": "service_account", "project_id": "thoth", "private_key_id": "k1",
        "private_key": pem, "client_email": "ga4@thoth.iam.gserviceaccount.com"}))
    config = load_config()
    credentials = make_client(config)._transport._credentials
    assert credentials.service_account_email == "ga4@thoth.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/analytics.readonly" in credentials.scopes


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        ("disable_api", "the Google Analytics Data API is not enabled in Cloud project 123456: "
         "enable it at https://console.developers.google.com/apis/api/analyticsdata.googleapis"
         ".com/overview?project=123456 (APIs & Services → Library), wait a few minutes, run "
         "again"),
        ("require_quota_project", "Application Default Credentials of a user need a quota "
         "project: run `gcloud auth application-default set-quota-project PROJECT`"),
        ("lack_scopes", "the credentials lack the https://www.googleapis.com/auth/analytics"
         ".readonly scope (Request had insufficient authentication scopes.)"),
        ("deny", "permission denied (User does not have sufficient permissions for this "
         "property. To learn more about Property ID, see https://developers.google.com/"
         "analytics/devguides/reporting/data/v1/property-id.): check the service account has "
         f"Viewer on property {PROPERTY}"),
    ],
)
def test_each_403_says_what_to_fix(ga4_env, standin, capsys, cause, message):
    if cause == "deny":
        standin.fail(403, times=None)
    else:
        getattr(standin, cause)()
    code, out, err = thoth(capsys, "extract", "ga4")
    line = one_line(err)
    assert code == 1 and not stopped_lines(out)
    assert line.startswith(f"thoth: error: GA4 report 'traffic' for property {PROPERTY}: "
                           f"{message}")
    assert len(standin.requests) == 1  # never retried
