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

# Quota errors (429) and server errors (500, 503) are retried with exponential backoff, bounded
# by both an attempt count and a total time; a day's quota exhausted is never retried.
DEFAULT_RETRY_INITIAL_SECONDS = 2.0
RETRY_MAXIMUM_SECONDS = 60.0
DEFAULT_RETRY_ATTEMPTS = 6
DEFAULT_RETRY_TIMEOUT_SECONDS = 300.0
REQUEST_TIMEOUT_SECONDS = 120.0
DAILY_QUOTA_MESSAGE = "Exhausted property tokens per day"

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
