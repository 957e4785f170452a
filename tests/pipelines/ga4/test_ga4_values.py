"""What lands in ga4_raw, value by value: whole-number metrics GA4 reports with fractions kept
exactly, currency per request, the property's time zone for "today", day windows with their
own metadata (truncation, empty reason, schema restrictions kept)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ga4_helpers import (
    OTHER_PROPERTY,
    PROPERTY,
    TRAFFIC,
    dates_asked,
    days_ago,
    load_state,
    loaded,
    one_line,
    query,
    served,
    thoth,
)

KEY_EVENTS = {"name": "key_events", "dimensions": ["date", "eventName"],
              "metrics": ["keyEvents", "conversions", "keyEvents:purchase", "eventCount",
                          "userEngagementDuration"]}
REVENUE = {"name": "revenue", "dimensions": ["date", "country"],
           "metrics": ["totalRevenue", "sessions"]}


def _types(warehouse, table: str) -> dict[str, tuple[str, str | None]]:
    return {c: (t, note) for c, t, note in query(
        warehouse, "SELECT column_name, data_type, comment FROM duckdb_columns() "
                   "WHERE schema_name = 'ga4_raw' AND table_name = ?", [table])}


def test_fractional_whole_number_metrics_are_kept_exactly(ga4_env, standin, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([KEY_EVENTS]))
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    rows = loaded(ga4_env, KEY_EVENTS)
    assert rows == served(standin, KEY_EVENTS, PROPERTY, days_ago(9))  # float("…") each, exact
    assert any(r[3] != int(r[3]) for r in rows)  # GA4's fractions are there, not truncated
    types = _types(ga4_env, "key_events")
    assert types["key_events"] == ("DOUBLE", "GA4 metric keyEvents: TYPE_INTEGER (a whole "
                                   "number), which GA4 reports with fractions (attribution "
                                   "credit), kept exactly, as DOUBLE")
    assert types["key_events_purchase"][0] == types["conversions"][0] == "DOUBLE"
    assert types["event_count"] == ("BIGINT", "GA4 metric eventCount: TYPE_INTEGER (a whole "
                                    "number), as BIGINT")
    assert types["user_engagement_duration"] == (
        "DOUBLE", "GA4 metric userEngagementDuration: TYPE_SECONDS (seconds), as DOUBLE")
    assert types["date"][1].startswith("GA4 dimension date: the day in the property's time zone")


def test_an_unexpected_fraction_stops_the_report_untruncated(ga4_env, standin, monkeypatch,
                                                             capsys):
    report = {**KEY_EVENTS, "metrics": ["eventCount"]}
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([report]))
    standin.fractional_metrics.add("eventCount")  # GA4 starts sending fractions for it
    code, _, err = thoth(capsys, "extract", "ga4")
    line = one_line(err)
    assert code == 1
    assert (f"GA4 report 'key_events' for property {PROPERTY}: eventCount came back as '"
            in line and "though GA4 declares it TYPE_INTEGER; nothing of this report was "
            "loaded: add eventCount to SOURCES__GA4__FRACTIONAL_METRICS" in line)
    assert not ga4_env.exists() or not query(
        ga4_env, "SELECT * FROM duckdb_tables() WHERE table_name = 'key_events'")

    monkeypatch.setenv("SOURCES__GA4__FRACTIONAL_METRICS", "eventCount")
    code, _, err = thoth(capsys, "extract", "ga4", "--full-refresh")
    assert code == 0, err
    assert loaded(ga4_env, report) == served(standin, report, PROPERTY, days_ago(9),
                                             fractional={"eventCount"})
    assert _types(ga4_env, "key_events")["event_count"][0] == "DOUBLE"


def test_currency_code_is_set_per_request_or_left_to_the_property(ga4_env, standin, monkeypatch,
                                                                  capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY},{OTHER_PROPERTY}")
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([REVENUE]))
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert not any("currencyCode" in r.body for r in standin.requests)
    assert query(ga4_env, "SELECT DISTINCT currency_code FROM ga4_raw.revenue") == [("AUD",)]

    monkeypatch.setenv("SOURCES__GA4__CURRENCY_CODE", "usd")
    standin.requests.clear()
    assert thoth(capsys, "extract", "ga4", "--full-refresh")[0] == 0
    assert {r.body["currencyCode"] for r in standin.requests} == {"USD"}
    columns = ["property_id", "date", "country", "total_revenue", "sessions"]
    got = sorted(query(ga4_env, f"SELECT {', '.join(columns)} FROM ga4_raw.revenue"))
    want = sorted(served(standin, REVENUE, PROPERTY, days_ago(9), currency_code="USD")
                  + served(standin, REVENUE, OTHER_PROPERTY, days_ago(9), currency_code="USD"))
    assert got == want and want != sorted(served(standin, REVENUE, PROPERTY, days_ago(9))
                                          + served(standin, REVENUE, OTHER_PROPERTY, days_ago(9)))
    assert query(ga4_env, "SELECT DISTINCT r.currency_code, m.currency_code FROM ga4_raw.revenue r "
                          "JOIN ga4_raw.report_metadata m USING (property_id, date)") == [
        ("USD", "USD")]
    assert _types(ga4_env, "revenue")["total_revenue"][1] == (
        "GA4 metric totalRevenue: TYPE_CURRENCY (an amount of money in the row's currency_code), "
        "as DOUBLE")


def test_bad_currency_code_is_a_config_error(ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__CURRENCY_CODE", "dollars")
    code, _, err = thoth(capsys, "extract", "ga4")
    assert code == 1 and not standin.requests
    assert "SOURCES__GA4__CURRENCY_CODE is 'dollars': expected an ISO 4217 code" in one_line(err)


def test_the_property_time_zone_decides_today(ga4_env, standin, monkeypatch, capsys):
    # A zone whose date differs from UTC's at this hour (UTC+14 from 10:00 UTC, UTC-11 before).
    now = datetime.now(UTC)
    standin.time_zone = "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"
    standin.today = None  # the stand-in's clock, in its zone
    today = now.astimezone(ZoneInfo(standin.time_zone)).date()
    assert today != now.date()
    monkeypatch.setenv("SOURCES__GA4__START_DATE", str(today.fromordinal(today.toordinal() - 5)))
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert dates_asked(standin)[-1] == (today.isoformat(),) * 2
    assert query(ga4_env, "SELECT max(date), any_value(time_zone) FROM ga4_raw.report_metadata") \
        == [(today, standin.time_zone)]
    assert load_state(ga4_env)["traffic"][1] == today.isoformat()
    standin.requests.clear()
    assert thoth(capsys, "extract", "ga4")[0] == 0  # the look-back counts from the zone's today
    assert dates_asked(standin)[0] == (str(today.fromordinal(today.toordinal() - 3)),) * 2


def test_windows_of_days_each_with_their_own_metadata(ga4_env, standin, monkeypatch, capsys):
    standin.subject_to_thresholding = True
    standin.flag_days = {days_ago(5)}  # GA4 thresholded that day only
    assert thoth(capsys, "extract", "ga4")[0] == 0
    assert dates_asked(standin) == [(days_ago(n).isoformat(),) * 2 for n in range(9, -1, -1)]
    assert query(ga4_env, "SELECT date FROM ga4_raw.report_metadata "
                          "WHERE subject_to_thresholding") == [(days_ago(5),)]

    monkeypatch.setenv("SOURCES__GA4__WINDOW_DAYS", "3")
    standin.requests.clear()
    assert thoth(capsys, "extract", "ga4", "--full-refresh")[0] == 0
    assert dates_asked(standin) == [(days_ago(a).isoformat(), days_ago(b).isoformat())
                                    for a, b in ((9, 7), (6, 4), (3, 1), (0, 0))]
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9))
    # The window holding that day is thresholded as a whole; the others are not.
    assert query(ga4_env, "SELECT date, window_start, window_end FROM ga4_raw.report_metadata "
                          "WHERE subject_to_thresholding ORDER BY date") == [
        (days_ago(n), days_ago(6), days_ago(4)) for n in (6, 5, 4)]


def test_metadata_keeps_truncation_empty_reason_and_schema_restrictions(
        ga4_env, standin, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY},{OTHER_PROPERTY}")
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([REVENUE]))
    standin.truncated_before = days_ago(7)
    standin.restricted_metrics = {"totalRevenue"}
    standin.empty_properties.add(OTHER_PROPERTY)
    standin.empty_reason = "No data for the requested date range."
    assert thoth(capsys, "extract", "ga4")[0] == 0
    meta = {(pid, day): rest for pid, day, *rest in query(
        ga4_env, "SELECT property_id, date, data_truncation, schema_restrictions, empty_reason, "
                 "row_count FROM ga4_raw.report_metadata")}
    truncation = json.loads(meta[(PROPERTY, days_ago(9))][0])
    assert truncation == [{"type": "DATA_TRUNCATION_TYPE_PROPERTY", "date":
                           days_ago(7).isoformat(), "date_ranges": None, "message":
                           "Data truncated because the query attempts to read event data prior "
                           "to its retention date."}]
    assert meta[(PROPERTY, days_ago(7))][0] is None
    assert json.loads(meta[(PROPERTY, days_ago(2))][1]) == [
        {"metric": "totalRevenue", "restricted": ["REVENUE_DATA"]}]
    assert meta[(OTHER_PROPERTY, days_ago(2))][2:] == ["No data for the requested date range.", 0]
    flags = load_state(ga4_env)["revenue"][4]
    assert flags == "truncated 2d, restricted 10d"
