"""The GA4 pipeline against the local stand-in, through the official client: what lands in
ga4_raw, by value and by type; look-back, backfill, --start-date, --full-refresh."""

from __future__ import annotations

import json
import math
import tomllib
from datetime import UTC, date, datetime, timedelta

from ga4_helpers import (
    EVENTS,
    OTHER_PROPERTY,
    PROPERTY,
    TODAY,
    TRAFFIC,
    dates_asked,
    days_ago,
    load_state,
    loaded,
    query,
    served,
    thoth,
)

from pipelines.ga4 import settings
from pipelines.ga4.config import load_config
from pipelines.ga4.extract import extract, pipelines_dir


def test_pages_two_properties_into_one_typed_table(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY}, {OTHER_PROPERTY}")
    monkeypatch.setenv("SOURCES__GA4__PAGE_SIZE", "7")
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err

    expected = served(standin, TRAFFIC, PROPERTY, days_ago(9))
    other = served(standin, TRAFFIC, OTHER_PROPERTY, days_ago(9))
    assert loaded(ga4_env, TRAFFIC) == sorted(expected + other)
    assert expected and other and expected != other
    # One day a request (the default window); each day's pages asked for 7 rows at the next
    # offset, until rowCount was reached.
    for pid, rows in ((PROPERTY, expected), (OTHER_PROPERTY, other)):
        bodies = [r.body for r in standin.requests if r.property_id == pid]
        for n in range(9, -1, -1):
            day = days_ago(n).isoformat()
            asked = [b for b in bodies if b["dateRanges"] == [{"startDate": day, "endDate": day}]]
            count = sum(1 for r in rows if r[1] == days_ago(n))
            assert [int(b.get("offset", 0)) for b in asked] == (list(range(0, count, 7)) or [0])
        assert len(bodies) == sum(max(1, math.ceil(sum(1 for r in rows if r[1] == days_ago(n))
                                                   / 7)) for n in range(10))
        assert {b["limit"] for b in bodies} == {"7"}
        assert all(b["returnPropertyQuota"] for b in bodies)
        assert not any("currencyCode" in b for b in bodies)  # the property's own currency
    types = dict(query(ga4_env, "SELECT column_name, data_type FROM duckdb_columns() "
                                "WHERE schema_name = 'ga4_raw' AND table_name = 'traffic'"))
    assert types == {"property_id": "VARCHAR", "date": "DATE", "device_category": "VARCHAR",
                     "country": "VARCHAR", "active_users": "BIGINT", "sessions": "BIGINT",
                     "user_engagement_duration": "DOUBLE", "_dlt_load_id": "VARCHAR"}
    assert "ga4.traffic: full" in out and "(20 windows of 1 d)" in out
    assert f"quota tokens used (left: {PROPERTY}: 13," in out and " this hour, 199," in out
    state = load_state(ga4_env)["traffic"]
    assert state[:4] == ("full", TODAY.isoformat(), len(expected + other),
                         len(expected + other))  # a first load is a backfill


def test_lookback_replaces_revised_days_whole_and_leaves_older_days(ga4_env, standin, capsys):
    assert thoth(capsys, "extract", "ga4")[0] == 0
    before = loaded(ga4_env, TRAFFIC)
    first_load = query(ga4_env, "SELECT DISTINCT _dlt_load_id FROM ga4_raw.traffic")
    assert len(first_load) == 1

    standin.revision += 1  # GA4 revises today and yesterday: new values, some rows gone
    standin.requests.clear()
    code, out, _ = thoth(capsys, "extract", "ga4")
    assert code == 0 and "ga4.traffic: incremental" in out
    assert load_state(ga4_env)["traffic"][0] == "incremental"

    after = loaded(ga4_env, TRAFFIC)
    assert after == served(standin, TRAFFIC, PROPERTY, days_ago(9))  # no duplicates, none stale
    window = days_ago(3)  # default look-back: 3 days before the last day read (today)
    assert dates_asked(standin) == [(days_ago(n).isoformat(),) * 2 for n in range(3, -1, -1)]
    recent = {r[:4] for r in before if r[1] > days_ago(2)}
    assert recent - {r[:4] for r in after}, "a row GA4 dropped from a revised day must go"
    assert [r for r in after if r[1] > days_ago(2)] != [r for r in before if r[1] > days_ago(2)]
    # Days before the window were not re-read: same rows, same load.
    old = query(ga4_env, "SELECT DISTINCT _dlt_load_id FROM ga4_raw.traffic WHERE date < ?",
                [window])
    assert old == first_load
    assert [r for r in after if r[1] < window] == [r for r in before if r[1] < window]


def test_first_run_backfills_from_default_start(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.delenv("SOURCES__GA4__START_DATE")  # config.toml leaves it empty
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([EVENTS]))
    assert thoth(capsys, "extract", "ga4")[0] == 0
    start = date.today() - timedelta(days=settings.DEFAULT_BACKFILL_DAYS)  # the run's date
    assert standin.requests[0].body["dateRanges"][0]["startDate"] == start.isoformat()
    assert loaded(ga4_env, EVENTS) == served(standin, EVENTS, PROPERTY, start)
    assert query(ga4_env, "SELECT min(date) FROM ga4_raw.events")[0][0] == start


def test_a_run_after_a_long_pause_leaves_no_gap(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__START_DATE", days_ago(45).isoformat())
    standin.today = days_ago(40)  # the last run was 40 days ago: its clock and GA4's said so
    extract(load_config(), ga4_env, log=lambda line: None,
            clock=lambda: datetime.now(UTC) - timedelta(days=40))
    standin.today = TODAY
    monkeypatch.delenv("SOURCES__GA4__START_DATE")  # the default start (30 days ago) moved on
    standin.requests.clear()
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert standin.requests[0].body["dateRanges"][0]["startDate"] == days_ago(43).isoformat()
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(45))


def test_start_date_rereads_from_that_day(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__START_DATE", days_ago(4).isoformat())
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(4))

    standin.requests.clear()
    code, _, err = thoth(capsys, "extract", "ga4", "--start-date", days_ago(12).isoformat())
    assert code == 0, err
    assert standin.requests[0].body["dateRanges"][0]["startDate"] == days_ago(12).isoformat()
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(12))


def test_full_refresh_drops_the_table_and_its_position(ga4_env, standin, monkeypatch, capsys):
    import duckdb

    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    monkeypatch.setattr(settings, "KEEP_LOADED_PACKAGES", 3)
    assert thoth(capsys, "extract", "ga4")[0] == 0
    with duckdb.connect(str(ga4_env)) as con:  # a row no source has, outside the look-back
        con.execute("INSERT INTO ga4_raw.traffic (property_id, date, device_category, country, "
                    "_dlt_load_id) VALUES ('1', DATE '2000-01-01', 'x', 'y', '0')")
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert query(ga4_env, "SELECT count(*) FROM ga4_raw.traffic WHERE property_id = '1'") == [(1,)]

    standin.requests.clear()
    code, out, err = thoth(capsys, "extract", "ga4", "--full-refresh")
    assert code == 0, err
    assert standin.requests[0].body["dateRanges"][0]["startDate"] == days_ago(9).isoformat()
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9))
    assert loaded(ga4_env, EVENTS) == served(standin, EVENTS, PROPERTY, days_ago(9))
    assert load_state(ga4_env)["traffic"][0] == "full"
    assert "ga4.traffic: full" in out
    # Every report's metadata is there again, one row per day read.
    assert query(ga4_env, "SELECT report, count(*) FROM ga4_raw.report_metadata "
                          "GROUP BY ALL ORDER BY 1") == [("events", 10), ("traffic", 10)]
    # dlt's working directory sits beside the warehouse and keeps only the last few packages.
    loaded_packages = pipelines_dir(ga4_env) / settings.PIPELINE_NAME / "load" / "loaded"
    assert len(list(loaded_packages.iterdir())) == 3


def test_empty_report_loads_nothing_and_does_not_fail(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY},{OTHER_PROPERTY}")
    standin.empty_properties.add(PROPERTY)
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, OTHER_PROPERTY, days_ago(9))

    standin.empty_properties.add(OTHER_PROPERTY)  # every property empty, also on a first run
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([EVENTS]))
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    state = load_state(ga4_env)["events"]
    assert state[1:4] == (None, 0, 0)
    # The days were read: their metadata says so.
    assert query(ga4_env, "SELECT count(DISTINCT date) FROM ga4_raw.report_metadata "
                          "WHERE report = 'events'") == [(10,)]


def test_metadata_records_sampling_and_thresholding_and_status_shows_it(
        ga4_env, standin, capsys):
    standin.subject_to_thresholding = True
    standin.sampling = (250_000, 1_000_000)
    standin.data_loss_from_other_row = True
    assert thoth(capsys, "extract", "ga4")[0] == 0
    rows = query(ga4_env, "SELECT property_id, date, subject_to_thresholding, sampling_ratio, "
                          "data_loss_from_other_row, time_zone, currency_code "
                          "FROM ga4_raw.report_metadata WHERE report = 'traffic' ORDER BY date")
    assert [r[1] for r in rows] == [days_ago(n) for n in range(9, -1, -1)]
    assert {r[:1] + r[2:] for r in rows} == {
        (PROPERTY, True, 0.25, True, "Australia/Melbourne", "AUD")}
    assert load_state(ga4_env)["traffic"][4] == "sampled 10d, thresholded 10d, other-row 10d"

    code, out, _ = thoth(capsys, "status")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("ga4.traffic")]
    assert f"date={TODAY.isoformat()}" in line
    assert "sampled 10d, thresholded 10d, other-row 10d" in line
    assert "flags" in out.splitlines()[1]


def test_two_reports_each_get_a_table_and_a_status_row(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert loaded(ga4_env, EVENTS) == served(standin, EVENTS, PROPERTY, days_ago(9))
    assert set(load_state(ga4_env)) == {"traffic", "events"}
    assert query(ga4_env, "SELECT DISTINCT report FROM ga4_raw.report_metadata ORDER BY 1") == [
        ("events",), ("traffic",)]


def test_filters_reach_the_api(ga4_env, standin, monkeypatch, capsys):
    snake = {**EVENTS, "dimension_filter": {"filter": {
        "field_name": "eventName", "in_list_filter": {"values": ["page_view", "scroll"]}}}}
    camel = {**EVENTS, "name": "logins", "dimension_filter": {"filter": {  # as Google's docs
        "fieldName": "eventName", "stringFilter": {"value": "click"}}}}
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([snake, camel]))
    assert thoth(capsys, "extract", "ga4")[0] == 0
    names = {r[0] for r in query(ga4_env, "SELECT DISTINCT event_name FROM ga4_raw.events")}
    assert names == {"page_view", "scroll"}
    assert query(ga4_env, "SELECT DISTINCT event_name FROM ga4_raw.logins") == [("click",)]


def test_shipped_config_lists_the_default_reports():
    with open(".dlt/config.toml", "rb") as f:
        shipped = tomllib.load(f)["sources"]["ga4"]["reports"]
    assert shipped == settings.DEFAULT_REPORTS


def test_demo_loads_the_default_reports(ga4_env, capsys):
    from thoth.demo import run_ga4_demo

    lines: list[str] = []
    run_ga4_demo(ga4_env, now=datetime(2026, 12, 5, 9, tzinfo=UTC), log=lines.append)
    assert set(load_state(ga4_env)) == {r["name"] for r in settings.DEFAULT_REPORTS}
    for report in settings.DEFAULT_REPORTS:
        assert query(ga4_env, f"SELECT count(*) > 0 FROM ga4_raw.{report['name']}") == [(True,)]
    assert any(line.startswith("ga4.pages:") for line in lines)
