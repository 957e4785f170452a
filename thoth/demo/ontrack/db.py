"""Connections and bulk writes for the two engines OnTrack runs on.

PostgreSQL gets CSV through `COPY ... FROM STDIN`; MariaDB gets the same CSV through
`LOAD DATA LOCAL INFILE` (about 4x faster than multi-row INSERTs through pymysql), falling back to
batched INSERTs when the server refuses local files.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pymysql
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.demo.ontrack.tables import Table

PG_SCHEMES = {"postgresql", "postgresql+psycopg", "postgres"}
MYSQL_SCHEMES = {"mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"}
_BATCH = 5_000  # rows per INSERT in the fallback path
_COPY_PIECE = 1 << 20  # bytes per psycopg copy.write call


@dataclass(frozen=True)
class Target:
    engine: str  # "postgresql" or "mysql"
    host: str
    port: int
    user: str | None
    password: str | None
    database: str


def parse_url(url: str) -> Target:
    """Split a SQLAlchemy-style URL; only PostgreSQL and MariaDB/MySQL URLs are accepted."""
    creds = ConnectionStringCredentials(url)
    scheme = (creds.drivername or "").lower()
    if scheme in PG_SCHEMES:
        engine, port = "postgresql", 5432
    elif scheme in MYSQL_SCHEMES:
        engine, port = "mysql", 3306
    else:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use postgresql+psycopg://... or "
            "mysql+pymysql://... (also postgresql://, mysql://, mariadb+pymysql://)"
        )
    if not creds.database:
        raise ValueError(f"the database URL names no database: {url!r}")
    # A socket directory in the query (postgresql://u@/db?host=/run/pg) as libpq takes it.
    host = creds.host or (creds.query or {}).get("host") or "127.0.0.1"
    return Target(engine, host, int(creds.port or port), creds.username,
                  creds.password, creds.database)


def connect(target: Target) -> Any:
    """A DB-API connection with autocommit off (the caller commits once, at the end)."""
    if target.engine == "postgresql":
        return psycopg.connect(host=target.host, port=target.port, user=target.user,
                               password=target.password or None, dbname=target.database)
    return pymysql.connect(host=target.host, port=target.port, user=target.user or "root",
                           password=target.password or "", database=target.database,
                           local_infile=True, charset="utf8mb4", autocommit=False)


def quote(engine: str, name: str) -> str:
    # `groups`, `timestamp` and `type` are (non-)reserved words on one engine or the other.
    return f'"{name}"' if engine == "postgresql" else f"`{name}`"


_ARROW = {
    "string": pa.string(), "text": pa.string(), "integer": pa.int32(), "bigint": pa.int64(),
    "boolean": pa.bool_(), "datetime": pa.timestamp("us"), "date": pa.date32(),
    "decimal": pa.int64(), "float": pa.float64(),
}


def to_arrow(table: Table, variant: str, engine: str, data: dict[str, Any]) -> pa.Table:
    """Columns of one table, cast to its spec, in spec order; absent columns take DB defaults.

    `id` is required. Other values may be numpy arrays (NaN/NaT = NULL), pyarrow arrays, lists
    or scalars (broadcast).
    A column that no variant of the table has is a bug in the generator, so it raises.
    """
    known = {c.name for c in table.columns}
    unknown = set(data) - known - {"id"}
    if unknown:
        raise KeyError(f"{table.name}: no such columns {sorted(unknown)}")
    n = len(data["id"])  # ids are always explicit, so relations are known before writing
    arrays, names = [pa.array(np.asarray(data["id"], dtype=np.int64))], ["id"]
    for col in table.columns_for(variant):
        if col.name not in data:
            continue
        value = data[col.name]
        if value is None:
            arr = pa.nulls(n, _ARROW[col.type])
        elif np.isscalar(value):
            arr = pa.repeat(pa.scalar(value), n)
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arr = value
        else:
            arr = pa.array(value, from_pandas=True)
        if len(arr) != n:
            raise ValueError(f"{table.name}.{col.name}: {len(arr)} values, expected {n}")
        arr = arr.cast(_ARROW[col.type])
        if col.type == "boolean" and engine == "mysql":
            arr = arr.cast(pa.int8())  # tinyint(1) rejects the words true/false
        arrays.append(arr)
        names.append(col.name)
    return pa.table(arrays, names=names)


def _csv(data: pa.Table, null: str) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False, null_string=null))
    return buf.getvalue()


def write_pg(conn: Any, name: str, data: pa.Table) -> None:
    cols = ", ".join(quote("postgresql", c) for c in data.column_names)
    payload = memoryview(_csv(data, ""))  # unquoted empty = NULL, "" = empty string
    with conn.cursor() as cur, cur.copy(
        f'COPY "{name}" ({cols}) FROM STDIN WITH (FORMAT csv)'
    ) as copy:
        for start in range(0, len(payload), _COPY_PIECE):
            copy.write(payload[start:start + _COPY_PIECE])


def write_mysql(conn: Any, name: str, data: pa.Table) -> None:
    cols = ", ".join(quote("mysql", c) for c in data.column_names)
    # An unquoted NULL is SQL NULL when fields are enclosed; ESCAPED BY '' keeps backslashes as
    # data, and embedded quotes arrive doubled, as CSV writes them.
    with tempfile.NamedTemporaryFile(suffix=".csv") as f, conn.cursor() as cur:
        f.write(_csv(data, "NULL"))
        f.flush()
        try:
            loaded = cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE `{name}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                f"LINES TERMINATED BY '\\n' ({cols})",
                (f.name,),
            )
            # LOCAL implies IGNORE: bad values and duplicate keys become warnings, not errors.
            cur.execute("SHOW WARNINGS LIMIT 3")
            warnings = cur.fetchall()
            if warnings or loaded != data.num_rows:
                raise ValueError(f"{name}: loaded {loaded} of {data.num_rows} rows; {warnings}")
            return
        except pymysql.err.OperationalError as exc:
            # Local infile disabled on the server or the client (MariaDB 4166, MySQL 1148/3948).
            if exc.args[0] not in (1148, 2068, 3948, 4166):
                raise
    marks = ", ".join(["%s"] * data.num_columns)
    sql = f"INSERT INTO `{name}` ({cols}) VALUES ({marks})"
    with conn.cursor() as cur:
        for batch in data.to_batches(_BATCH):
            cur.executemany(sql, list(zip(*batch.to_pydict().values(), strict=True)))


def execute_all(conn: Any, statements: list[str]) -> None:
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
