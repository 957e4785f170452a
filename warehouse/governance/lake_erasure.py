"""`thoth erase-user` reaches the lake: an erasure step (erasure.py, `ErasureStep`) that writes
the lake again from the warehouse as the erasure leaves it, inside the erasure's transaction.
Every partition that held the person gets new content, so a new file; the manifest
then names those, and the old files are removed. A lake never written (no manifest) is left
alone: there is nothing of anyone in it."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from thoth.core.lake import read_manifest
from thoth.core.storage import Target
from warehouse.lake import write_from


class LakeErasure:
    """The lake under one target (LAKE__BUCKET_URL) as an erasure step."""

    name = "lake"

    def __init__(self, target: Target):
        self.target = target

    def erase(self, con: duckdb.DuckDBPyConnection, secret: str, erasure_id: str,
              log: Callable[[str], None]) -> list[dict]:
        if read_manifest(self.target) is None:
            return []
        report = write_from(con, self.target, log=lambda line: None)
        changed = [t for t in report.tables if t.written or t.removed]
        log(f"  lake {self.target.url}: {sum(t.written for t in changed)} files rewritten in "
            f"{len(changed)} tables, {len(report.removed)} old files removed")
        # Table names and counts only: the files' names are content hashes, never an id.
        return [{"table": t.table, "written": t.written, "removed": t.removed} for t in changed]
