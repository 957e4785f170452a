"""What the scrape stores, and its limits. Every table of OnTrack's metrics is created by
either pipeline that feeds them (`DDL` here, and pipelines/landing/settings.py's): then
`kpi_app_metrics` builds from whichever producer is configured, the others' tables being empty."""

from __future__ import annotations

from pipelines.metrics.samples import COLUMNS

DATASET = "metrics_raw"
SAMPLES = "samples"  # every sample of every scrape
SCRAPES = "scrapes"  # one row per scrape attempt: ok or failed, and why
SOURCE = "metrics"  # platform.load_state's source

# What the scrape asks for: the classic text format, which every client library serves.
ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
DEFAULT_TIMEOUT_SECONDS = 10.0
# A /metrics body past this is refused (a misconfigured URL serving a file, a label explosion):
# a Rails app's yabeda endpoint is tens of kB.
DEFAULT_MAX_BODY_BYTES = 50 << 20

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {DATASET};
CREATE TABLE IF NOT EXISTS {DATASET}.{SAMPLES} (
    target VARCHAR NOT NULL,  -- the scraped URL, without query string or credentials
    scraped_at TIMESTAMP NOT NULL,
    {COLUMNS}
);
CREATE TABLE IF NOT EXISTS {DATASET}.{SCRAPES} (
    target VARCHAR NOT NULL,
    scraped_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,   -- ok | failed
    samples BIGINT NOT NULL,   -- in the body
    stored BIGINT NOT NULL,    -- rows in samples
    skipped BIGINT NOT NULL,   -- NaN/Inf values, buckets without le (reasons in `reason`)
    reason VARCHAR,            -- why it failed, or the first skipped samples
    seconds DOUBLE NOT NULL
);
"""
