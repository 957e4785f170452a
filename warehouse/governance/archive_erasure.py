"""Erasure reaches the retention archives: every archive holding an erased person is rewritten
without them (the warehouse's rules: their rows deleted, references to them cleared).

Per archive, safe against a kill at any point: the archive is checked against its manifest,
the rules run on a temporary copy of its rows, the rows left are written to a new object
`data-<sha12>.parquet` beside the old one, read back and verified (sha256, row count = old −
removed, checksum of every value), and only then is `manifest.json` replaced (one object) to
name the new file, with its rows, sha256 and checksum — so `thoth retention --restore` verifies
and restores the rewritten archive like any other. The old file is deleted last; a data file
the manifest does not name (left by a kill) is removed on the next erasure's visit.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from thoth.core import platform
from thoth.core.duck import quote as _q
from thoth.core.duck import utc_now as _now
from thoth.core.errors import ThothError
from thoth.core.platform import erasures
from thoth.core.storage import Target
from warehouse.governance import erasure, retention

COPY = "_thoth_archive_rows"  # a temporary table: one archive's rows while they are erased


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ArchiveErasure:
    """The retention archives under one target (RETENTION__ARCHIVE_URL) as an erasure step."""

    name = "archives"

    def __init__(self, target: Target):
        self.target = target

    def erase(self, con: duckdb.DuckDBPyConnection, secret: str, erasure_id: str,
              log: Callable[[str], None]) -> list[dict]:
        platform.ensure(con, "archives")  # kept in step with the manifests
        rewritten = []
        for archive_id in retention.archive_ids(self.target):
            done = self._rewrite(con, archive_id, secret, erasure_id, log)
            if done:
                rewritten.append(done)
        return rewritten

    def _strays(self, archive_id: str, keep: str) -> list[str]:
        return [path for path in self.target.listing(archive_id)
                if path.rsplit("/", 1)[-1].startswith("data")
                and path.endswith(".parquet") and path != f"{archive_id}/{keep}"]

    def _rewrite(self, con: duckdb.DuckDBPyConnection, archive_id: str, secret: str,
                 erasure_id: str, log: Callable[[str], None]) -> dict | None:
        target = self.target
        manifest = retention.read_manifest(target, archive_id)
        old_name = retention.data_name(manifest)
        target.remove(self._strays(archive_id, old_name))  # a killed rewrite's leftovers
        schema, table = manifest["table"].split(".", 1)
        if schema != erasures.SCHEMA:
            return None
        with tempfile.TemporaryDirectory(prefix="thoth-erase-") as work:
            old = Path(work) / "old.parquet"
            old.write_bytes(target.read(f"{archive_id}/{old_name}") or b"")
            if _sha256(old) != manifest["sha256"]:
                raise ThothError(f"the archive {target.path(archive_id)} is damaged (its data "
                                 "does not match its manifest's sha256)")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {COPY} AS "
                        f"SELECT * FROM read_parquet('{old}')")
            try:
                return self._replace(con, archive_id, manifest, secret, erasure_id, work, log)
            finally:
                con.execute(f"DROP TABLE IF EXISTS {COPY}")

    def _replace(self, con: duckdb.DuckDBPyConnection, archive_id: str, manifest: dict,
                 secret: str, erasure_id: str, work: str,
                 log: Callable[[str], None]) -> dict | None:
        target, old_name = self.target, retention.data_name(manifest)
        table = manifest["table"].split(".", 1)[1]
        counts = erasure.erase_rows(con, table, COPY, secret, erasure_id)
        if not counts:
            return None
        removed = sum(n for what, n in counts.items() if what.endswith("(rows deleted)"))
        cleared = sum(counts.values()) - removed
        expected = retention.checksum(con, COPY)
        rows = int(expected.split(":")[0])
        if rows != manifest["rows"] - removed:
            raise ThothError(f"the archive {target.path(archive_id)} holds {rows + removed:,} "
                             f"rows, its manifest says {manifest['rows']:,}")
        new = Path(work) / "new.parquet"
        con.execute(f"COPY {COPY} TO '{new}' (FORMAT parquet, COMPRESSION zstd)")
        sha = _sha256(new)
        new_name = f"data-{sha[:12]}.parquet"
        target.put(str(new), f"{archive_id}/{new_name}")
        target.fs.invalidate_cache()
        back = Path(work) / "back.parquet"
        back.write_bytes(target.read(f"{archive_id}/{new_name}") or b"")
        got = retention.checksum(con, f"read_parquet('{back}')")
        if _sha256(back) != sha or got != expected:
            target.remove([f"{archive_id}/{new_name}"])
            raise ThothError(f"the rewritten archive {target.path(f'{archive_id}/{new_name}')} "
                             f"reads back different ({got} vs {expected}); the old one stays")
        (oldest,) = con.execute(
            f"SELECT min({_q(manifest['date_column'])}) FROM {COPY}").fetchone()
        entry = {"erasure_id": erasure_id, "at": _now().isoformat(), "rows_removed": removed,
                 "references_cleared": cleared, "replaced": old_name}
        manifest = {**manifest, "data": new_name, "rows": rows, "sha256": sha,
                    "checksum": expected, "oldest": oldest.isoformat() if oldest else None,
                    "erasures": [*manifest.get("erasures", []), entry]}
        target.write_atomic(f"{archive_id}/manifest.json",
                            json.dumps(manifest, indent=2).encode())  # the switch
        target.remove([f"{archive_id}/{old_name}"])
        con.execute("UPDATE platform.archives SET rows = ?, sha256 = ?, checksum = ? "
                    "WHERE archive_id = ?", [rows, sha, expected, archive_id])
        log(f"  archive {target.path(archive_id)}: {removed:,} rows removed, {cleared:,} "
            f"references cleared; rewritten as {new_name} and verified ({rows:,} rows left)")
        return {"archive_id": archive_id, "table": manifest["table"], "rows_removed": removed,
                "references_cleared": cleared, "rows": rows, "data": new_name}
