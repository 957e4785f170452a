"""The stream KPIs on the hand-built landing files (landing_helpers): extracted through the real
pipeline, built, checked, every number known in advance; and published like every KPI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from kpi_fixtures import PSEUDONYM_KEY, Raw
from landing_helpers import (
    DF_DAY,
    DOUBTFIRE_6_LOG,
    DOUBTFIRE_8_LOG,
    NGINX_LOG,
    local_landing,
    rows,
    write_sample,
)
from publish_helpers import manifest, target_for

from transforms.build import build
from transforms.checks import run_checks
from warehouse.publish import publish


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A small OnTrack unit (kpi_fixtures.Raw) plus the hand-built landing files, loaded by the
    landing pipeline, transformed and checked."""
    root = tmp_path_factory.mktemp("streams")
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
        Raw().write(warehouse)
        landing = local_landing(root / "landing")
        write_sample(landing)
        landing.extract(warehouse)
        build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
        assert run_checks(warehouse, log=print)
    return warehouse


def test_api_health_per_day_and_path_template(warehouse):
    assert rows(warehouse, "SELECT CAST(day AS VARCHAR), path_template, source, requests, "
                           "requests_with_status, server_errors, client_errors, "
                           "round(error_rate, 6), requests_timed, p50_ms, round(p95_ms, 6) "
                           "FROM marts.kpi_api_health ORDER BY path_template") == [
        ("2024-03-11", "/api/auth/method", "rails", 1, 1, 0, 0, 0.0, 1, 5.0, 5.0),
        ("2024-03-11", "/api/projects/:id/task_def_id/:id/submission", "rails", 1, 1, 1, 0, 1.0,
         1, 250.0, 250.0),
        ("2024-03-11", "/api/tasks/:id/comments", "rails", 1, 1, 0, 0, 0.0, 1, 30.0, 30.0),
        ("2024-03-11", "/api/tasks/:id/pdf", "rails", 1, 1, 0, 0, 0.0, 1, 7.0, 7.0),
        # 404s are client errors, not in the error rate; p95 of [2, 4] = 2 + 0.95 × 2.
        ("2024-03-11", "/api/units/:id", "rails", 2, 2, 0, 2, 0.0, 2, 3.0, 3.9),
        # Rails 200 in 11 ms, lograge 200 in 20 ms and 503 in 100 ms: p95 = 20 + 0.9 × 80.
        ("2024-03-11", "/api/units/:id/tasks", "rails", 3, 3, 1, 0, 0.333333, 3, 20.0, 92.0),
    ]


@pytest.fixture(scope="module")
def production_logs(tmp_path_factory) -> Path:
    """Production-format logs: 2 May (UTC) from Doubtfire's log alone (8.0.x and 6.x), 4 May
    from Doubtfire's log and nginx's access log both."""
    root = tmp_path_factory.mktemp("production-logs")
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
        Raw().write(warehouse)
        landing = local_landing(root / "landing")
        landing.write(f"ontrack_logs/{DF_DAY}/doubtfire-api.log", DOUBTFIRE_8_LOG)
        landing.write(f"ontrack_logs/{DF_DAY}/doubtfire-api-6.log", DOUBTFIRE_6_LOG)
        landing.write("ontrack_logs/2024/05/04/doubtfire-api.log",
                      DOUBTFIRE_8_LOG.replace("2024-05-02", "2024-05-04"))
        landing.write("ontrack_logs/2024/05/04/proxy-access.log",
                      NGINX_LOG.replace("02/May/2024", "04/May/2024"))
        landing.extract(warehouse)
        build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
        assert run_checks(warehouse, log=print)  # the data tests hold on a Rails-only day
    return warehouse


def test_api_health_counts_each_request_once_and_says_what_it_cannot_know(production_logs):
    assert rows(production_logs, "SELECT CAST(day AS VARCHAR), path_template, source, requests, "
                                 "requests_with_status, server_errors, client_errors, "
                                 "error_rate, requests_timed, p50_ms FROM marts.kpi_api_health "
                                 "ORDER BY day, path_template") == [
        # Doubtfire alone: every Started counted; Grape's statuses unknown (client_errors
        # NULL), its 500s known from the unhandled exceptions; the download's Completed timed.
        ("2024-05-02", "/api/auth", "rails", 1, 0, 0, None, 0.0, 0, None),
        ("2024-05-02", "/api/projects", "rails", 1, 0, 0, None, 0.0, 0, None),
        ("2024-05-02", "/api/projects/:id/task_def_id/:id", "rails", 1, 1, 1, 0, 1.0, 0, None),
        ("2024-05-02", "/api/projects/:id/task_def_id/:id/submission", "rails", 1, 1, 1, 0, 1.0,
         0, None),
        ("2024-05-02", "/api/submission/unit/:id/portfolio", "rails", 1, 1, 0, 0, 0.0, 1, 151.0),
        ("2024-05-02", "/api/units/:id", "rails", 3, 0, 0, None, 0.0, 0, None),
        ("2024-05-02", "/api/units/:id/tasks", "rails", 1, 0, 0, None, 0.0, 0, None),
        # nginx and Doubtfire both: nginx's rows alone (its /home is no API request).
        ("2024-05-04", "/api/projects/:id/task_def_id/:id", "nginx", 1, 1, 1, 0, 1.0, 0, None),
        ("2024-05-04", "/api/units/:id", "nginx", 1, 1, 0, 0, 0.0, 0, None),
    ]


def test_app_metrics_per_day_and_name_in_utc(warehouse):
    assert rows(warehouse, "SELECT CAST(day AS VARCHAR), metric_name, observations, value_sum, "
                           "value_min, value_max, round(value_p95, 6) FROM marts.kpi_app_metrics "
                           "WHERE source = 'events' ORDER BY day") == [
        # 21:00 +10:00 is 11:00 UTC, the same day; epoch 1710205200 is 2024-03-12 01:00 UTC.
        ("2024-03-11", "jobs.queue_depth", 4, 10.0, 1.0, 4.0, 3.85),
        ("2024-03-12", "db.pool_wait_ms", 2, 40.0, 10.0, 30.0, 29.0),
    ]


def test_splashkit_usage_per_week_and_dimension(warehouse):
    got = rows(warehouse, "SELECT CAST(week_start AS VARCHAR), dimension, value, "
                          "active_installs, events, share_of_installs "
                          "FROM marts.kpi_splashkit_usage ORDER BY ALL")
    assert got == sorted([
        # Sunday 23:30 UTC still counts in the week of Monday 11 March.
        ("2024-03-11", "total", "all", 2, 5, 1.0),
        ("2024-03-11", "event", "install", 1, 1, 0.5),
        ("2024-03-11", "event", "function_called", 2, 3, 1.0),
        ("2024-03-11", "event", "project_created", 1, 1, 0.5),
        ("2024-03-11", "function", "draw_circle", 2, 2, 1.0),
        ("2024-03-11", "function", "open_window", 1, 1, 0.5),
        ("2024-03-11", "language", "C++", 1, 3, 0.5),
        ("2024-03-11", "language", "Python", 1, 2, 0.5),
        ("2024-03-11", "os", "Linux", 1, 3, 0.5),
        ("2024-03-11", "os", "Windows", 1, 2, 0.5),
        ("2024-03-11", "version", "1.3.0", 1, 3, 0.5),
        ("2024-03-11", "version", "1.3.1", 1, 2, 0.5),
        # inst-a upgraded to 1.3.1: the next week's adoption is whole.
        ("2024-03-18", "total", "all", 1, 1, 1.0),
        ("2024-03-18", "event", "function_called", 1, 1, 1.0),
        ("2024-03-18", "function", "draw_circle", 1, 1, 1.0),
        ("2024-03-18", "language", "C++", 1, 1, 1.0),
        ("2024-03-18", "os", "Linux", 1, 1, 1.0),
        ("2024-03-18", "version", "1.3.1", 1, 1, 1.0),
    ])


def test_stream_kpis_are_skipped_while_the_landing_zone_is_not_configured(tmp_path,
                                                                         monkeypatch):
    from pipelines import unconfigured_sources

    monkeypatch.delenv("LANDING__BUCKET_URL", raising=False)
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    assert "landing_raw" in unconfigured_sources()
    warehouse = tmp_path / "warehouse.duckdb"
    Raw().write(warehouse)
    with duckdb.connect(str(warehouse)) as con:  # as before any landing extract
        con.execute("DROP SCHEMA landing_raw CASCADE")
    lines: list[str] = []
    build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lines.append,
          absent_sources=unconfigured_sources())
    assert ("marts.kpi_api_health: skipped, landing_raw.ontrack_logs not loaded (source not "
            "configured)") in lines
    assert run_checks(warehouse, log=lines.append,
                      absent_sources=unconfigured_sources())


@pytest.mark.parametrize("kind", ["local", "gcs"])
def test_stream_kpis_publish_partitioned_by_their_date(warehouse, kind, tmp_path, request):
    endpoint = request.getfixturevalue("gcs_emulator") if kind == "gcs" else None
    bucket = request.getfixturevalue("gcs_bucket") if kind == "gcs" else None
    target = target_for(kind, tmp_path, bucket, endpoint)
    # Split by date even at a row a date (the default wants 100,000 rows a date on average).
    publish(warehouse, target, dataset="thoth_kpi", log=lambda line: None, partition_min_rows=1)
    tables = manifest(target)["tables"]
    for name, column, partitions in (("kpi_api_health", "day", ["2024-03-11"]),
                                     ("kpi_app_metrics", "day", ["2024-03-11", "2024-03-12"]),
                                     ("kpi_splashkit_usage", "week_start",
                                      ["2024-03-11", "2024-03-18"])):
        entry = tables[name]
        assert entry["partitioned_by"] == {"key": "dt", "type": "DATE", "column": column}
        # kpi_app_metrics also reads the scrape's samples (metrics_raw); the others one feed.
        assert entry["requires"] and all(r.startswith(("landing_raw.", "metrics_raw."))
                                         for r in entry["requires"])
        parquet = sorted(f["dt"] for f in entry["files"] if f["format"] == "parquet")
        assert parquet == partitions
        assert sum(f["rows"] for f in entry["files"] if f["format"] == "parquet") == \
            entry["rows"] > 0


def test_demo_samples_load_and_pass_the_data_tests(tmp_path, monkeypatch):
    from thoth.demo import run_landing_demo

    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", PSEUDONYM_KEY)
    warehouse = tmp_path / "warehouse.duckdb"
    Raw().write(warehouse)
    lines: list[str] = []
    run_landing_demo(warehouse, tmp_path / "landing", now=datetime(2026, 12, 5, 9, tzinfo=UTC),
                     log=lines.append)
    assert any(line.startswith("landed 31 sample files") for line in lines)
    build(warehouse, pseudonym_key=PSEUDONYM_KEY.encode(), log=lambda line: None)
    assert run_checks(warehouse, log=print)
    counts = rows(warehouse, "SELECT (SELECT count(*) FROM marts.kpi_api_health), "
                             "(SELECT count(*) FROM marts.kpi_app_metrics), "
                             "(SELECT count(*) FROM marts.kpi_splashkit_usage), "
                             "(SELECT count(*) FROM landing_raw.quarantine)")
    assert counts[0][0] > 0 and counts[0][1] > 0 and counts[0][2] > 0 and counts[0][3] == 4
    # Sizes producers can picture: the whole sample is small.
    size = sum(p.stat().st_size for p in (tmp_path / "landing").rglob("*") if p.is_file())
    assert size < 1_000_000
