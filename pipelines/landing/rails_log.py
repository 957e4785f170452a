"""OnTrack's logs (the `ontrack_logs` feed) → one row per request, a block at a time with Polars.

The format is detected line by line, so one file may mix them:
- Doubtfire's production log (`<Time#to_s>,<ip>,<LEVEL>: <message>`, log_lines.py): every
  `Started` is a request. Grape requests (nearly all of OnTrack) log nothing else, so their
  status stays NULL, except a 500: an `Unhandled exception: <class>` line is attributed to the
  latest earlier unattributed `Started` from the same client address (its prefix's ip is the
  failing request's; the `for <ip>` of a Started is the client's). The few Rails controller
  routes (downloads) log `Completed <status> … in <n>ms`, paired with the latest earlier
  unpaired `Started` of a controller route (log_lines.py lists them, from `config/routes.rb`).
- Rails' multi-line entries behind Logger's prefix (pid) and tags (request id), or bare: a
  `Completed` is paired by request id, else pid, else order with the latest unpaired `Started`
  of the same key. Entries interleave; pairing never uses adjacency.
- lograge JSON lines, and nginx access lines (nginx_log.py): a row each.
Everything else (Processing, Parameters, SQL, backtraces, cron and Sidekiq messages, shell noise,
lines naming people) is context: counted, never stored. Unparseable request lines, a `Completed`
or `Unhandled exception` with no request to belong to, are quarantined (names and query strings
scrubbed). Per file: lines = rows + context + quarantined + blank.

Heuristics and their limits: Doubtfire's log has no request id and no pid, so a 500 from a
client with two requests in flight goes to the later one, and two concurrent downloads may swap
statuses. A request waits for its end at most PAIRING_WINDOW_LINES lines; then it is stored with
what is known (status NULL), and an end arriving later is quarantined as without its Started.
"""

from __future__ import annotations

import polars as pl

from pipelines.landing import log_lines, nginx_log
from pipelines.landing.jsonl import REQUEST_SCHEMA, lograge_row, parse_object_lines
from pipelines.landing.pairing import match_latest
from pipelines.landing.parsed import Parsed
from pipelines.landing.privacy import path_template_expr, scrub_line, truncate_ip_expr
from pipelines.landing.request_rows import conform

# How long (in lines) a request waits for its Completed or Unhandled exception. A Grape request
# in Doubtfire's log never gets one, so this also bounds what is held in memory; 50,000 lines is
# minutes of a busy OnTrack, longer than nginx lets a request run (proxy_read_timeout 90 s).
PAIRING_WINDOW_LINES = 50_000

# lograge JSON, possibly behind Logger's prefix.
_JSON = r"^(?:[A-Z], \[[^\]]*\] +[A-Z]+ -- [^:]*: )?\s*\{"

_POOL = {"line_number": pl.Int64, "key": pl.String, "ip_key": pl.String,
         "requested_at": pl.Datetime("us"), "method": pl.String, "path_template": pl.String,
         "client_network": pl.String, "request_id": pl.String, "pid": pl.Int32,
         "log_format": pl.String}


def _bad(frame: pl.DataFrame, reason: str) -> list[tuple[int, str, str]]:
    return [(n, reason, scrub_line(line))
            for n, line in frame.select("line_number", "line").iter_rows()]


class RailsLogParser:
    """One file's blocks in order (`block`), then `finish`. Requests still waiting for their end
    are carried from block to block: a request's lines may straddle a block boundary."""

    def __init__(self) -> None:
        self.pool = pl.DataFrame(schema=_POOL)

    def block(self, first_line: int, text: str) -> Parsed:
        # A log copied through Windows ends its lines in \r\n: the \r is no part of a field.
        lines = (pl.Series("line", [text]).str.split("\n").explode().str.strip_suffix("\r")
                 .to_frame().with_row_index("line_number", offset=first_line)
                 .with_columns(pl.col("line_number").cast(pl.Int64)))
        line = pl.col("line")
        candidate = pl.any_horizontal(line.str.contains(x, literal=True)
                                      for x in log_lines.HEAD_LITERALS)
        json_lines, nginx_lines, entries, blank = pl.collect_all([
            lines.lazy().filter(line.str.contains(_JSON)),
            lines.lazy().filter(line.str.contains(nginx_log.HEAD_LITERAL, literal=True)
                                & line.str.contains(nginx_log.HEAD)
                                & ~line.str.contains(_JSON)),  # each line read one way
            lines.lazy().filter(candidate).with_columns(kind=pl.coalesce(
                pl.when(line.str.contains(head)).then(pl.lit(kind))
                for kind, head in log_lines.HEADS.items())).filter(pl.col("kind").is_not_null()),
            lines.lazy().select(line.str.strip_chars().eq("").sum()),
        ])
        kind = pl.col("kind")
        started, bad_started = log_lines.started(entries.filter(kind == "Started"))
        ends, bad_ends = log_lines.completed(entries.filter(kind == "Completed"))
        failures = log_lines.unhandled(entries.filter(kind == "Unhandled"))
        bad = _bad(bad_started, "unparseable Started line") + _bad(
            bad_ends, "unparseable Completed line")

        self.pool = pl.concat([self.pool, started])
        done = [self._complete(ends, bad), self._fail(failures, bad)]
        last_line = first_line + lines.height - 1
        done.append(self._expire(last_line - PAIRING_WINDOW_LINES))

        rows = [conform(frame) for frame in done]
        direct = 0  # lines that are a row themselves, now (JSON, nginx)
        if nginx_lines.height:
            nginx_rows, nginx_bad = nginx_log.parse(nginx_lines)
            rows.append(conform(nginx_rows))
            bad += [(n, why, scrub_line(text)) for n, why, text in nginx_bad]
            direct += nginx_rows.height
        if json_lines.height:
            rows.append(self._lograge(json_lines, bad))
            direct += rows[-1].height
        # Every line is blank, quarantined, a row's own line (a Started, whenever its row is
        # stored), or context — a paired end line included: its request's row holds what it said.
        context = lines.height - blank.item() - len(bad) - started.height - direct
        return Parsed(pl.concat(rows), bad, context=context, blank=blank.item())

    def _complete(self, ends: pl.DataFrame, bad: list) -> pl.DataFrame:
        """Requests ended by a `Completed`: its status and duration on the request's row."""
        if not ends.height:
            return self.pool.clear()
        pairs = match_latest(ends, self.pool, "key")
        orphans = ends.join(pairs, on="line_number", how="anti")
        bad += _bad(orphans, "Completed without its Started")
        return self._take(pairs.join(ends.select("line_number", "status", "duration_ms"),
                                     on="line_number"))

    def _fail(self, failures: pl.DataFrame, bad: list) -> pl.DataFrame:
        """Requests answered 500 by Doubtfire's `rescue_from :all`."""
        if not failures.height:
            return self.pool.clear()
        pairs = match_latest(failures, self.pool, "ip_key")
        orphans = failures.join(pairs, on="line_number", how="anti")
        bad += [(n, "Unhandled exception without its Started" + (
                 "" if ip else " (client address unknown)"), scrub_line(text))
                for n, text, ip in orphans.select("line_number", "line", "ip_key").iter_rows()]
        return self._take(pairs.join(failures.select("line_number", "exception_class"),
                                     on="line_number").with_columns(status=pl.lit(500, pl.Int16)))

    def _take(self, ended: pl.DataFrame) -> pl.DataFrame:
        """The requests `ended` names (by started_line), with what their end said; out of the
        pool."""
        ended = ended.drop("line_number").rename({"started_line": "line_number"})
        rows = self.pool.join(ended, on="line_number", how="inner")
        self.pool = self.pool.join(ended, on="line_number", how="anti")
        return rows

    def _expire(self, before: int) -> pl.DataFrame:
        """Requests that waited long enough: stored with what is known."""
        old = pl.col("line_number") <= before
        rows = self.pool.filter(old)
        self.pool = self.pool.filter(~old)
        return rows

    def _lograge(self, json_lines: pl.DataFrame, bad: list) -> pl.DataFrame:
        texts = json_lines.select("line_number", pl.col("line").str.replace(r"^[^{]*", "")).rows()
        parsed = parse_object_lines(texts, lograge_row, REQUEST_SCHEMA)
        bad += [(n, why, scrub_line(text)) for n, why, text in parsed.bad]
        return conform(parsed.rows.with_columns(
            path_template=path_template_expr(pl.col("path_template")),
            client_network=truncate_ip_expr(pl.col("client_network"))))

    def finish(self) -> Parsed:
        """Requests still waiting at the end of the file: stored with what is known (a Grape
        request's status is never known; a Rails request cut off by a crash or a rotation)."""
        return Parsed(conform(self._expire(1 << 62)))
