"""OnTrack's Rails request logs → one row per request, vectorised with Polars a block at a time.

Two formats, detected line by line (a file may hold both):
- Rails' own multi-line entries: `Started GET "/api/…" for 203.0.113.9 at 2024-03-11 09:00:01
  +0000`, then `Processing by …`, `Parameters: …`, and `Completed 200 OK in 11ms (…)`, with or
  without Logger's `I, [2024-03-11T09:00:01.123456 #4021]  INFO -- : ` prefix and tags such as
  `[request-uuid] `. Several processes write to one file, so entries interleave: a `Completed`
  is paired with its own `Started` by the request id (the first tag), else by the pid, else (an
  untagged single-process log) by order — always the latest unpaired `Started` with the same key
  before it, never the adjacent line. The request's time is the `Started` line's (its offset
  converted to UTC; none = UTC), the status and duration the `Completed` line's.
- lograge-style JSON, one request a line (`{"method": …, "path": …, "status": …, …}`).

Other Rails lines (Processing, Parameters, Rendered, SQL, stack traces) are context, not rows. A
`Started` or `Completed` line that does not parse, a `Completed` with no `Started`, and a
`Started` still unpaired when the file ends are quarantined with their line numbers.
"""

from __future__ import annotations

import polars as pl

from pipelines.landing.jsonl import REQUEST_SCHEMA, lograge_row, parse_object_lines
from pipelines.landing.parsed import Parsed
from pipelines.landing.privacy import path_template_expr, truncate_ip_expr

# Logger's prefix (`I, [time #pid]  INFO -- progname: `), optional; then any tags, the first
# one kept (`config.log_tags = [:request_id]` makes it the request id).
_PREFIX = (r"^(?:[A-Z], \[(?P<logged_at>[^\]\s]+) #(?P<pid>\d+)\] +[A-Z]+ -- [^:]*: )?"
           r"(?:\[(?P<tag>[^\]]*)\] )?(?:\[[^\]]*\] )*")
_HEAD = _PREFIX + r"(?P<kind>Started|Completed) "
# Grape's request loggers write the same two lines, some without `for <ip>`, some timing in
# seconds (`Completed 422 in 1.26 s`): both are accepted.
_STARTED = (_PREFIX + r'Started (?P<method>[A-Z]+) "(?P<path>[^"]*)"(?: for (?P<ip>\S+))? at '
            r"(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?: (?P<offset>[+-]\d\d:?\d\d|UTC))?")
_COMPLETED = (_PREFIX + r"Completed (?P<status>[1-5]\d\d)\b.*? in (?P<took>\d+(?:\.\d+)?) ?"
              r"(?P<unit>ms|s)\b")
# lograge JSON, possibly behind Logger's prefix.
_JSON = r"^(?:[A-Z], \[[^\]]*\] +[A-Z]+ -- [^:]*: )?\s*\{"

_STARTED_COLUMNS = {"line_number": pl.Int64, "key": pl.String, "requested_at": pl.Datetime("us"),
                    "method": pl.String, "path_template": pl.String,
                    "client_network": pl.String, "request_id": pl.String, "pid": pl.Int32,
                    "line": pl.String}


def _key(tag: pl.Expr, pid: pl.Expr) -> pl.Expr:
    """What pairs a Started with its Completed: the request id, else the pid, else nothing."""
    return pl.coalesce(pl.concat_str(pl.lit("id:"), tag), pl.concat_str(pl.lit("pid:"), pid),
                       pl.lit(""))


def _utc(at: pl.Expr, offset: pl.Expr) -> pl.Expr:
    offset = offset.str.replace("UTC", "+0000").str.replace(":", "")
    aware = pl.concat_str(at, pl.lit(" "), offset).str.to_datetime(
        "%Y-%m-%d %H:%M:%S %z", strict=False, time_unit="us"
    ).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    naive = at.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    return pl.when(offset.is_null()).then(naive).otherwise(aware)


class RailsLogParser:
    """One file's blocks in order (`block`), then `finish`. Unpaired `Started` entries are
    carried from block to block: a request's lines may straddle a block boundary."""

    def __init__(self) -> None:
        self.carry = pl.DataFrame(schema=_STARTED_COLUMNS)

    def block(self, first_line: int, text: str) -> Parsed:
        lines = (pl.Series("line", [text]).str.split("\n").explode().to_frame()
                 .with_row_index("line_number", offset=first_line)
                 .with_columns(pl.col("line_number").cast(pl.Int64)))
        json_lines, entries = pl.collect_all([
            lines.lazy().filter(pl.col("line").str.contains(_JSON)),
            lines.lazy().filter(pl.col("line").str.contains("Started ", literal=True)
                                | pl.col("line").str.contains("Completed ", literal=True))
            .with_columns(kind=pl.col("line").str.extract(_HEAD, 4))
            .filter(pl.col("kind").is_not_null()),
        ])
        bad: list[tuple[int, str, str]] = []
        started, completed = self._split(entries, bad)
        rows, paired = self._pair(started, completed, bad)
        blank = int(lines.get_column("line").str.strip_chars().eq("").sum())
        # A paired Completed belongs to its request's row; every other line that is neither a
        # request, JSON nor blank is context (Processing, Parameters, SQL, stack traces).
        context = lines.height - blank - json_lines.height - entries.height + paired
        if json_lines.height:
            texts = json_lines.select(
                "line_number", pl.col("line").str.replace(r"^[^{]*", "")).rows()
            parsed = parse_object_lines(texts, lograge_row, REQUEST_SCHEMA)
            frame = parsed.rows.with_columns(
                path_template=path_template_expr(pl.col("path_template")),
                client_network=truncate_ip_expr(pl.col("client_network")))
            rows = pl.concat([rows, frame.select(rows.columns)])
            bad += parsed.bad
        return Parsed(rows, bad, context=context, blank=blank)

    def _split(self, entries: pl.DataFrame, bad: list) -> tuple[pl.DataFrame, pl.DataFrame]:
        s = (entries.filter(pl.col("kind") == "Started")
             .with_columns(pl.col("line").str.extract_groups(_STARTED).alias("g")).unnest("g"))
        c = (entries.filter(pl.col("kind") == "Completed")
             .with_columns(pl.col("line").str.extract_groups(_COMPLETED).alias("g")).unnest("g"))
        for frame, what in ((s.filter(pl.col("method").is_null()), "Started"),
                            (c.filter(pl.col("status").is_null()), "Completed")):
            bad += [(n, f"unparseable {what} line", line)
                    for n, line in frame.select("line_number", "line").iter_rows()]
        started = s.filter(pl.col("method").is_not_null()).select(
            "line_number",
            key=_key(pl.col("tag"), pl.col("pid")),
            requested_at=_utc(pl.col("at"), pl.col("offset")),
            method="method",
            path_template=path_template_expr(pl.col("path")),
            client_network=truncate_ip_expr(pl.col("ip")),
            request_id="tag",
            pid=pl.col("pid").cast(pl.Int32),
            line="line",
        )
        completed = c.filter(pl.col("status").is_not_null()).select(
            "line_number", "line",
            key=_key(pl.col("tag"), pl.col("pid")),
            status=pl.col("status").cast(pl.Int16),
            duration_ms=pl.col("took").cast(pl.Float64)
            * pl.when(pl.col("unit") == "s").then(1000.0).otherwise(1.0),
        )
        return started, completed

    def _pair(self, started: pl.DataFrame, completed: pl.DataFrame,
              bad: list) -> tuple[pl.DataFrame, int]:
        """The requests completed in this block, and how many Completed lines were paired."""
        pool = pl.concat([self.carry, started]).sort("line_number")
        matched = completed.sort("line_number").join_asof(
            pool.select("key", started_line="line_number").with_columns(
                started_at_line=pl.col("started_line")),
            left_on="line_number", right_on="started_at_line", by="key", strategy="backward",
            check_sortedness=False,  # both sorted by line number just above
        )
        # A Started answers one Completed: a second one pointing at it has no Started of its own.
        first = pl.col("started_line").is_not_null() & pl.col("started_line").is_first_distinct()
        orphans = matched.filter(~first)
        bad += [(n, "Completed without its Started", line)
                for n, line in orphans.select("line_number", "line").iter_rows()]
        pairs = matched.filter(first).select("started_line", "status", "duration_ms")
        rows = pool.join(pairs, left_on="line_number", right_on="started_line", how="inner")
        self.carry = pool.join(pairs, left_on="line_number", right_on="started_line",
                               how="anti")
        return rows.select(
            "requested_at", "method", "path_template", "status", "duration_ms",
            "client_network", "request_id", "pid", log_format=pl.lit("rails"),
            line_number="line_number",
        ), pairs.height

    def finish(self) -> Parsed:
        """Started entries that never completed: the request was cut off (a crash, a rotation
        mid-request) or its Completed line is missing."""
        bad = [(n, "Started without its Completed", line)
               for n, line in self.carry.select("line_number", "line").iter_rows()]
        self.carry = self.carry.clear()
        return Parsed(None, bad)
