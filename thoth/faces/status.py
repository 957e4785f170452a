"""`thoth status`: what the warehouse holds, table by table, and how fresh it is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pipelines.ontrack import generation
from thoth.core import classification
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.platform import load_state, runs, source_schema
from transforms.checks import last_warnings


def render(warehouse: Path, absent_sources: frozenset[str], now: datetime | None = None) -> str:
    """`absent_sources`: the raw schemas of the sources this configuration does not extract
    (resolved once, by the caller's context)."""
    con = open_warehouse(warehouse, read_only=True)
    try:
        loads = load_state.read_all(con)
        schemas = source_schema.recorded(con)
        last_runs = runs.last(con)
        warnings = [w for _, w in classification.unclassified_warnings(con)]
        # The last `thoth check`'s other warnings (e.g. a campus time zone OnTrack would not
        # know); its unclassified-column ones are the lines above, said once.
        warnings += [f"last check: {w}" for w in last_warnings(con)
                     if not w.startswith("classification ")]
    finally:
        con.close()
    now = now or utc_now()
    if not loads:
        return "\n".join([f"{warehouse}: not extracted yet; "
                          "run `thoth extract ontrack` or `thoth extract ga4`",
                          *_runs(last_runs, now)])
    header = ("table", "rows", "last load (UTC)", "mode", "cursor", "stale", "flags")
    rows = [
        (
            f"{x.source}.{x.table}",
            f"{x.rows_total:,}",
            x.loaded_at.strftime("%Y-%m-%d %H:%M:%S"),
            x.mode,
            f"{x.cursor_column}={x.cursor_value}" if x.cursor_column else "(full reload)",
            age(now - x.loaded_at),
            x.flags or "",  # e.g. GA4's "sampled 2d, thresholded 30d"
        )
        for x in loads
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1}  # numbers align right

    def line(cells: tuple[str, ...]) -> str:
        padded = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    loaded = {x.source for x in loads}
    waiting = [f"{source}: not extracted yet (`thoth extract {source}`)"
               for source in _configured_sources(absent_sources) if source not in loaded]
    return "\n".join([f"warehouse: {warehouse}", line(header), *map(line, rows), *waiting,
                      *_schemas(schemas), *(f"warning: {w}" for w in warnings),
                      *_runs(last_runs, now)])


def _configured_sources(absent: frozenset[str]) -> list[str]:
    """The sources this configuration extracts (OnTrack always; the others once configured)."""
    return [s for s, schema in [("ontrack", "ontrack_raw"), ("ga4", "ga4_raw"),
                                ("landing", "landing_raw"), ("metrics", "metrics_raw")]
            if schema not in absent]


def _schemas(found: dict[str, source_schema.Generation]) -> list[str]:
    """`ontrack schema: 10.x (table comment_read_cursors, schema_migrations 2026_09_03_040547)`,
    and what the extract warned about it."""
    lines = []
    for source, g in found.items():
        lines.append(f"{source} schema: {g}")
        lines += [f"warning: {w}" for w in generation.warnings(g)]
    return lines


def _runs(records: list[runs.RunRecord], now: datetime) -> list[str]:
    """The last `thoth run`s, newest first: when, how long, each step's rows, the error."""
    if not records:
        return []
    lines = ["", "last runs (UTC):"]
    for r in records:
        took = f"{(r.ended_at - r.started_at).total_seconds():.0f} s" if r.ended_at else "-"
        steps = ", ".join(
            f"{s['step']} {s['status'] if s['status'] != 'ok' else ''}"
            f"{'' if s.get('rows') is None else format(s['rows'], ',')}".rstrip()
            for s in r.steps)
        line = (f"  {r.started_at:%Y-%m-%d %H:%M}  {r.status:<9}  {took:>6}  "
                f"({age(now - r.started_at)} ago)  {steps}")
        if r.error:
            line += f"\n      {r.failed_step}: {r.error}"
        lines.append(line.rstrip())
    return lines
