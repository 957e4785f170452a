"""`thoth retention`: rows past their retention period leave the warehouse for an archive.

Per policy (retention.yml beside this file): the rows whose date is before the cut-off are
written to Parquet, uploaded to `<archive>/<archive id>/data.parquet` (a directory or `gs://`,
through the publish step's fsspec target), read back and compared (sha256 of the file; row
count and a checksum of every value), described in `manifest.json` beside it, and only then
deleted — in one transaction with `platform.retention_state`, `platform.archives` and the audit row.

The source still has those rows, so a later load would bring them back: the OnTrack loader
drops again, after each table's load and in the same transaction, the rows older than the last
cut-off applied to that table whose ids were archived (`platform.archived_ids`; the rule lives
below the pipelines, in thoth/core/platform/retention_state.py).
A row older than the cut-off that was never archived — it arrived late, or on a first load — is
kept until retention archives it (`thoth run` does so the same hour: `late_rows`), never dropped
unarchived. A restore lowers the mark to the oldest restored row, so restored rows stay.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import yaml

from thoth.core import platform
from thoth.core.duck import open_warehouse, transaction
from thoth.core.duck import quote as _q
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import audit, erasures
from thoth.core.storage import Target, failed, storage_errors

POLICIES = Path(__file__).with_name("retention.yml")
PERIOD = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$")


@dataclass(frozen=True)
class Policy:
    table: str  # schema.table
    date_column: str
    keep: str  # DuckDB interval text, e.g. "90 days"
    why: str = ""


@dataclass(frozen=True)
class Move:
    policy: Policy
    cutoff: datetime
    rows: int
    oldest: datetime | None
    archive_id: str | None = None  # set once archived


def load_policies(path: Path | None = None) -> list[Policy]:
    path = path or POLICIES
    if not path.exists():
        raise ThothError(f"no retention policy file at {path}")
    policies = []
    for entry in (yaml.safe_load(path.read_text()) or {}).get("policies") or []:
        table, column, keep = entry.get("table"), entry.get("date_column"), entry.get("keep")
        if not (table and column and keep and "." in table):
            raise ThothError(f"{path.name}: a policy needs table (schema.table), date_column and "
                             f"keep; got {entry}")
        if not PERIOD.match(str(keep)):
            raise ThothError(f"{path.name}: {table} keep {keep!r}: expected e.g. '90 days', "
                             "'6 months', '2 years'")
        policies.append(Policy(table, column, str(keep).strip(), entry.get("why", "")))
    return policies



def _table(name: str) -> str:
    schema, table = name.split(".", 1)
    return f"{_q(schema)}.{_q(table)}"


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".", 1)
    return platform.has_table(con, table, schema)


def plan(con: duckdb.DuckDBPyConnection, policies: list[Policy],
         now: datetime | None = None) -> list[Move]:
    """What each policy would move now (tables not loaded yet move nothing)."""
    moves = []
    for p in policies:
        (cutoff,) = con.execute("SELECT CAST(? AS TIMESTAMP) - CAST(? AS INTERVAL)",
                                [now or _now(), p.keep]).fetchone()
        if not _exists(con, p.table):
            moves.append(Move(p, cutoff, 0, None))
            continue
        rows, oldest = con.execute(
            f"SELECT count(*), min({_q(p.date_column)}) FROM {_table(p.table)} "
            f"WHERE {_q(p.date_column)} < ?", [cutoff]).fetchone()
        moves.append(Move(p, cutoff, rows, oldest))
    return moves



def checksum(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """Row count and the sum of DuckDB's hash of each whole row: equal only when the same rows
    with the same values came back (order aside)."""
    rows, total = con.execute(
        f"SELECT count(*), CAST(coalesce(sum(hash(r)), 0) AS VARCHAR) FROM {relation} r"
    ).fetchone()
    return f"{rows}:{total}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# An archive is `<archive id>/manifest.json` and the data file it names. Archiving writes
# `data.parquet`; an erasure writes the rewritten rows to `data-<sha12>.parquet` and then the
# manifest (one object), so a reader sees the old pair or the new one, never a mix.
DATA = "data.parquet"


def data_name(manifest: dict) -> str:
    """The data file an archive's manifest describes."""
    return manifest.get("data") or DATA


def read_manifest(target: Target, archive_id: str) -> dict | None:
    raw = target.read(f"{archive_id}/manifest.json")
    return None if raw is None else json.loads(raw)


def archive_ids(target: Target) -> list[str]:
    """Every archive under the target (a folder with a manifest; a folder without one is an
    archiving that was killed before it finished, and holds no rows the warehouse lost)."""
    return sorted(path.split("/", 1)[0] for path in target.listing()
                  if path.count("/") == 1 and path.endswith("/manifest.json"))


def archive(warehouse: Path, target: Target, *, apply: bool = False,
            policies: list[Policy] | None = None, now: datetime | None = None,
            log: Callable[[str], None] = print) -> list[Move]:
    """Dry run (default): report what would move. `apply`: archive, verify, delete."""
    policies = load_policies() if policies is None else policies
    con = open_warehouse(warehouse, read_only=not apply)
    try:
        moves = plan(con, policies, now)
        done = []
        for move in moves:
            p = move.policy
            if not move.rows:
                log(f"{p.table}: nothing older than {move.cutoff:%Y-%m-%d} ({p.keep})")
                done.append(move)
                continue
            if not apply:
                log(f"{p.table}: would archive {move.rows:,} rows with {p.date_column} before "
                    f"{move.cutoff:%Y-%m-%d %H:%M} ({p.keep}; oldest {move.oldest:%Y-%m-%d}) "
                    f"to {target.url}")
                done.append(move)
                continue
            try:
                done.append(_archive_one(con, target, move, log))
            except storage_errors() as exc:  # a directory or a bucket that refuses
                raise failed(target, f"archiving {p.table} to", exc,
                             f"nothing was deleted from {p.table}") from None
        if not apply and any(m.rows for m in moves):
            log("dry run: nothing was moved; run `thoth retention --apply` to archive and delete")
        return done
    finally:
        con.close()


def _archive_one(con: duckdb.DuckDBPyConnection, target: Target, move: Move,
                 log: Callable[[str], None]) -> Move:
    p, cutoff = move.policy, move.cutoff
    archive_id = _new_archive_id(con, target, f"{_now():%Y%m%dT%H%M%S}Z-{p.table}")
    where = f"{_q(p.date_column)} < TIMESTAMP '{cutoff.isoformat(sep=' ')}'"
    selection = f"(SELECT * FROM {_table(p.table)} WHERE {where})"
    with tempfile.TemporaryDirectory(prefix="thoth-archive-") as work:
        local = Path(work) / "data.parquet"
        con.execute(f"COPY {selection} TO '{local}' (FORMAT parquet, COMPRESSION zstd)")
        expected = checksum(con, selection)
        sha = _sha256(local)
        target.put(str(local), f"{archive_id}/data.parquet")
        target.fs.invalidate_cache()
        back = Path(work) / "back.parquet"
        back.write_bytes(target.read(f"{archive_id}/data.parquet") or b"")
        got = checksum(con, f"read_parquet('{back}')")
        if _sha256(back) != sha or got != expected:
            raise ThothError(f"{p.table}: the archive {target.path(archive_id)} reads back "
                             f"different ({got} vs {expected}); nothing was deleted")
    manifest = {"archive_id": archive_id, "table": p.table, "date_column": p.date_column,
                "keep": p.keep, "cutoff": cutoff.isoformat(), "rows": move.rows,
                "oldest": move.oldest.isoformat() if move.oldest else None, "sha256": sha,
                "checksum": expected, "archived_at": _now().isoformat(), "by": audit.actor()}
    target.write_atomic(f"{archive_id}/manifest.json",
                        json.dumps(manifest, indent=2).encode())
    platform.ensure(con, "retention_state", "archives", "archived_ids")
    schema, name = p.table.split(".", 1)
    keyed = platform.has_column(con, name, "id", schema)
    with transaction(con):
        if keyed:  # later loads drop these ids when the source hands them back
            con.execute("INSERT OR IGNORE INTO platform.archived_ids SELECT ?, id FROM "
                        f"{selection}", [p.table])
        (deleted,) = con.execute(f"DELETE FROM {_table(p.table)} WHERE {where}").fetchone()
        if deleted != move.rows:
            raise ThothError(f"{p.table}: {deleted:,} rows matched at delete time, "
                             f"{move.rows:,} were archived; nothing was deleted")
        con.execute(
            "INSERT INTO platform.retention_state VALUES (?, ?, ?) ON CONFLICT (table_name) DO "
            "UPDATE SET date_column = excluded.date_column, archived_before = "
            "greatest(retention_state.archived_before, excluded.archived_before)",
            [p.table, p.date_column, cutoff])
        con.execute("INSERT INTO platform.archives VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [archive_id, p.table, target.gs_url(archive_id) if not target.is_local
                     else target.path(archive_id), move.rows, sha, expected, cutoff, _now()])
        # `table` and `rows_deleted`: the row-drop guard (transforms/checks.py) reads them to
        # tell a retention delete from a lost load.
        audit.record(con, "retention-archive", f"{p.table} → {archive_id}",
                     {"table": p.table, "rows_deleted": deleted, "rows": move.rows,
                      "cutoff": cutoff, "keep": p.keep, "archive": target.path(archive_id),
                      "checksum": expected})
    log(f"{p.table}: archived {move.rows:,} rows before {cutoff:%Y-%m-%d} to "
        f"{target.path(archive_id)} (verified: sha256, {expected.split(':')[0]} rows, checksum); "
        "deleted them from the warehouse")
    return Move(p, cutoff, move.rows, move.oldest, archive_id)


def _new_archive_id(con: duckdb.DuckDBPyConnection, target: Target, base: str) -> str:
    """`base`, or `base-2`, … when an archive of the same second exists (late rows archived
    right after the day's retention): an archive is never written over."""
    taken = set()
    if platform.has_table(con, "archives"):
        taken = {r[0] for r in con.execute("SELECT archive_id FROM platform.archives "
                                           "WHERE starts_with(archive_id, ?)", [base]).fetchall()}
    archive_id, n = base, 1
    while archive_id in taken or target.read(f"{archive_id}/manifest.json") is not None:
        n += 1
        archive_id = f"{base}-{n}"
    return archive_id


def restore(warehouse: Path, target: Target, archive_id: str, *,
            pseudonym_key: Callable[[], bytes], log: Callable[[str], None] = print) -> int:
    """Put an archive's rows back (replacing rows with the same id), verified first; rows of
    erased people stay out (`pseudonym_key`: asked for only if someone is erased). Returns the
    rows restored."""
    try:
        return _restore(warehouse, target, archive_id, pseudonym_key, log)
    except storage_errors() as exc:
        raise failed(target, f"restoring {archive_id} from", exc,
                     "nothing was restored") from None


def _restore(warehouse: Path, target: Target, archive_id: str,
             pseudonym_key: Callable[[], bytes], log: Callable[[str], None]) -> int:
    manifest = read_manifest(target, archive_id)
    if manifest is None:
        raise ThothError(f"no archive {archive_id!r} under {target.url} (no manifest.json)")
    table, column = manifest["table"], manifest["date_column"]
    con = open_warehouse(warehouse)
    try:
        with tempfile.TemporaryDirectory(prefix="thoth-restore-") as work:
            local = Path(work) / "data.parquet"
            local.write_bytes(target.read(f"{archive_id}/{data_name(manifest)}") or b"")
            if _sha256(local) != manifest["sha256"] or checksum(
                    con, f"read_parquet('{local}')") != manifest["checksum"]:
                raise ThothError(f"archive {archive_id} is damaged: it reads back different "
                                 "from its manifest; nothing was restored")
            platform.ensure(con, "retention_state", "archives")
            with transaction(con):
                restored = _insert(con, table, f"read_parquet('{local}')")
                erased = erasures.apply_ledger(con, *table.split(".", 1),
                                               pseudonym_key=pseudonym_key)
                (oldest,) = con.execute(f"SELECT min({_q(column)}) FROM read_parquet('{local}')"
                                        ).fetchone()
                if oldest is not None:  # loads must keep what was restored
                    con.execute("UPDATE platform.retention_state SET archived_before = ? "
                                "WHERE table_name = ? AND archived_before > ?",
                                [oldest, table, oldest])
                con.execute("UPDATE platform.archives SET restored_at = ? WHERE archive_id = ?",
                            [_now(), archive_id])
                audit.record(con, "retention-restore", f"{archive_id} → {table}",
                             {"rows": restored, "erased_rows_kept_out": erased,
                              "archive": target.path(archive_id)})
    finally:
        con.close()
    log(f"restored {restored:,} rows into {table} from {target.path(archive_id)}"
        + (f" ({erased:,} rows of erased people left out)" if erased else ""))
    return restored - erased


def _insert(con: duckdb.DuckDBPyConnection, table: str, relation: str) -> int:
    columns = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    if not _exists(con, table):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(table.split('.', 1)[0])}")
        con.execute(f"CREATE TABLE {_table(table)} AS SELECT * FROM {relation} LIMIT 0")
    have = {r[0] for r in con.execute(f"DESCRIBE {_table(table)}").fetchall()}
    for name, dtype, *_ in columns:  # a column since dropped from the source comes back
        if name not in have:
            con.execute(f"ALTER TABLE {_table(table)} ADD COLUMN {_q(name)} {dtype}")
    if "id" in have:
        con.execute(f"DELETE FROM {_table(table)} WHERE id IN (SELECT id FROM {relation})")
    (rows,) = con.execute(f"INSERT INTO {_table(table)} BY NAME SELECT * FROM {relation}"
                          ).fetchone()
    return rows


def late_rows(con: duckdb.DuckDBPyConnection, policies: list[Policy]) -> dict[str, int]:
    """Per table, the rows older than its last applied cut-off still in the warehouse: arrived
    after retention ran (late, or on a first load), not archived yet."""
    if not platform.has_table(con, "retention_state"):
        return {}
    late = {}
    for p in policies:
        row = con.execute("SELECT date_column, archived_before FROM platform.retention_state "
                          "WHERE table_name = ?", [p.table]).fetchone()
        if row is None or not _exists(con, p.table):
            continue
        (rows,) = con.execute(f"SELECT count(*) FROM {_table(p.table)} WHERE {_q(row[0])} < ?",
                              [row[1]]).fetchone()
        if rows:
            late[p.table] = rows
    return late
