"""Write each KPI table to local files, byte for byte the same for the same rows.

DuckDB's `COPY … TO` writes the Parquet and the CSV, from a SELECT ordered by the grain and cast
to types a BigQuery external table reads as they are.

Parquet files are named after their content (`<table>-<sha12>.parquet`), so a new publish never
overwrites a file a current manifest lists. A table is one Parquet file, unless it has a date
grain and holds at least `PARTITION_MIN_ROWS` rows per date on average: then it is
hive-partitioned by `dt`, one file per date. Partitions of a few rows would only make hundreds
of tiny files that BigQuery opens one by one; the ratio, unlike a row count, stays about the same
as a history table grows, so a table does not flip between the two layouts.

The CSV for Looker Studio has a fixed name (`looker_studio/<table>/<table>.csv`): it is the only
file in its folder and is replaced whole, in one object write.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from thoth.core.duck import quote as _q
from thoth.core.errors import ThothError

DATE_GRAIN = ("day", "week_start")  # a table with one of these in its grain may be partitioned
PARTITION = "dt"
# Average rows per date from which a table is split into one file per date (~1 MB of Parquet).
PARTITION_MIN_ROWS = 100_000

# DuckDB type → (the type the files carry, BigQuery's name for it). TIMESTAMP becomes
# TIMESTAMPTZ (µs, UTC-adjusted in Parquet), which BigQuery reads as TIMESTAMP, not DATETIME.
_CASTS = {
    "BOOLEAN": ("BOOLEAN", "BOOL"),
    "TINYINT": ("BIGINT", "INT64"), "SMALLINT": ("BIGINT", "INT64"),
    "INTEGER": ("BIGINT", "INT64"), "BIGINT": ("BIGINT", "INT64"),
    "HUGEINT": ("BIGINT", "INT64"), "UTINYINT": ("BIGINT", "INT64"),
    "USMALLINT": ("BIGINT", "INT64"), "UINTEGER": ("BIGINT", "INT64"),
    "UBIGINT": ("BIGINT", "INT64"), "UHUGEINT": ("BIGINT", "INT64"),
    "FLOAT": ("DOUBLE", "FLOAT64"), "DOUBLE": ("DOUBLE", "FLOAT64"),
    "DATE": ("DATE", "DATE"),
    "TIMESTAMP": ("TIMESTAMPTZ", "TIMESTAMP"), "TIMESTAMP_S": ("TIMESTAMPTZ", "TIMESTAMP"),
    "TIMESTAMP_MS": ("TIMESTAMPTZ", "TIMESTAMP"), "TIMESTAMP_NS": ("TIMESTAMPTZ", "TIMESTAMP"),
    "TIMESTAMP WITH TIME ZONE": ("TIMESTAMPTZ", "TIMESTAMP"),
    "VARCHAR": ("VARCHAR", "STRING"),
}


@dataclass(frozen=True)
class Column:
    name: str
    source_type: str  # in the warehouse
    file_type: str  # in the published files (DuckDB's name)
    bigquery_type: str
    description: str = ""


@dataclass
class TableSpec:
    name: str  # e.g. kpi_on_time
    columns: list[Column]
    grain: list[str]
    description: str = ""
    date_column: str | None = None  # partitioned by this when set

    @property
    def qualified(self) -> str:
        return f"marts.{self.name}"

    @property
    def date_grain(self) -> str | None:
        """The date in the grain (a day or a week), whether or not the files are split by it."""
        return next((g for g in self.grain if g in DATE_GRAIN), None)


@dataclass
class RenderedFile:
    kind: str  # parquet | csv
    relative: str  # path under the target
    local: str
    sha256: str
    bytes: int
    rows: int
    partition: str | None = None  # the dt value


@dataclass
class RenderedTable:
    spec: TableSpec
    rows: int
    files: list[RenderedFile] = field(default_factory=list)



def file_type(source_type: str) -> tuple[str, str]:
    base = source_type.upper()
    if base.startswith("DECIMAL") or base.startswith("NUMERIC"):
        return "DOUBLE", "FLOAT64"
    return _CASTS.get(base, ("VARCHAR", "STRING"))  # anything else (UUID, lists…) as text


def table_spec(con: duckdb.DuckDBPyConnection, name: str, meta: dict, *,
               partition_min_rows: int = PARTITION_MIN_ROWS) -> TableSpec:
    """The table's columns and grain from the warehouse and its model's YAML (`meta`); the
    partition column only when the table averages `partition_min_rows` rows per date."""
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' "
        "AND table_name = ? ORDER BY column_index", [name],
    ).fetchall()
    described = meta.get("columns") or {}
    columns = [Column(c, t, *file_type(t), description=((described.get(c) or {})
                                                         .get("description") or ""))
               for c, t in rows]
    names = [c.name for c in columns]
    grain = [g for g in meta.get("grain") or [] if g in names]
    date_column = next((g for g in grain if g in DATE_GRAIN), None)
    if date_column:
        rows, dates = con.execute(f"SELECT count(*), count(DISTINCT {_q(date_column)}) "
                                  f"FROM marts.{_q(name)}").fetchone()
        if not dates or rows < partition_min_rows * dates:
            date_column = None
    if PARTITION in names:
        raise ThothError(f"marts.{name} has a column named {PARTITION}, the partition key of "
                         "the published Parquet: rename it")
    return TableSpec(name, columns, grain, str(meta.get("description") or ""), date_column)


def _select(spec: TableSpec, *, with_partition: bool) -> str:
    def cast(c: Column) -> str:
        if c.file_type == c.source_type.upper():
            return _q(c.name)
        return f"CAST({_q(c.name)} AS {c.file_type}) AS {_q(c.name)}"

    columns = [cast(c) for c in spec.columns]
    if with_partition and spec.date_column:
        columns.append(f"CAST({_q(spec.date_column)} AS DATE) AS {PARTITION}")
    # The grain first, then every other column, so the order (and the bytes) never depend on
    # how DuckDB happened to scan the table.
    rest = [c.name for c in spec.columns if c.name not in spec.grain]
    order = ", ".join(f"{_q(c)} NULLS FIRST" for c in [*spec.grain, *rest])
    return f"SELECT {', '.join(columns)} FROM {spec.qualified} ORDER BY {order}"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _named(table: str, local: str, rows: int, partition: str | None) -> RenderedFile:
    sha = _sha256(local)
    named = os.path.join(os.path.dirname(local), f"{table}-{sha[:12]}.parquet")
    os.replace(local, named)
    sub = f"{PARTITION}={partition}/" if partition else ""
    return RenderedFile("parquet", f"kpi/{table}/{sub}{os.path.basename(named)}", named, sha,
                        os.path.getsize(named), rows, partition)


def csv_path(table: str) -> str:
    """Looker Studio's file: the one file in the table's folder, always under this name."""
    return f"looker_studio/{table}/{table}.csv"


def render(con: duckdb.DuckDBPyConnection, spec: TableSpec, workdir: Path) -> RenderedTable:
    """Parquet under `kpi/<table>/[dt=…/]` and one CSV under `looker_studio/<table>/`."""
    (rows,) = con.execute(f"SELECT count(*) FROM {spec.qualified}").fetchone()
    out = RenderedTable(spec, rows)
    parquet_dir = workdir / "kpi" / spec.name
    parquet_dir.mkdir(parents=True)
    if spec.date_column:
        (nulls,) = con.execute(f"SELECT count(*) FROM {spec.qualified} "
                               f"WHERE {_q(spec.date_column)} IS NULL").fetchone()
        if nulls:
            raise ThothError(f"{spec.qualified}: {nulls:,} rows have no {spec.date_column}, "
                             f"the partition key: run `thoth check`")
        con.execute(f"COPY ({_select(spec, with_partition=True)}) TO '{parquet_dir}' "
                    f"(FORMAT parquet, PARTITION_BY ({PARTITION}))")
    else:
        con.execute(f"COPY ({_select(spec, with_partition=False)}) TO "
                    f"'{parquet_dir / 'data.parquet'}' (FORMAT parquet)")
    for local in sorted(parquet_dir.rglob("*.parquet")):
        partition = (local.parent.name.split("=", 1)[1] if spec.date_column else None)
        out.files.append(_named(spec.name, str(local), pq.ParquetFile(local).metadata.num_rows,
                                partition))
    csv_dir = workdir / "looker_studio" / spec.name
    csv_dir.mkdir(parents=True)
    # One file per table: Looker Studio reads a folder of CSVs only if they share one schema,
    # and has no use for partitions.
    csv = csv_dir / "data.csv"
    con.execute(f"COPY ({_select(spec, with_partition=False)}) TO '{csv}' "
                "(FORMAT csv, HEADER true, DELIMITER ',', DATEFORMAT '%Y-%m-%d', "
                "TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')")
    out.files.append(RenderedFile("csv", csv_path(spec.name), str(csv), _sha256(str(csv)),
                                  os.path.getsize(csv), rows))
    if sum(f.rows for f in out.files if f.kind == "parquet") != rows:
        raise ThothError(f"{spec.qualified}: the Parquet files hold a different row count "
                         f"than the table ({rows:,})")
    return out
