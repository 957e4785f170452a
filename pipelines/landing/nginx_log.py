"""nginx access lines (the proxy in front of OnTrack) → one request row each.

doubtfire-deploy's proxy sets no `log_format`, so nginx writes its default `combined`:
`$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
"$http_user_agent"` — status and bytes for every request, no duration. A deployment that appends
`$request_time` (seconds, what the client waited) and then `$upstream_response_time` (what Rails
took; `a, b` when nginx tried several upstreams) gets latency too (docs/sources/landing.md,
"ontrack_logs").
Extra quoted fields before them (the nginx image's `main` adds `"$http_x_forwarded_for"`) are
skipped. Never kept: `$remote_user` (a login name), the referer, the user agent, the query
string; the address is truncated.
"""

from __future__ import annotations

import polars as pl

from pipelines.landing.privacy import path_template_expr, truncate_ip_expr

# What makes a line nginx's: address, `-`, user, `[dd/Mon/yyyy:`. A line like that which then
# does not parse is quarantined.
HEAD = r"^\S+ - \S+ \[\d\d/[A-Za-z]{3}/\d{4}:"
HEAD_LITERAL = ' - '
_SECONDS = r"\d+(?:\.\d+)?"
_LINE = (r'^(?P<addr>\S+) - \S+ \[(?P<time>\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
         r'"(?P<request>[^"]*)" (?P<status>[1-5]\d\d) (?P<bytes>\d+|-) "[^"]*" "[^"]*"'
         r'(?: "[^"]*")*'
         rf'(?: (?P<request_time>{_SECONDS}|-)'
         rf'(?: (?P<upstream>-|{_SECONDS}(?:(?:, | : )(?:{_SECONDS}|-))*))?)?\s*$')
# `$request` is the request line as the client sent it; only a method and a target make it one.
_REQUEST = r"^(?P<method>[A-Z]+) (?P<target>\S+)(?: HTTP/\d(?:\.\d)?)?$"


def _ms(seconds: pl.Expr) -> pl.Expr:
    return seconds.cast(pl.Float64, strict=False) * 1000.0


def parse(lines: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """nginx lines (line_number, line) → (request rows, quarantined (number, reason, line))."""
    g = lines.with_columns(pl.col("line").str.extract_groups(_LINE).alias("g")).unnest("g")
    g = g.with_columns(pl.col("request").str.extract_groups(_REQUEST).alias("r")).unnest("r")
    target = pl.col("target").str.replace(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*", "")
    g = g.with_columns(
        requested_at=pl.col("time").str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False,
                                                    time_unit="us")
        .dt.convert_time_zone("UTC").dt.replace_time_zone(None),
    )
    reason = (pl.when(pl.col("addr").is_null()).then(pl.lit("unparseable nginx access line"))
              .when(pl.col("method").is_null())
              .then(pl.lit("nginx request is not METHOD PATH PROTOCOL"))
              .when(pl.col("requested_at").is_null()).then(pl.lit("nginx time is not a time")))
    g = g.with_columns(reason=reason)
    bad = [(n, why, line) for n, why, line in
           g.filter(pl.col("reason").is_not_null()).select("line_number", "reason", "line")
           .iter_rows()]
    rows = g.filter(pl.col("reason").is_null()).select(
        "requested_at", "method",
        path_template=path_template_expr(target),
        status=pl.col("status").cast(pl.Int16),
        duration_ms=_ms(pl.col("request_time")),
        bytes=pl.col("bytes").cast(pl.Int64, strict=False),
        # `-` is no upstream answer: no time (summing no numbers would say 0 ms).
        upstream_ms=pl.when(pl.col("upstream").str.contains(r"\d")).then(
            pl.col("upstream").str.extract_all(_SECONDS)
            .list.eval(pl.element().cast(pl.Float64)).list.sum() * 1000.0),
        client_network=truncate_ip_expr(pl.col("addr")),
        log_format=pl.lit("nginx"),
        line_number="line_number",
    )
    return rows, bad
