"""Scraping every configured endpoint into `metrics_raw`: each scrape in one transaction (its
samples and its row in `metrics_raw.scrapes`). An endpoint that fails (unreachable, an HTTP
error, a body that does not parse) is recorded as a failed scrape with its reason and the others
still load; the step then fails in one line naming it. Samples are stored as scraped
(cumulative counters stay cumulative); the models derive the increases."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from pipelines.landing import settings as landing_settings
from pipelines.metrics import settings
from pipelines.metrics.config import MetricsConfig
from pipelines.metrics.prometheus import Exposition, Unparsable, parse
from pipelines.metrics.scrape import ScrapeFailed, fetch, shown
from pipelines.metrics.settings import DATASET, SAMPLES, SCRAPES, SOURCE
from thoth.core.duck import open_warehouse
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import load_state
from thoth.core.platform.load_state import TableLoad


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The scrape's tables and the landing feed's: kpi_app_metrics reads both, whichever
    producer is configured."""
    con.execute(settings.DDL)
    con.execute(landing_settings.DDL)


def _store(con: duckdb.DuckDBPyConnection, target: str, scraped_at, exposition: Exposition,
           seconds: float) -> None:
    frame = exposition.rows.with_columns(pl.lit(target).alias("target"),
                                         pl.lit(scraped_at).cast(pl.Datetime("us"))
                                         .alias("scraped_at"))
    con.register("_scraped", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {DATASET}.{SAMPLES} BY NAME SELECT * FROM _scraped")
    finally:
        con.unregister("_scraped")
    skipped = exposition.skipped
    reason = (f"skipped {len(skipped):,}: {'; '.join(skipped[:3])}"[:500] if skipped else None)
    _scrape_row(con, target, scraped_at, "ok", exposition.samples, exposition.rows.height,
                len(skipped), reason, seconds)


def _scrape_row(con, target, scraped_at, status, samples, stored, skipped, reason, seconds):
    con.execute(f"INSERT INTO {DATASET}.{SCRAPES} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [target, scraped_at, status, samples, stored, skipped, reason, seconds])


def scrape_one(con: duckdb.DuckDBPyConnection, url: str, config: MetricsConfig,
               log: Callable[[str], None]) -> str | None:
    """Scrape one endpoint into the warehouse; its failure reason, or None."""
    target, scraped_at, begun = shown(url), _now(), time.perf_counter()
    token = config.bearer_token or None
    try:
        body = fetch(url, token=token, timeout=config.timeout_seconds,
                     max_bytes=config.max_body_bytes)
        exposition = parse(body, scraped_at)
    except (ScrapeFailed, Unparsable) as exc:
        reason = str(exc)
        con.execute("BEGIN")
        _scrape_row(con, target, scraped_at, "failed", 0, 0, 0, reason,
                    round(time.perf_counter() - begun, 3))
        con.execute("COMMIT")
        log(f"metrics.{target}: failed: {reason}")
        return reason
    seconds = round(time.perf_counter() - begun, 3)
    con.execute("BEGIN")
    try:
        _store(con, target, scraped_at, exposition, seconds)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    skipped = f", {len(exposition.skipped):,} skipped (NaN/Inf)" if exposition.skipped else ""
    log(f"metrics.{target}: {exposition.rows.height:,} samples{skipped}, {seconds:.2f} s")
    return None


def extract(config: MetricsConfig, warehouse: Path, *, full_refresh: bool = False,
            log: Callable[[str], None] = print) -> list[TableLoad]:
    """Scrape each configured URL once; ThothError naming the endpoints that failed, after the
    others were stored."""
    started = time.perf_counter()
    con = open_warehouse(warehouse)
    try:
        if full_refresh:
            con.execute("BEGIN")
            for table in (SAMPLES, SCRAPES):
                con.execute(f"DROP TABLE IF EXISTS {DATASET}.{table}")
            con.execute("COMMIT")
        ensure_tables(con)
        load_state.ensure(con)
        (before,) = con.execute(f"SELECT count(*) FROM {DATASET}.{SAMPLES}").fetchone()
        failures = {shown(url): reason for url in config.scrape_urls
                    if (reason := scrape_one(con, url, config, log)) is not None}
        (total,) = con.execute(f"SELECT count(*) FROM {DATASET}.{SAMPLES}").fetchone()
        (newest,) = con.execute(f"SELECT strftime(max(scraped_at), '%Y-%m-%d %H:%M:%S') FROM "
                                f"{DATASET}.{SCRAPES} WHERE status = 'ok'").fetchone()
        ok = len(config.scrape_urls) - len(failures)
        load = TableLoad(SOURCE, SAMPLES, "full" if full_refresh else "incremental",
                         "scraped_at", newest, total - before, 0, total,
                         round(time.perf_counter() - started, 3), _now(),
                         f"{ok} of {len(config.scrape_urls)} endpoints scraped")
        con.execute("BEGIN")
        load_state.record(con, load)
        con.execute("COMMIT")
    finally:
        con.close()
    if failures:
        listed = "; ".join(f"{t}: {r}" for t, r in failures.items())
        others = ("the others were stored" if len(failures) < len(config.scrape_urls)
                  else "nothing was stored; the next run scrapes again")
        raise ThothError(f"metrics scrape failed for {len(failures)} of "
                         f"{len(config.scrape_urls)} endpoints ({listed}); {others}")
    return [load]
