"""The landing zone's layout, the feeds it holds, and the warehouse tables they load into.

Producers write files under `<landing>/<feed>/YYYY/MM/DD/`; each run ingests the files it has not
ingested yet (docs/sources/landing.md). Everything a producer must follow is stated here."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.metrics.samples import COLUMNS as SAMPLE_COLUMNS

DATASET = "landing_raw"
LEDGER = "_files"  # one row per ingested file: what was read, and when
QUARANTINE = "quarantine"  # lines (or whole files) that are not what their feed expects
# The data points of OTLP metrics lines in the ontrack_metrics feed (a line holds many).
POINTS = "ontrack_metric_points"
# A table loaded by another table's feed (its load is recorded under the feed): as fresh as it.
LOADED_WITH = {POINTS: "ontrack_metrics"}

# Text is read in blocks of this many bytes (then cut at the last newline): the parser works on
# a block at a time, so memory stays flat whatever the file size. 4 MB measured fastest here.
BLOCK_BYTES = 4 << 20
# JSON lines go through Python one by one, so a smaller block costs no speed, and bounds what a
# block of bad lines holds (each kept with its reason until quarantined): ~1 M lines of `{}` in
# 4 MB took ~300 MB, in 1 MB ~60 MB.
JSON_BLOCK_BYTES = 1 << 20
# A line longer than this (1 MB; no real record comes near) is quarantined by its number and
# length and never stored; its bytes are skipped as they stream, so memory stays flat even for
# a file without a single newline. The file's other lines are read as usual.
MAX_LINE_BYTES = 1 << 20
# A .gz whose lines expand to more than this many times its size (checked once past
# GZIP_RATIO_CHECKED_AFTER bytes of lines) is quarantined whole as a decompression bomb: logs
# and JSON lines compress 5-30×. Overlong lines are skipped, not parsed, and do not count.
MAX_GZIP_RATIO = 100
GZIP_RATIO_CHECKED_AFTER = 2 << 20
# An unexpected error while reading a file quarantines it whole; its message is kept this long.
REASON_CHARS = 200
# A quarantined line is kept up to this many characters (after masking IP addresses).
QUARANTINE_LINE_CHARS = 1000
# Past this many quarantined lines in one file only their numbers and reasons are kept: a file
# of the wrong format would otherwise copy itself into the quarantine.
QUARANTINE_RAW_LINES_PER_FILE = 10_000
# Past this many, a file's quarantined lines are counted (in the ledger), not listed one by one:
# a file of millions of bad lines would otherwise hold them all in its transaction's memory.
QUARANTINE_ROWS_PER_FILE = 100_000
# Names producers use for files still being written, or for their own bookkeeping.
IGNORED_PREFIXES = (".", "_")
IGNORED_SUFFIXES = (".tmp", ".partial", ".inprogress")


@dataclass(frozen=True)
class Feed:
    name: str  # the folder under the landing root, and the table in landing_raw
    suffixes: tuple[str, ...]  # accepted file names, each also gzipped (+ ".gz")
    columns: str  # the table's DDL columns, after which every table has source_file, line_number
    description: str


ONTRACK_LOGS = Feed(
    "ontrack_logs", (".log", ".jsonl"),
    "requested_at TIMESTAMP NOT NULL, method VARCHAR NOT NULL, path_template VARCHAR NOT NULL, "
    "status SMALLINT, duration_ms DOUBLE, bytes BIGINT, upstream_ms DOUBLE, "
    "exception_class VARCHAR, client_network VARCHAR, request_id VARCHAR, pid INTEGER, "
    "log_format VARCHAR NOT NULL",
    "OnTrack requests from Doubtfire's and Rails' logs, lograge JSON and nginx access lines",
)
# `.json`: what a Collector's file exporter is usually told to write (`path: metrics.json`).
ONTRACK_METRICS = Feed(
    "ontrack_metrics", (".jsonl", ".json"),
    "time TIMESTAMP NOT NULL, name VARCHAR NOT NULL, value DOUBLE NOT NULL, tags JSON",
    "OnTrack application metrics: OTLP JSON lines from a Collector's file exporter (data "
    "points in ontrack_metric_points), or events {time, name, value, tags}",
)
SPLASHKIT_USAGE = Feed(
    "splashkit_usage", (".jsonl",),
    "time TIMESTAMP NOT NULL, install_id VARCHAR NOT NULL, event VARCHAR NOT NULL, "
    "function VARCHAR, language VARCHAR, os VARCHAR, splashkit_version VARCHAR",
    "SplashKit anonymous usage events",
)
FEEDS: dict[str, Feed] = {f.name: f for f in (ONTRACK_LOGS, ONTRACK_METRICS, SPLASHKIT_USAGE)}

SOURCE_COLUMNS = "source_file VARCHAR NOT NULL, line_number BIGINT NOT NULL"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {DATASET};
CREATE TABLE IF NOT EXISTS {DATASET}.{LEDGER} (
    path              VARCHAR PRIMARY KEY, -- relative to the landing root: <feed>/YYYY/MM/DD/name
    feed              VARCHAR NOT NULL,
    size              BIGINT NOT NULL,     -- bytes as stored (compressed, for .gz)
    mtime             TIMESTAMP NOT NULL,  -- UTC, as the filesystem reports it
    sha256            VARCHAR,             -- of the bytes as stored
    lines             BIGINT NOT NULL,     -- lines read (0 when the file was quarantined whole)
    rows              BIGINT NOT NULL,     -- rows it holds in its feed's table
    quarantined_lines BIGINT NOT NULL,
    context_lines     BIGINT NOT NULL DEFAULT 0, -- neither rows nor errors (lines = rows +
    blank_lines       BIGINT NOT NULL DEFAULT 0, --   point_lines + context + quarantined + blank)
    point_lines       BIGINT NOT NULL DEFAULT 0, -- OTLP lines, whose data points are in
    points            BIGINT NOT NULL DEFAULT 0, --   ontrack_metric_points
    status            VARCHAR NOT NULL,    -- loaded | quarantined (the whole file)
    reason            VARCHAR,             -- why a whole file was quarantined
    loaded_at         TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS {DATASET}.{QUARANTINE} (
    feed           VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    line_number    BIGINT,                 -- NULL: the whole file
    reason         VARCHAR NOT NULL,
    raw_line       VARCHAR,                -- IP addresses masked, at most 1,000 characters
    quarantined_at TIMESTAMP NOT NULL
);
-- Ledgers written before the line accounting existed.
ALTER TABLE {DATASET}.{LEDGER} ADD COLUMN IF NOT EXISTS context_lines BIGINT DEFAULT 0;
ALTER TABLE {DATASET}.{LEDGER} ADD COLUMN IF NOT EXISTS blank_lines BIGINT DEFAULT 0;
ALTER TABLE {DATASET}.{LEDGER} ADD COLUMN IF NOT EXISTS point_lines BIGINT DEFAULT 0;
ALTER TABLE {DATASET}.{LEDGER} ADD COLUMN IF NOT EXISTS points BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS {DATASET}.{POINTS} ({SAMPLE_COLUMNS}, {SOURCE_COLUMNS});
""" + "".join(
    f"CREATE TABLE IF NOT EXISTS {DATASET}.{f.name} ({f.columns}, {SOURCE_COLUMNS});\n"
    for f in FEEDS.values()
) + f"""
-- ontrack_logs tables written before Doubtfire's own log was read: a Grape request has no status.
ALTER TABLE {DATASET}.ontrack_logs ALTER status DROP NOT NULL;
ALTER TABLE {DATASET}.ontrack_logs ADD COLUMN IF NOT EXISTS bytes BIGINT;
ALTER TABLE {DATASET}.ontrack_logs ADD COLUMN IF NOT EXISTS upstream_ms DOUBLE;
ALTER TABLE {DATASET}.ontrack_logs ADD COLUMN IF NOT EXISTS exception_class VARCHAR;
"""
