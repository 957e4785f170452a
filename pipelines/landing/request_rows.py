"""The `ontrack_logs` feed's row, whatever log it came from: one request."""

from __future__ import annotations

import polars as pl

# Every parser's rows are cast to this, so the blocks of one file stage into one Parquet schema.
REQUEST_ROW = {
    "requested_at": pl.Datetime("us"),  # UTC
    "method": pl.String,
    "path_template": pl.String,
    "status": pl.Int16,  # NULL: the log does not say (a Grape request in Doubtfire's log)
    "duration_ms": pl.Float64,
    "bytes": pl.Int64,  # nginx's $body_bytes_sent
    "upstream_ms": pl.Float64,  # nginx's $upstream_response_time (summed over retries)
    "exception_class": pl.String,  # Doubtfire's `Unhandled exception: <class>` (the 500s)
    "client_network": pl.String,  # truncated: /24 or /48
    "request_id": pl.String,
    "pid": pl.Int32,
    "log_format": pl.String,  # doubtfire | rails | json | nginx
    "line_number": pl.Int64,  # of the line the row comes from (a request's Started)
}


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly REQUEST_ROW's columns and types (missing ones NULL)."""
    return frame.select([
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in REQUEST_ROW.items()
    ])


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=REQUEST_ROW)
