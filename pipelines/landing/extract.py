"""Ingesting the landing zone: each new or rewritten file in one DuckDB transaction.

For a file, in one transaction: its earlier rows and quarantined lines go (a rewrite replaces
them), its rows are parsed block by block and inserted, its quarantined lines stored (IP
addresses masked), its ledger row (`landing_raw._files`) and its feed's `platform.load_state`
row written. A run killed at any point leaves every file either wholly loaded or not at all;
the next run picks up what is left. A file that is not what its feed expects is quarantined
whole, in the same way (its earlier rows, if any, go: the warehouse mirrors the file as it is).

Failure isolation: whatever goes wrong while reading one file's bytes (its parse, its decoding,
its values on insert: RecursionError, MemoryError, a Polars or DuckDB error…) is that file's
fault: the file is quarantined whole with the error's class and message, recorded in the ledger
(so no later run trips on it again), and the run goes on to the next file. Only a failure of the
storage (or of this machine's disk) stops the run, and the file is read again next time.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
from polars.exceptions import PanicException  # a Rust panic: a BaseException, not Exception

from pipelines.landing import settings
from pipelines.landing.config import LandingConfig
from pipelines.landing.files import (
    BadFile,
    LandingFile,
    StorageError,
    TextBlocks,
    Vanished,
    list_feed,
    too_long,
)
from pipelines.landing.jsonl import SPLASHKIT_SCHEMA, JsonLinesParser, splashkit_row
from pipelines.landing.metric_lines import MetricLinesParser
from pipelines.landing.parsed import Parsed
from pipelines.landing.privacy import mask_line
from pipelines.landing.rails_log import RailsLogParser
from pipelines.landing.settings import DATASET, LEDGER, POINTS, QUARANTINE, Feed
from pipelines.metrics import settings as metrics_settings
from thoth.core import platform
from thoth.core.duck import open_warehouse
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import load_state
from thoth.core.platform.load_state import TableLoad
from thoth.core.storage import Target, open_target

SOURCE = "landing"


def make_parser(feed: Feed):
    if feed is settings.ONTRACK_LOGS:
        return RailsLogParser()
    if feed is settings.ONTRACK_METRICS:
        return MetricLinesParser()
    return JsonLinesParser(splashkit_row, SPLASHKIT_SCHEMA)


@dataclass
class FeedRun:
    """What one run did for a feed, for its log line and platform.load_state."""

    feed: Feed
    new: int = 0
    rewritten: int = 0
    unchanged: int = 0
    rows: int = 0
    replaced: int = 0
    quarantined_lines: int = 0
    quarantined_files: int = 0
    points: int = 0  # OTLP data points (ontrack_metrics), beside its rows
    vanished: int = 0  # listed, then gone before it was opened
    seconds: float = 0.0


def open_landing(config: LandingConfig) -> Target:
    return open_target(config.bucket_url, endpoint_url=config.endpoint_url,
                       credentials=config.credentials, section="landing")


def list_files(target: Target, config: LandingConfig) -> dict[str, list[LandingFile]]:
    """Every feed's files; a listing failure (permissions, no bucket) is one line."""
    # Listing objects needs only storage.objects.list (Storage Object Viewer): no bucket-level
    # call, which a reader's service account may not be allowed.
    try:
        return {name: list_feed(target, feed) for name, feed in settings.FEEDS.items()}
    except FileNotFoundError:
        raise ThothError(f"LANDING__BUCKET_URL is {config.bucket_url}: the bucket does not "
                         "exist or this account cannot list it") from None
    except Exception as exc:  # gcsfs raises its HttpError, OSError, … for one cause
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ThothError(f"cannot list the landing zone {config.bucket_url}: {first}") from None


def _ledger(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, datetime]]:
    return {path: (size, mtime) for path, size, mtime in con.execute(
        f"SELECT path, size, mtime FROM {DATASET}.{LEDGER}").fetchall()}


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_landing_batch", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {DATASET}.{table} BY NAME SELECT * FROM _landing_batch")
    finally:
        con.unregister("_landing_batch")


def _quarantine(con: duckdb.DuckDBPyConnection, file: LandingFile,
                entries: list[tuple[int | None, str, str | None]], stored: int) -> None:
    """Lines kept aside; past QUARANTINE_RAW_LINES_PER_FILE only their number and reason (a
    file of a wrong format would otherwise copy itself in)."""
    if not entries:
        return
    keep = max(settings.QUARANTINE_RAW_LINES_PER_FILE - stored, 0)
    now = _now()
    _insert(con, QUARANTINE, pl.DataFrame({
        "feed": [file.feed.name] * len(entries),
        "path": [file.path] * len(entries),
        "line_number": [n for n, _, _ in entries],
        "reason": [r for _, r, _ in entries],
        "raw_line": [_kept(t) if t is not None and i < keep else None
                     for i, (_, _, t) in enumerate(entries)],
        "quarantined_at": [now] * len(entries),
    }, schema={"feed": pl.String, "path": pl.String, "line_number": pl.Int64,
               "reason": pl.String, "raw_line": pl.String, "quarantined_at": pl.Datetime("us")}))


def _kept(line: str) -> str:
    """A quarantined line as stored: IP-masked, cut. Cut a little past the limit first: masking
    a 1 MB line costs ~0.2 s; an address starting before the limit still ends within the cut."""
    limit = settings.QUARANTINE_LINE_CHARS
    return mask_line(line[:limit + 64], limit)


def _forget(con: duckdb.DuckDBPyConnection, file: LandingFile) -> int:
    """Remove what an earlier version of the file left; the rows removed."""
    (removed,) = con.execute(f"DELETE FROM {DATASET}.{file.feed.name} WHERE source_file = ?",
                             [file.path]).fetchone()
    con.execute(f"DELETE FROM {DATASET}.{QUARANTINE} WHERE path = ?", [file.path])
    if file.feed is settings.ONTRACK_METRICS:
        (points,) = con.execute(f"DELETE FROM {DATASET}.{POINTS} WHERE source_file = ?",
                                [file.path]).fetchone()
        removed += points
    return removed


@dataclass
class FileResult:
    lines: int = 0
    rows: int = 0
    quarantined: int = 0
    context: int = 0
    blank: int = 0
    point_lines: int = 0
    points: int = 0
    replaced: int = 0
    unlisted_from: int | None = None  # the first quarantined line past QUARANTINE_ROWS_PER_FILE
    sha256: str | None = None
    reason: str | None = None  # the whole file was quarantined


def _count(con: duckdb.DuckDBPyConnection, file: LandingFile, parsed: Parsed,
           result: FileResult) -> None:
    """Quarantine a block's bad lines and add up its context and blank lines."""
    _set_aside(con, file, parsed.bad, result)
    result.context += parsed.context
    result.blank += parsed.blank
    result.point_lines += parsed.point_lines


def _set_aside(con: duckdb.DuckDBPyConnection, file: LandingFile,
               entries: list[tuple[int | None, str, str | None]], result: FileResult) -> None:
    """Quarantine lines, one row each up to QUARANTINE_ROWS_PER_FILE; past it only counted (in
    the ledger; `_unlisted` says so in one row). A file of millions of bad lines would otherwise
    hold them all in the transaction's memory."""
    room = max(settings.QUARANTINE_ROWS_PER_FILE - result.quarantined, 0)
    _quarantine(con, file, entries[:room], result.quarantined)
    if len(entries) > room:
        first = min(n for n, _, _ in entries[room:])
        result.unlisted_from = min(first, result.unlisted_from or first)
    result.quarantined += len(entries)


def _unlisted(con: duckdb.DuckDBPyConnection, file: LandingFile, result: FileResult) -> None:
    cap = settings.QUARANTINE_ROWS_PER_FILE
    if result.quarantined > cap:
        _quarantine(con, file, [(result.unlisted_from, f"{result.quarantined - cap:,} more "
                                 f"lines quarantined from here on, not listed one by one (past "
                                 f"{cap:,} in one file; the ledger counts them)", None)], cap)


def _count_too_long(con: duckdb.DuckDBPyConnection, file: LandingFile, blocks: TextBlocks,
                    result: FileResult) -> None:
    """Lines past MAX_LINE_BYTES, skipped unread: quarantined by number and length only."""
    entries = [(number, too_long(length), None) for number, length in blocks.take_too_long()]
    _set_aside(con, file, entries, result)


def _unexpected(exc: BaseException) -> str:
    """An error nobody planned for, as a quarantine reason: its class and first line, cut (and
    IP-masked: messages may quote the file's values)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return mask_line(f"{type(exc).__name__}: {first}".rstrip(": "), settings.REASON_CHARS)


def _parsed_blocks(con: duckdb.DuckDBPyConnection, file: LandingFile, parser,
                   blocks: TextBlocks, result: FileResult) -> Iterator[Parsed]:
    """Each block parsed, then what the parser held back to the end (rows too: a request still
    waiting for its end); lines too long to read are set aside as they are met."""
    for first_line, text in blocks:
        parsed = parser.block(first_line, text)
        _count_too_long(con, file, blocks, result)
        yield parsed
    _count_too_long(con, file, blocks, result)
    yield parser.finish()


def _read_into(con: duckdb.DuckDBPyConnection, target: Target, file: LandingFile,
               result: FileResult, spill_dir: Path) -> None:
    if file.refused:
        raise BadFile(file.refused)
    if not file.expected_type():
        suffixes = ", ".join(f"*{s}[.gz]" for s in file.feed.suffixes)
        raise BadFile(f"not a {file.feed.name} file: expected {suffixes}")
    parser = make_parser(file.feed)
    json_lines = file.name.removesuffix(".gz").endswith(".jsonl")
    blocks = TextBlocks(target, file,
                        settings.JSON_BLOCK_BYTES if json_lines else settings.BLOCK_BYTES)
    # The rows go to a local Parquet file first, then into DuckDB in one INSERT: thousands of
    # small INSERTs in one transaction keep their rows in memory until the commit (RSS grew with
    # the file), one large one writes row groups to disk as it goes.
    with tempfile.TemporaryDirectory(prefix="thoth-landing-", dir=spill_dir) as tmp:
        staged, staged_points = Path(tmp) / "rows.parquet", Path(tmp) / "points.parquet"
        writer: pq.ParquetWriter | None = None
        points: pq.ParquetWriter | None = None
        try:
            for parsed in _parsed_blocks(con, file, parser, blocks, result):
                if parsed.rows is not None and parsed.rows.height:
                    table = parsed.rows.to_arrow()
                    writer = writer or pq.ParquetWriter(staged, table.schema)
                    writer.write_table(table)
                    result.rows += parsed.rows.height
                if parsed.points is not None and parsed.points.height:
                    table = parsed.points.to_arrow()
                    points = points or pq.ParquetWriter(staged_points, table.schema)
                    points.write_table(table)
                    result.points += parsed.points.height
                _count(con, file, parsed, result)
        finally:
            for open_writer in (writer, points):
                if open_writer is not None:
                    open_writer.close()
        _unlisted(con, file, result)
        result.lines = blocks.lines
        for done, table, path in ((writer, file.feed.name, staged),
                                  (points, POINTS, staged_points)):
            if done is not None:
                con.execute(f"INSERT INTO {DATASET}.{table} BY NAME SELECT *, "
                            f"? AS source_file FROM read_parquet(?)", [file.path, str(path)])
    result.sha256 = blocks.sha256


def ingest_file(con: duckdb.DuckDBPyConnection, target: Target, file: LandingFile,
                run: FeedRun, mode: str, started: float, spill_dir: Path) -> FileResult:
    """One file, its ledger row and its feed's load_state row, in one transaction; its rows are
    staged in `spill_dir` (beside the warehouse) on the way."""
    result = FileResult()
    con.execute("BEGIN")
    try:
        result.replaced = _forget(con, file)
        try:
            _read_into(con, target, file, result, spill_dir)
        except Vanished:
            raise  # nothing of it was written: the transaction is rolled back below
        except (StorageError, OSError, duckdb.IOException) as exc:
            # The storage (or this machine's disk) failed, not the file: stop, read it next run.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ThothError(f"cannot read {file.path} from the landing zone: {first}; "
                             "nothing of it was loaded, the next run reads it again") from None
        except (Exception, PanicException) as exc:  # the file's fault, expected or not
            reason = str(exc) if isinstance(exc, BadFile) else _unexpected(exc)
            del exc  # a MemoryError's or RecursionError's frames: let them go now
            # Nothing of it is kept but the reason: start the transaction again.
            con.execute("ROLLBACK")
            con.execute("BEGIN")
            result = FileResult(replaced=_forget(con, file), reason=reason)
            _quarantine(con, file, [(None, f"whole file: {reason}", None)], 0)
        con.execute(
            f"INSERT OR REPLACE INTO {DATASET}.{LEDGER} BY NAME SELECT ? AS path, ? AS feed, "
            "? AS size, ? AS mtime, ? AS sha256, ? AS lines, ? AS rows, ? AS quarantined_lines, "
            "? AS context_lines, ? AS blank_lines, ? AS point_lines, ? AS points, ? AS status, "
            "? AS reason, ? AS loaded_at",
            [file.path, file.feed.name, file.size, file.mtime, result.sha256, result.lines,
             result.rows, result.quarantined, result.context, result.blank, result.point_lines,
             result.points,
             "quarantined" if result.reason else "loaded", result.reason, _now()])
        run.rows += result.rows
        run.points += result.points
        run.replaced += result.replaced
        run.quarantined_lines += result.quarantined
        run.quarantined_files += bool(result.reason)
        _record(con, run, mode, started)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _record(con: duckdb.DuckDBPyConnection, run: FeedRun, mode: str, started: float) -> TableLoad:
    feed = run.feed.name
    (total,) = con.execute(f"SELECT count(*) FROM {DATASET}.{feed}").fetchone()
    files, newest, quarantined, bad_files = con.execute(
        f"SELECT count(*), strftime(max(mtime), '%Y-%m-%d %H:%M:%S'), "
        f"coalesce(sum(quarantined_lines), 0), count(*) FILTER (status = 'quarantined') "
        f"FROM {DATASET}.{LEDGER} WHERE feed = ?", [feed]).fetchone()
    flags = f"{files:,} files, {quarantined:,} lines quarantined" + (
        f", {bad_files:,} files quarantined" if bad_files else "")
    load = TableLoad(SOURCE, feed, mode, "file_mtime", newest, run.rows, run.replaced, total,
                     round(time.perf_counter() - started, 3), _now(), flags)
    load_state.record(con, load)
    return load


def _describe(file: LandingFile, result: FileResult, rewritten: bool, seconds: float) -> str:
    what = "rewritten, " if rewritten else ""
    if result.reason:
        return f"landing.{file.path}: {what}quarantined whole: {result.reason}"
    replaced = f", replacing {result.replaced:,}" if rewritten else ""
    points = (f" and {result.points:,} OTLP data points ({result.point_lines:,} lines)"
              if result.point_lines else "")
    return (f"landing.{file.path}: {what}{result.rows:,} rows{points}{replaced} from "
            f"{result.lines:,} lines, {result.quarantined:,} quarantined, {seconds:.1f} s")


def extract(config: LandingConfig, warehouse: Path, *, full_refresh: bool = False,
            log: Callable[[str], None] = print, target: Target | None = None,
            feed_runs: list[FeedRun] | None = None) -> list[TableLoad]:
    """Ingest every file the warehouse does not hold yet, or holds in an older version;
    `full_refresh` drops the landing tables and the ledger first and reads every file again.
    `feed_runs`, when given, receives what this run did per feed (e.g. files quarantined)."""
    target = target or open_landing(config)
    listed = list_files(target, config)  # the source is checked before the warehouse is opened
    con = open_warehouse(warehouse, streaming=True)
    try:
        if full_refresh:
            con.execute("BEGIN")
            for table in (LEDGER, QUARANTINE, POINTS, *settings.FEEDS):
                con.execute(f"DROP TABLE IF EXISTS {DATASET}.{table}")
            if _has_load_state(con):
                con.execute("DELETE FROM platform.load_state WHERE source = ?", [SOURCE])
            con.execute("COMMIT")
        con.execute(settings.DDL)
        con.execute(metrics_settings.DDL)  # kpi_app_metrics reads the scrape's table too
        load_state.ensure(con)
        mode = "full" if full_refresh else "incremental"
        known = _ledger(con)
        loads = []
        for name, files in listed.items():
            run, started = FeedRun(settings.FEEDS[name]), time.perf_counter()
            for file in files:
                before = known.get(file.path)
                if before == (file.size, file.mtime):
                    run.unchanged += 1
                    continue
                begun = time.perf_counter()
                try:
                    result = ingest_file(con, target, file, run, mode, started,
                                         warehouse.parent)
                except Vanished:
                    run.vanished += 1
                    log(f"landing.{file.path}: gone before it was read (deleted or renamed "
                        "since the listing); not recorded, read if it comes back")
                    continue
                run.new += before is None
                run.rewritten += before is not None
                log(_describe(file, result, before is not None, time.perf_counter() - begun))
            con.execute("BEGIN")
            load = _record(con, run, mode, started)  # also when nothing new came: checked now
            con.execute("COMMIT")
            loads.append(load)
            if feed_runs is not None:
                feed_runs.append(run)
            whole = (f", {run.quarantined_files:,} files quarantined whole"
                     if run.quarantined_files else "")
            gone = f", {run.vanished:,} gone before read" if run.vanished else ""
            log(f"landing.{name}: {run.new:,} new files, {run.rewritten:,} rewritten, "
                f"{run.unchanged:,} unchanged{gone}; {run.rows:,} rows loaded"
                f"{f' (+{run.points:,} OTLP data points)' if run.points else ''}, "
                f"{run.quarantined_lines:,} lines quarantined{whole}; {load.rows_total:,} rows "
                f"in warehouse, last file {load.cursor_value or '-'}; {load.seconds:.1f} s")
        return loads
    finally:
        con.close()


def _has_load_state(con: duckdb.DuckDBPyConnection) -> bool:
    return platform.has_table(con, "load_state")
