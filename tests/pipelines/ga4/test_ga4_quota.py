"""GA4 quotas the way Google meters them (PropertyQuota), through the official client against
the stand-in: a used-up hourly, daily or thresholded-requests quota stops that property's
requests for the run with one line, keeps what was read, and the next run continues; server
errors are retried within a budget that protects the project's hourly server-error quota."""

from __future__ import annotations

import json

from ga4_helpers import (
    EVENTS,
    OTHER_PROPERTY,
    PROPERTY,
    TRAFFIC,
    dates_asked,
    days_ago,
    load_state,
    loaded,
    query,
    served,
    stopped_lines,
    thoth,
)

from thoth.demo.ga4_standin import TEXTS

AGES = {"name": "ages", "dimensions": ["date", "userAgeBracket"], "metrics": ["activeUsers"]}


def test_hourly_quota_stops_the_property_and_the_next_run_continues(ga4_env, standin, capsys):
    # Five requests of 5 tokens fit in this project's hour; the sixth is answered 429.
    standin.tokens_per_project_per_hour = 21
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert line == (
        f"ga4: property {PROPERTY} stopped for this run at traffic {days_ago(4)}: GA4's hourly "
        f"quota of the Cloud project for this property is used up ({TEXTS['project_hour']}); "
        "the days before are loaded and the next run continues from there")
    assert len(standin.requests) == 6
    # The five whole days read are loaded, with their metadata; nothing of the sixth.
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9),
                                              days_ago(5))
    assert query(ga4_env, "SELECT min(date), max(date), count(*) FROM ga4_raw.report_metadata") \
        == [(days_ago(9), days_ago(5), 5)]
    assert "0 this hour" in out  # the tokens Google said were left
    state = load_state(ga4_env)["traffic"]
    assert state[1] == days_ago(5).isoformat()
    assert state[4] == (f"stopped {PROPERTY}: GA4's hourly quota of the Cloud project for this "
                        "property is used up")

    standin.new_hour()
    standin.tokens_per_project_per_hour = 14_000
    standin.requests.clear()
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    assert not stopped_lines(out)
    # From the look-back before the last day read, on to today.
    assert dates_asked(standin)[0] == (days_ago(8).isoformat(),) * 2
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9))
    assert load_state(ga4_env)["traffic"][4] is None


def test_daily_quota_stops_only_that_property_in_every_report(ga4_env, standin, monkeypatch,
                                                              capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY},{OTHER_PROPERTY}")
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    standin.fail(429, times=None, message=TEXTS["day"], match=lambda pid, _: pid == PROPERTY)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert f"property {PROPERTY} stopped for this run at traffic {days_ago(9)}: GA4's daily" in line
    assert len(dates_asked(standin, PROPERTY)) == 1  # never again this run, in no report
    for report in (TRAFFIC, EVENTS):
        assert loaded(ga4_env, report) == served(standin, report, OTHER_PROPERTY, days_ago(9))
    assert load_state(ga4_env)["events"][4] == f"stopped {PROPERTY}: GA4's daily quota is used up"


def test_thresholded_requests_quota_stops_after_its_hourly_count(ga4_env, standin, monkeypatch,
                                                                  capsys):
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([AGES]))
    standin.thresholded_requests_per_hour = 3  # Google's is 120 an hour
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert (f"at ages {days_ago(6)}: GA4's hourly quota of potentially thresholded requests is "
            f"used up ({TEXTS['thresholded']})") in line
    rows = loaded(ga4_env, AGES)
    # Demographics are thresholded: GA4 withheld the rows with few users, and said so.
    assert rows == served(standin, AGES, PROPERTY, days_ago(9), days_ago(7))
    assert rows and min(r[3] for r in rows) >= standin.threshold_users
    assert query(ga4_env, "SELECT bool_and(subject_to_thresholding), count(*) "
                          "FROM ga4_raw.report_metadata") == [(True, 3)]


def test_server_errors_are_retried_within_a_budget_per_property(ga4_env, standin, monkeypatch,
                                                                capsys):
    monkeypatch.setenv("SOURCES__GA4__PROPERTY_IDS", f"{PROPERTY},{OTHER_PROPERTY}")
    monkeypatch.setenv("SOURCES__GA4__REPORTS", json.dumps([TRAFFIC, EVENTS]))
    standin.fail(500, times=None, match=lambda pid, _: pid == PROPERTY)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert ("500 Internal error encountered. — 3 server errors this run, no more retries: a "
            "property may have 10 an hour per Cloud project") in line
    assert len(dates_asked(standin, PROPERTY)) == 3  # the first try and 2 retries, in all reports
    for report in (TRAFFIC, EVENTS):
        assert loaded(ga4_env, report) == served(standin, report, OTHER_PROPERTY, days_ago(9))


def test_no_retry_when_google_says_few_server_errors_are_left(ga4_env, standin, capsys):
    standin.used(PROPERTY).server_errors = 7  # other clients spent 7 of the 10 this hour
    first = days_ago(9).isoformat()
    standin.fail(500, times=None,
                 match=lambda pid, body: body["dateRanges"][0]["startDate"] != first)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert "Google counts 2 left this hour" in line
    assert len(standin.requests) == 2  # the first day, then one 500 and no retry
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9),
                                              days_ago(9))


def test_a_window_stopped_on_its_second_page_loads_none_of_its_days(ga4_env, standin,
                                                                    monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__GA4__PAGE_SIZE", "5")
    stop_day = days_ago(4).isoformat()
    standin.fail(429, times=None, message=TEXTS["hour"], match=lambda _, body: body.get(
        "offset") and body["dateRanges"][0]["startDate"] == stop_day)
    code, out, err = thoth(capsys, "extract", "ga4")
    assert code == 0, err
    (line,) = stopped_lines(out)
    assert f"at traffic {stop_day}: GA4's hourly quota is used up" in line
    # Day 4's first page was read, its second refused: none of day 4 is loaded.
    assert loaded(ga4_env, TRAFFIC) == served(standin, TRAFFIC, PROPERTY, days_ago(9),
                                              days_ago(5))
    assert query(ga4_env, "SELECT max(date) FROM ga4_raw.report_metadata") == [(days_ago(5),)]
