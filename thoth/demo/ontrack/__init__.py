"""Deterministic synthetic OnTrack (Doubtfire) databases on PostgreSQL or MariaDB.

`create_schema(url, variant)` lays out the 38 tables of Thoth's 8.0.x schema (or the 37 of the
older upstream "2024-01" one, or the 71 of upstream's 10.x); `generate(url, scale, seed, variant)`
also fills them with consistent data: scale 1 is a large university (~60k users, ~150k
enrolments, ~5M tasks).
The same (scale, seed, variant) always gives the same rows.
"""

from thoth.demo.ontrack.ddl import create_schema
from thoth.demo.ontrack.generate import generate
from thoth.demo.ontrack.tables import VARIANTS

__all__ = ["VARIANTS", "create_schema", "generate"]
