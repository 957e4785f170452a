"""What the GA4 pipeline reads by default, and the limits it works within.

Facts from ../shared/SERVICES.md and the GA4 Data API documentation."""

DATASET = "ga4_raw"
PIPELINE_NAME = "thoth_ga4"
# dlt's finished load packages kept in its working directory, for debugging a recent run.
KEEP_LOADED_PACKAGES = 8
METADATA_TABLE = "report_metadata"

# Google's endpoint; tests and the demo point SOURCES__GA4__API_ENDPOINT at the local stand-in.
DEFAULT_API_ENDPOINT = "analyticsdata.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/analytics.readonly",)

# GA4 keeps revising a day for 24–48 h after it ends: every run re-reads from this many days
# before the newest date already loaded, and those days are replaced whole.
DEFAULT_LOOKBACK_DAYS = 3
# A first run (or a --full-refresh) backfills this far unless SOURCES__GA4__START_DATE says more:
# a month costs few quota tokens; set START_DATE for a longer history.
DEFAULT_BACKFILL_DAYS = 30

# Rows per request: the API allows 250,000; a smaller page bounds the memory one response takes
# (the client turns every value into a Python object).
MAX_PAGE_SIZE = 250_000
DEFAULT_PAGE_SIZE = 100_000

# Backfills and look-backs ask for this many days a request (Airbyte's `window_in_days`, default
# 1, 1..364): a longer range raises sampling and the "(other)" row.
DEFAULT_WINDOW_DAYS = 1
MAX_WINDOW_DAYS = 364

# "Exhausted concurrent requests quota." (and any other 429 without a known quota) is retried
# with exponential backoff, bounded by an attempt count and a total time.
DEFAULT_RETRY_INITIAL_SECONDS = 2.0
RETRY_MAXIMUM_SECONDS = 60.0
DEFAULT_RETRY_ATTEMPTS = 6
DEFAULT_RETRY_TIMEOUT_SECONDS = 300.0
REQUEST_TIMEOUT_SECONDS = 120.0
# 500 / 503: a property and Cloud project pair may have 10 server errors an hour
# (PropertyQuota.server_errors_per_project_per_hour); Google asks for "exponential backoff with a
# retry limit to avoid exceeding the server errors quota". So at most this many retries of a
# server error per property in a run, and none once Google says fewer than
# SERVER_ERRORS_RESERVE are left this hour.
DEFAULT_SERVER_ERROR_RETRIES = 2
SERVER_ERRORS_RESERVE = 3
SERVER_ERRORS_PER_HOUR = 10  # a standard property (PropertyQuota's docs)

# Quotas Google meters per property and reports as exhausted in a 429's message (texts quoted in
# /work/notes/ga4-research.md; Airbyte's api_quota.py matches the same phrases). Each stops that
# property's requests for the rest of the run; the next run continues where it stopped.
QUOTA_MESSAGES = (  # (what the message contains, lower case) → what ran out
    ("per day", "daily quota"),
    ("potentially thresholded requests", "hourly quota of potentially thresholded requests"),
    ("for a project per hour", "hourly quota of the Cloud project for this property"),
    ("per hour", "hourly quota"),
)

# Whole-number metrics GA4 declares TYPE_INTEGER but reports with fractions (attribution credit
# split across touchpoints: "6346.2638449999995", estuary/connectors#2366; Airbyte rounds them,
# PR #34708, which the platform must not). Stored as DOUBLE; a name ending in ":" covers the
# per-event forms (keyEvents:purchase). [sources.ga4] fractional_metrics adds more.
FRACTIONAL_METRICS = ("conversions", "keyEvents", "conversions:", "keyEvents:")

# The reports loaded when [sources.ga4] reports is not configured; .dlt/config.toml ships the
# same list (a test keeps them equal). Only additive parts: ratios such as engagementRate
# (engagedSessions / sessions) or average durations (userEngagementDuration / activeUsers) are
# recomputed downstream, never averaged across days or devices.
DEFAULT_REPORTS: list[dict] = [
    {
        "name": "traffic",
        "dimensions": ["date", "deviceCategory", "country"],
        "metrics": ["activeUsers", "newUsers", "sessions", "engagedSessions",
                    "userEngagementDuration", "screenPageViews"],
    },
    {
        "name": "pages",
        "dimensions": ["date", "pagePath", "pageTitle"],
        "metrics": ["screenPageViews", "activeUsers", "userEngagementDuration"],
    },
    {
        "name": "events",
        "dimensions": ["date", "eventName"],
        "metrics": ["eventCount", "activeUsers"],
    },
    {
        "name": "acquisition",
        "dimensions": ["date", "sessionDefaultChannelGroup"],
        "metrics": ["sessions", "engagedSessions", "activeUsers", "newUsers",
                    "userEngagementDuration"],
    },
]
