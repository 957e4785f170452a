"""The Prometheus scrape against a real endpoint: prometheus_client registries served over HTTP,
incremented between scrapes and restarted (a new registry) in the middle; the increases and
p95s in kpi_app_metrics are known exactly. Failing endpoints fail in one line, the others load."""

from __future__ import annotations

from pathlib import Path

import pytest
from landing_helpers import rows
from metrics_helpers import Endpoint, serve
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipelines.metrics.config import MetricsConfig, load_config
from pipelines.metrics.extract import extract
from thoth.core.errors import ThothError
from transforms.build import build
from transforms.checks import run_checks

LATENCY_BUCKETS = (0.1, 0.5, 1, 5)
# Only the metrics are in these warehouses: the other sources' models are skipped.
ABSENT = frozenset({"ontrack_raw", "ga4_raw", "landing_raw", "metrics_raw"})


def built(warehouse: Path) -> None:
    build(warehouse, pseudonym_key=b"unused: no OnTrack model is built",
          log=lambda line: None, absent_sources=ABSENT)
    assert run_checks(warehouse, log=lambda line: None, absent_sources=ABSENT)


class OnTrack:
    """What yabeda-rails and yabeda-sidekiq would expose, in one process's registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rails_requests_total", "requests",
                                ["controller", "action", "status"], registry=self.registry)
        self.waiting = Gauge("sidekiq_jobs_waiting_count", "waiting", ["queue"],
                             registry=self.registry)
        self.latency = Histogram("sidekiq_job_latency_seconds", "latency", ["queue", "worker"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.latency.labels("default", "PdfJob")  # exposed (all zero) from the start

    def work(self) -> None:
        """20 jobs: 10 at 0.05 s, 5 at 0.3 s, 3 at 0.7 s, 2 at 3 s."""
        for seconds, times in ((0.05, 10), (0.3, 5), (0.7, 3), (3.0, 2)):
            for _ in range(times):
                self.latency.labels("default", "PdfJob").observe(seconds)


def _config(*urls: str, token: str | None = None) -> MetricsConfig:
    config = MetricsConfig()
    config.scrape_urls, config.bearer_token = tuple(urls), token
    config.timeout_seconds, config.max_body_bytes = 5.0, 1 << 20
    return config


def test_increases_and_p95_across_a_restart(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    first = OnTrack()
    endpoint = Endpoint(first.registry)
    with serve(endpoint) as url:
        config, log = _config(url), []
        first.requests.labels("units", "index", "200").inc(5)
        first.waiting.labels("default").set(3)
        extract(config, warehouse, log=log.append)  # the baseline
        first.requests.labels("units", "index", "200").inc(6)
        first.requests.labels("units", "index", "500").inc(1)  # a new series: its baseline
        first.requests.labels("tasks", "show", "200").inc(2)
        first.waiting.labels("default").set(9)
        first.work()
        extract(config, warehouse, log=log.append)
        # The process restarts: a new registry, every series from zero.
        second = OnTrack()
        endpoint.registry = second.registry
        second.requests.labels("units", "index", "200").inc(4)
        second.waiting.labels("default").set(2)
        second.work()
        extract(config, warehouse, log=log.append)
        second.requests.labels("units", "index", "200").inc(1)
        second.requests.labels("units", "index", "500").inc(3)
        second.waiting.labels("default").set(6)
        extract(config, warehouse, log=log.append)
    assert len(log) == 4 and all(line.startswith("metrics.http://127.0.0.1:") for line in log)
    built(warehouse)
    got = rows(warehouse, "SELECT source, metric_name, route, queue, kind, observations, "
                          "increase, value_last, value_min, value_max, value_count, "
                          "round(value_sum, 9), "
                          "round(value_p95, 9) FROM marts.kpi_app_metrics ORDER BY ALL")
    assert got == [
        # units#index: 200 went 5 → 11 (+6), restart → 4 (a drop: counts whole), → 5 (+1);
        # 500 was first seen at 1 (a baseline), missing after the restart, then 3: more than 1,
        # but its _created moved, so a restart: 3 counts whole (a drop alone would say +2).
        # 6 + 4 + 1 + 3 = 14. tasks#show's only sample is a baseline: 0.
        ("prometheus", "rails_requests_total", "tasks#show", None, "counter", 1, 0.0, None,
         None, None, None, None, None),
        ("prometheus", "rails_requests_total", "units#index", None, "counter", 6, 14.0, None,
         None, None, None, None, None),
        ("prometheus", "sidekiq_job_latency_seconds", None, "default", "histogram", 4, None,
         None, None, None, 40.0, 20.2, 3.0),
        ("prometheus", "sidekiq_jobs_waiting_count", None, "default", "gauge", 4, None, 6.0,
         2.0, 9.0, None, None, None),
    ]
    # KR4.3 from the same samples: the jobs and their p95 wait, the largest backlog; no pool
    # metric exposed here (NULL, not 0).
    assert rows(warehouse, "SELECT source, jobs_waited, job_latency_p95_seconds, "
                           "queue_latency_max_seconds, jobs_waiting_max, db_pool_waiting_max "
                           "FROM marts.kpi_background_waits") == [
        ("prometheus", 40.0, 3.0, None, 9.0, None)]
    assert rows(warehouse, "SELECT status, count(*), sum(stored) > 0 FROM metrics_raw.scrapes "
                           "GROUP BY status") == [("ok", 4, True)]


def test_a_drop_without_start_times_counts_whole_as_increase_does(tmp_path: Path):
    """client_ruby (yabeda) exposes no _created: only the drop tells the restart."""
    warehouse = tmp_path / "w.duckdb"
    endpoint = Endpoint(CollectorRegistry())
    with serve(endpoint) as url:
        for value in (10, 25, 4, 9):  # +15, restart: +4, +5
            endpoint.body = (b"# TYPE sidekiq_jobs_executed_total counter\n"
                             b'sidekiq_jobs_executed_total{queue="mailers",worker="Mail"} '
                             + str(value).encode() + b"\n")
            extract(_config(url), warehouse, log=lambda line: None)
    built(warehouse)
    assert rows(warehouse, "SELECT metric_name, queue, observations, increase "
                           "FROM marts.kpi_app_metrics") == [
        ("sidekiq_jobs_executed_total", "mailers", 4, 24.0)]


def test_a_failing_endpoint_fails_in_one_line_and_the_others_are_stored(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    good = OnTrack()
    good.waiting.labels("default").set(1)
    broken = Endpoint(CollectorRegistry(), status="500 Internal Server Error")
    garbage = Endpoint(CollectorRegistry(), body=b'metric{label="unterminated 1\n')
    with serve(Endpoint(good.registry)) as ok, serve(broken) as error, serve(garbage) as bad:
        closed = "http://127.0.0.1:9/metrics"  # the discard port: nothing listens
        log: list[str] = []
        with pytest.raises(ThothError) as failure:
            extract(_config(closed, ok, error, bad), warehouse, log=log.append)
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("metrics scrape failed for 3 of 4 endpoints (")
    assert f"{error}: HTTP 500 Internal Server Error" in message
    assert f"{bad}: not the Prometheus text format" in message
    assert f"{closed}: unreachable" in message
    assert rows(warehouse, "SELECT target, status FROM metrics_raw.scrapes ORDER BY target") == \
        sorted([(closed, "failed"), (ok, "ok"), (error, "failed"), (bad, "failed")])
    assert rows(warehouse, "SELECT DISTINCT target FROM metrics_raw.samples") == [(ok,)]


def test_the_bearer_token_is_sent_and_a_refusal_names_the_setting(tmp_path: Path):
    endpoint = Endpoint(OnTrack().registry, token="s3cret-token-value")
    with serve(endpoint) as url:
        with pytest.raises(ThothError, match="HTTP 401 Unauthorized: check "
                                             "SOURCES__ONTRACK_METRICS__BEARER_TOKEN"):
            extract(_config(url), tmp_path / "w.duckdb", log=lambda line: None)
        extract(_config(url, token="s3cret-token-value"), tmp_path / "w.duckdb",
                log=lambda line: None)
    assert endpoint.seen_auth == [None, "Bearer s3cret-token-value"]


def test_configuration_from_the_environment(monkeypatch):
    monkeypatch.setenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS",
                       " http://web-1:9394/metrics, http://worker:9394/metrics ,")
    assert load_config().scrape_urls == ("http://web-1:9394/metrics",
                                         "http://worker:9394/metrics")
    monkeypatch.setenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS", "web-1:9394")
    with pytest.raises(ThothError, match="^SOURCES__ONTRACK_METRICS__SCRAPE_URLS has 'web-1:9394'"):
        load_config()
    monkeypatch.setenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS", "http://u:pw@web-1/metrics")
    with pytest.raises(ThothError) as failure:
        load_config()
    assert "pw" not in str(failure.value) and "BEARER_TOKEN" in str(failure.value)


def test_the_run_step_is_skipped_when_not_configured(monkeypatch, tmp_path: Path):
    from thoth.app.context import Context
    from thoth.app.steps import Skip, extract_in_run

    monkeypatch.delenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS", raising=False)
    with pytest.raises(Skip, match="SOURCES__ONTRACK_METRICS__SCRAPE_URLS is not set"):
        extract_in_run(Context(tmp_path / "w.duckdb", print), "metrics")


def test_thoth_extract_metrics_fails_in_one_line_without_the_token(tmp_path, monkeypatch, capsys):
    from thoth.cli import main

    token = "tok-9f8e7d6c5b4a"
    endpoint = Endpoint(OnTrack().registry, token="a-different-token")
    with serve(endpoint) as url:
        monkeypatch.setenv("SOURCES__ONTRACK_METRICS__SCRAPE_URLS", f"{url}?key={token}")
        monkeypatch.setenv("SOURCES__ONTRACK_METRICS__BEARER_TOKEN", token)
        monkeypatch.setenv("WAREHOUSE__PATH", str(tmp_path / "w.duckdb"))
        assert main(["extract", "metrics"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("thoth: error: metrics scrape failed for 1 "
                                                   "of 1 endpoints (")
    assert "HTTP 401 Unauthorized" in err
    assert token not in out + err and endpoint.seen_auth == [f"Bearer {token}"]
    assert rows(tmp_path / "w.duckdb", "SELECT target, reason FROM metrics_raw.scrapes") == [
        (url, "HTTP 401 Unauthorized: check SOURCES__ONTRACK_METRICS__BEARER_TOKEN")]


@pytest.mark.parametrize(("body", "reason"), [
    (b"\xff\xfe\x00binary", "the body is not UTF-8 text (byte 0)"),
    (b"# TYPE x counter\n" + b"x 1\n" * 2000, "the body is larger than 4,096 bytes"),
    (b"<html><body>Sign in</body></html>", "not the Prometheus text format"),
    (b"x{le=\"1\"} 1 1e400\n", "a sample timestamp inf is not a time"),
])
def test_a_hostile_body_is_one_failed_scrape_with_its_reason(tmp_path: Path, body, reason):
    warehouse = tmp_path / "w.duckdb"
    with serve(Endpoint(CollectorRegistry(), body=body)) as url:
        config = _config(url)
        config.max_body_bytes = 4096
        with pytest.raises(ThothError) as failure:
            extract(config, warehouse, log=lambda line: None)
    assert reason in str(failure.value) and "\n" not in str(failure.value)
    assert rows(warehouse, "SELECT status, stored FROM metrics_raw.scrapes") == [("failed", 0)]
    assert rows(warehouse, "SELECT count(*) FROM metrics_raw.samples") == [(0,)]
