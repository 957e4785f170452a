"""What a landing parser makes of a block of lines: rows, quarantined lines, and the counts that
account for every other line, so that per file
lines = rows + point_lines + context + quarantined + blank."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

# (line number or None for the whole file, reason, the raw line or None)
Quarantined = tuple[int | None, str, str | None]


@dataclass
class Parsed:
    rows: pl.DataFrame | None = None  # one row per record (a request, a metric, an event)
    bad: list[Quarantined] = field(default_factory=list)
    context: int = 0  # lines that are neither a row nor an error (Processing, a paired Completed…)
    blank: int = 0  # empty or whitespace-only lines
    # OTLP metrics lines (ontrack_metrics): many data points a line, in their own table.
    points: pl.DataFrame | None = None
    point_lines: int = 0
