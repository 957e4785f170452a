"""`thoth lake`: the raw tables (and platform.load_state, the builds' clock) as Parquet under
LAKE__BUCKET_URL, for a cluster to read. The layout and the manifest are thoth/core/lake.py's.

Order, so that a reader only ever sees a whole load:
1. render every table (every partition of a partitioned one) to a local Parquet file, rows sorted,
   so the same rows give the same bytes and so the same name (`part-<sha256, 16 hex>.parquet`);
2. upload the files the lake does not already hold under that name (a name is its content: an
   unchanged partition writes nothing, and a new file never overwrites one a reader uses);
3. write `_manifest.json`, last and whole (nothing at all when no table changed);
4. only then remove the lake's files the manifest no longer names (and a killed write's leftovers).
A write that fails before 3 leaves the previous manifest and every file it names untouched.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from thoth.core.duck import open_warehouse, utc_now
from thoth.core.errors import ThothError
from thoth.core.lake import MANIFEST, iso, read_manifest, write_manifest
from thoth.core.platform import load_state
from thoth.core.storage import Target, failed, storage_errors
from transforms.build import warehouse_sources
from warehouse.products.store import overlaps


@dataclass(frozen=True)
class Partitioning:
    column: str  # a date or timestamp column of the table; every file keeps it
    key: str  # the folder's name: <key>=<value>
    grain: str  # month | day


# Partitioned: the tables that grow without bound, by a time a row keeps for life (when it was
# created, when the event happened), so an hourly load adds to the newest partitions and leaves
# the others' bytes, and so their files, unchanged. Not by updated_at: an update would move a row
# and rewrite two partitions. Logs and events by day (millions a month at scale, and each hour
# rewrites only today's file); OnTrack's per-task tables by month (their age spreads over years;
# an update rewrites only the row's month): tasks and their comments, submissions, status
# changes (task_engagements, the largest at every scale), read receipts, and logins. Every other
# table is small (units, users, definitions: thousands of rows at most): one file each, as a
# partition per month would only multiply files.
PARTITIONS: dict[str, Partitioning] = {
    "ontrack_raw.tasks": Partitioning("created_at", "created_month", "month"),
    "ontrack_raw.task_comments": Partitioning("created_at", "created_month", "month"),
    "ontrack_raw.task_engagements": Partitioning("created_at", "created_month", "month"),
    "ontrack_raw.task_submissions": Partitioning("created_at", "created_month", "month"),
    "ontrack_raw.comments_read_receipts": Partitioning("created_at", "created_month", "month"),
    "ontrack_raw.logins": Partitioning("created_at", "created_month", "month"),
    "landing_raw.ontrack_logs": Partitioning("requested_at", "requested_day", "day"),
    "landing_raw.ontrack_metrics": Partitioning("time", "time_day", "day"),
    "landing_raw.splashkit_usage": Partitioning("time", "time_day", "day"),
}
FORMATS = {"month": "%Y-%m", "day": "%Y-%m-%d"}
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # rows whose time is NULL: Hive's and Spark's name


@dataclass
class TableReport:
    table: str
    rows: int
    written: int = 0
    kept: int = 0
    removed: int = 0


@dataclass
class LakeReport:
    target: str
    tables: list[TableReport] = field(default_factory=list)
    manifest_written: bool = False
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return sum(t.written for t in self.tables)

    @property
    def kept(self) -> int:
        return sum(t.kept for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class _File:
    local: Path
    relative: str
    size: int


def lake_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What the lake holds: every table a model may read (the loaded schemas', and
    platform.load_state), dlt's own bookkeeping (`_dlt_*`) aside."""
    return sorted(t for t in warehouse_sources(con) if not t.split(".", 1)[1].startswith("_dlt_"))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".", 1)
    return dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        "current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name]).fetchall())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _render(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str],
            part: Partitioning | None, workdir: Path) -> list[_File]:
    """The table's files, rows in the order of all their columns (the same rows: the same
    bytes)."""
    qualified = ".".join(_quote(n) for n in table.split(".", 1))
    if part is None:
        slices, source, select = [("", "TRUE", [])], qualified, "*"
    else:
        # One pass over the table, sorted by partition, so each partition's read below skips
        # the others' row groups (zone maps) instead of scanning the whole table again.
        value = f"strftime({_quote(part.column)}, '{FORMATS[part.grain]}')"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lake_slices AS SELECT {value} AS _lake_key, "
                    f"* FROM {qualified} ORDER BY _lake_key")
        source, select = "_lake_slices", "* EXCLUDE (_lake_key)"
        found = [v for (v,) in con.execute("SELECT DISTINCT _lake_key FROM _lake_slices "
                                           "ORDER BY 1 NULLS LAST").fetchall()]
        slices = [(f"{part.key}={v if v is not None else NULL_PARTITION}/",
                   "_lake_key = ?" if v is not None else "_lake_key IS NULL",
                   [v] if v is not None else []) for v in found]
        if not slices:  # an empty table is still one file: it carries the columns
            slices = [("", "TRUE", [])]
    files = []
    schema, name = table.split(".", 1)
    for n, (folder, where, params) in enumerate(slices):
        local = workdir / f"{schema}.{name}.{n}.parquet"
        con.execute(f"COPY (SELECT {select} FROM {source} WHERE {where} ORDER BY ALL) TO "
                    f"'{local}' (FORMAT parquet, COMPRESSION zstd)", params)
        digest = hashlib.sha256(local.read_bytes()).hexdigest()[:16]
        files.append(_File(local, f"{schema}/{name}/{folder}part-{digest}.parquet",
                           local.stat().st_size))
    if part is not None:
        con.execute("DROP TABLE _lake_slices")
    return files


def check_apart(lake: Target, others: dict[str, Target]) -> None:
    """The lake sweeps files it does not name: it must not be, hold, or sit inside another
    target (`others`: its setting's name → the target), or the sweep could reach their files."""
    for setting, other in others.items():
        if overlaps(lake, other):
            raise ThothError(f"LAKE__BUCKET_URL ({lake.url}) and {setting} ({other.url}) are the "
                             "same place or one holds the other: give the lake its own bucket "
                             "or folder; nothing was written")


def write_lake(warehouse: Path, target: Target, *, full: bool = False,
               log: Callable[[str], None] = print) -> LakeReport:
    """Mirror the warehouse's raw tables into the lake; `full`: upload every file again."""
    con = open_warehouse(warehouse, read_only=True)
    try:
        return write_from(con, target, full=full, log=log)
    finally:
        con.close()


def write_from(con: duckdb.DuckDBPyConnection, target: Target, *, full: bool = False,
               log: Callable[[str], None] = print) -> LakeReport:
    """The lake written from what `con` sees (an erasure's uncommitted state, too)."""
    started = time.perf_counter()
    report = LakeReport(target.url)
    try:
        previous = None if full else read_manifest(target)
        present = {} if full else target.listing()
    except storage_errors() as exc:
        raise _failed(target, exc) from None
    # open_warehouse turns this off for fast loads; the files must follow the ORDER BY.
    con.execute("SET preserve_insertion_order = true")
    loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
    with tempfile.TemporaryDirectory(prefix="thoth-lake-") as workdir:
        entries = {table: _table(con, table, loads.get(table), target, present, Path(workdir),
                                 report, log) for table in lake_tables(con)}
    snapshot = max(loads.values()) if loads else None
    manifest = {"snapshot_at": iso(snapshot), "tables": entries}
    unchanged = (previous is not None and previous.get("tables") == entries
                 and previous.get("snapshot_at") == manifest["snapshot_at"])
    try:
        if not unchanged:
            write_manifest(target, {"written_at": iso(utc_now()), **manifest})
            report.manifest_written = True
        report.removed = _remove_stale(target, entries, report)
    except storage_errors() as exc:
        raise _failed(target, exc, report.manifest_written) from None
    report.seconds = round(time.perf_counter() - started, 3)
    for t in report.tables:
        log(f"lake {t.table}: {t.rows:,} rows; {t.written} files written, {t.kept} kept, "
            f"{t.removed} removed")
    return report


def _table(con: duckdb.DuckDBPyConnection, table: str, loaded_at, target: Target,
           present: dict[str, int], workdir: Path, report: LakeReport,
           log: Callable[[str], None]) -> dict:
    columns = _columns(con, table)
    part = PARTITIONS.get(table)
    if part is not None and part.column not in columns:  # an older source generation
        log(f"lake {table}: no column {part.column}, written as one file")
        part = None
    files = _render(con, table, columns, part, workdir)
    rows = con.execute("SELECT count(*) FROM " + ".".join(_quote(n) for n in table.split(".", 1))
                       ).fetchone()[0]
    done = TableReport(table, rows)
    for f in files:
        if present.get(f.relative) == f.size:  # the name is the content: already there
            done.kept += 1
            continue
        try:
            target.put(str(f.local), f.relative)
        except storage_errors() as exc:
            raise _failed(target, exc) from None
        done.written += 1
    report.tables.append(done)
    return {"files": [f.relative for f in files], "rows": rows, "columns": columns,
            "partition_by": part.key if part else None, "loaded_at": iso(loaded_at)}


def _remove_stale(target: Target, entries: dict[str, dict], report: LakeReport) -> list[str]:
    """The lake's files the manifest does not name: replaced partitions, dropped tables, a killed
    write's uploads and temporary manifests. Only the lake's own kinds of file: anything else
    under the URL is left alone."""
    keep = {f for entry in entries.values() for f in entry["files"]}
    stale = sorted(p for p in target.listing() if p not in keep and (
        (p.count("/") >= 2 and p.rsplit("/", 1)[1].startswith("part-")
         and p.endswith(".parquet")) or p.startswith(f"{MANIFEST}.tmp-")))
    target.remove(stale)
    by_table = {t.table: t for t in report.tables}
    for path in stale:
        table = ".".join(path.split("/", 2)[:2])
        if table in by_table:
            by_table[table].removed += 1
    return stale


def _failed(target: Target, exc: BaseException, live: bool = False) -> ThothError:
    return failed(target, "writing the lake to", exc, (
        "the new manifest is written (readers see this load); removing the files it no longer "
        "names did not finish: the next `thoth lake` removes them") if live else (
        "the previous manifest and its files are untouched: fix it and run `thoth lake` again"))
