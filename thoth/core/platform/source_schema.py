"""`platform.source_schema`: which schema generation each source's last extract found (OnTrack
2024-01, 8.0.x, 10.x), shown by `thoth status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from thoth.core import platform
from thoth.core.duck import utc_now


@dataclass(frozen=True)
class Generation:
    name: str
    evidence: str
    schema_version: str | None = None
    detected_at: datetime | None = None

    def __str__(self) -> str:
        version = f", schema_migrations {self.schema_version}" if self.schema_version else ""
        return f"{self.name} ({self.evidence}{version})"



def record(con: duckdb.DuckDBPyConnection, found: Generation, source: str = "ontrack") -> None:
    platform.ensure(con, "source_schema")
    con.execute("INSERT OR REPLACE INTO platform.source_schema VALUES (?, ?, ?, ?, ?)",
                [source, found.name, found.schema_version, found.evidence, utc_now()])


def recorded(con: duckdb.DuckDBPyConnection) -> dict[str, Generation]:
    """source → the generation its last extract found; empty before the first."""
    if not platform.has_table(con, "source_schema"):
        return {}
    rows = con.execute("SELECT source, generation, evidence, schema_version, detected_at "
                       "FROM platform.source_schema ORDER BY source").fetchall()
    return {r[0]: Generation(*r[1:]) for r in rows}
