"""Running the GA4 source: one dlt load per report, then its `platform.load_state` row.

One load per report, so a report that fails (quota, permissions, a bad field) leaves its table
as it was while the reports before it stay loaded. dlt's working directory sits next to the
warehouse, and no DuckDB connection of ours is open while dlt loads.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import dlt
import duckdb
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.ga4 import settings
from pipelines.ga4.config import Ga4Config, Report
from pipelines.ga4.helpers.client import ReportReader, make_client
from pipelines.ga4.helpers.convert import column_comments
from pipelines.ga4.source import ReportStats, ga4
from thoth.core import platform
from thoth.core.duck import open_warehouse, utc_now
from thoth.core.errors import ThothError
from thoth.core.platform import load_state
from thoth.core.platform.load_state import TableLoad

SOURCE = "ga4"


def pipelines_dir(warehouse: Path) -> Path:
    """dlt's state and load packages for this warehouse: beside it, never in ~/.dlt."""
    return warehouse.parent / f"{warehouse.stem}.dlt-pipelines"


def make_pipeline(warehouse: Path) -> dlt.Pipeline:
    # Tag Arrow rows with their load, as dlt does for dicts: rows join to ga4_raw._dlt_loads,
    # and a re-read day shows which run replaced it.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # The rows are in the warehouse once loaded: don't keep a second copy in the working dir.
    dlt.config["load.delete_completed_jobs"] = True
    return dlt.pipeline(
        pipeline_name=settings.PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=settings.DATASET,
        pipelines_dir=str(pipelines_dir(warehouse)),
    )


def _prune_loaded_packages(pipeline: dlt.Pipeline, keep: int) -> None:
    """dlt keeps every loaded package's bookkeeping (~60 KB): an hourly job would pile up
    gigabytes a year. Keep the newest few for debugging."""
    loaded = Path(pipeline.working_dir) / "load" / "loaded"
    if loaded.is_dir():
        packages = sorted((p for p in loaded.iterdir() if p.is_dir()),
                          key=lambda p: p.stat().st_mtime)
        for package in packages[:-keep] if keep else packages:
            shutil.rmtree(package, ignore_errors=True)


def _cause(exc: BaseException) -> BaseException:
    """The error inside dlt's wrapper: ours (ThothError) or a locked warehouse, else dlt's."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ThothError):
            return seen
        if isinstance(seen, duckdb.IOException) and "lock" in str(seen).lower():
            return ThothError("the warehouse is in use by another process: wait for it to finish")
        seen = seen.__cause__ or seen.__context__
    return exc


def _flags(con: duckdb.DuckDBPyConnection, report: str, stats: ReportStats) -> str | None:
    """Days of this report whose data GA4 sampled, thresholded, folded into "(other)",
    truncated or restricted; and the properties a quota stopped in this run."""
    parts = []
    if _exists(con, settings.METADATA_TABLE):
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [settings.DATASET, settings.METADATA_TABLE]).fetchall()}
        checks = [("sampled", "sampling_ratio IS NOT NULL AND sampling_ratio < 1"),
                  ("thresholded", "subject_to_thresholding"),
                  ("other-row", "data_loss_from_other_row"),
                  ("truncated", "data_truncation IS NOT NULL"),
                  ("restricted", "schema_restrictions IS NOT NULL")]
        checks = [(label, where) for label, where in checks  # an older table lacks the new ones
                  if where.split()[0] in columns]
        counts = con.execute(
            "SELECT " + ", ".join(f"count(DISTINCT date) FILTER ({where})" for _, where in checks)
            + f" FROM {settings.DATASET}.{settings.METADATA_TABLE} WHERE report = ?", [report],
        ).fetchall()[0]
        parts = [f"{label} {days}d" for (label, _), days in zip(checks, counts, strict=True)
                 if days]
    parts += [f"stopped {pid}: {why.split(' (')[0]}" for pid, why in stats.stopped.items()]
    return ", ".join(parts) or None


def _comment(con: duckdb.DuckDBPyConnection, report: Report, comments: dict[str, str]) -> None:
    """Each column says which GA4 field, type and unit it holds (duckdb_columns().comment)."""
    present = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
        [settings.DATASET, report.name]).fetchall()}
    for column, text in comments.items():
        if column in present:
            con.execute(f'COMMENT ON COLUMN {settings.DATASET}."{report.name}"."{column}" IS '
                        f"'{text.replace(chr(39), chr(39) * 2)}'")


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return platform.has_table(con, table, settings.DATASET)


def _record(warehouse: Path, report: Report, config: Ga4Config, stats: ReportStats, mode: str,
            seconds: float) -> TableLoad:
    con = open_warehouse(warehouse)  # dlt's load is finished: the file is free
    try:
        load_state.ensure(con)
        total, newest = 0, None
        if _exists(con, report.name):
            total, newest = con.execute(
                f'SELECT count(*), max(date)::VARCHAR FROM {settings.DATASET}."{report.name}"'
            ).fetchall()[0]
            if stats.headers is not None:
                _comment(con, report, column_comments(report, stats.headers, config))
        load = TableLoad(SOURCE, report.name, mode, "date", newest, stats.rows, 0, total,
                         round(seconds, 3), utc_now(),
                         flags=_flags(con, report.name, stats))
        load_state.record(con, load)
        return load
    finally:
        con.close()


def _tokens_left(reader: ReportReader) -> str:
    """Per property, the tokens Google says are left this hour (the lower of the property's
    and the Cloud project's hourly buckets) and today."""
    parts = []
    for pid, quota in reader.quotas.items():
        hour = min(quota.tokens_per_hour.remaining, quota.tokens_per_project_per_hour.remaining)
        parts.append(f"{pid}: {hour:,} this hour, {quota.tokens_per_day.remaining:,} today")
    return "; ".join(parts)


def extract(
    config: Ga4Config,
    warehouse: Path,
    *,
    full_refresh: bool = False,
    start_date: date | None = None,
    log: Callable[[str], None] = print,
    clock: Callable[[], datetime] = utc_now,
) -> list[TableLoad]:
    """Load every configured report; `start_date` re-reads from that day (merging), and
    `full_refresh` drops the report tables and their state first (dlt's drop_resources).
    A property whose quota runs out gets no more requests this run (one line each); the
    reports keep what was read before. `clock` is when the run is (the property's today)."""
    reader = ReportReader(make_client(config), config, log, clock)  # no I/O yet
    pipeline = make_pipeline(warehouse)
    results = []
    for report in config.reports:
        started = time.perf_counter()
        stats: dict[str, ReportStats] = {}
        source = ga4(config, reader, start_date, stats).with_resources(report.name)
        try:
            info = pipeline.run(source, refresh="drop_resources" if full_refresh else None)
            info.raise_on_failed_jobs()
        except PipelineStepFailed as exc:
            raise _cause(exc) from None
        read = stats[report.name]
        mode = "full" if full_refresh or read.first_load else "incremental"
        result = _record(warehouse, report, config, read, mode, time.perf_counter() - started)
        log(f"ga4.{report.name}: {mode}, {read.rows:,} rows read in {read.pages} "
            f"page{'s' if read.pages != 1 else ''} ({read.windows} "
            f"window{'s' if read.windows != 1 else ''} of {config.window_days} d), "
            f"{result.rows_total:,} in warehouse up to {result.cursor_value or '-'}, "
            f"{read.tokens:,} quota tokens used (left: {_tokens_left(reader) or '-'}), "
            f"{result.seconds:.1f} s" + (f"; {result.flags}" if result.flags else ""))
        results.append(result)
    _prune_loaded_packages(pipeline, keep=settings.KEEP_LOADED_PACKAGES)
    return results
