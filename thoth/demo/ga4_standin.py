"""A local GA4 Data API stand-in: RunReport over plain HTTP, for tests and `thoth demo`.

Speaks the REST protocol the official client uses (../shared/SERVICES.md): POST
/v1beta/properties/{id}:runReport?$alt=json;enum-encoding=int, `limit`/`offset` as JSON strings,
enums as ints, all values as strings, `rowCount` the total whatever the page, no
`rows`/`rowCount` at all for an empty report. Data is deterministic for any dimensions, metrics
and dates (seeded by property, date and fields), so a test can compute what a load must hold with
`rows()`.

It behaves like Google where the pipeline depends on it (texts from Google's docs and from real
answers quoted in /work/notes/ga4-research.md):
- the property's today is the date in its `time_zone` (default Australia/Melbourne), and
  "today" / "yesterday" / "NdaysAgo" resolve there;
- `orderBys` (dimension, alphanumeric / case-insensitive / numeric; metric; desc), the whole
  FilterExpression grammar in `dimensionFilter` and `metricFilter` (and / or / not groups; string,
  in-list, numeric, between, empty filters), the metric filter applied after aggregation;
- "(other)": with `data_loss_from_other_row`, all but the `other_row_after` biggest rows of a
  day fold into one "(other)" row and `dataLossFromOtherRow` is set;
- thresholding: with `subject_to_thresholding` (or a potentially thresholded dimension such as
  userAgeBracket) rows with fewer than `threshold_users` active users are dropped and
  `subjectToThresholding` is set;
- conversions / keyEvents (and `conversions:x`, `keyEvents:x`) are TYPE_INTEGER yet come back
  with fractions (attribution credit), as "6346.2638449999995" did for estuary/connectors#2366;
- `currencyCode` on the request converts currency metrics and is echoed in the metadata;
- quotas metered per property as PropertyQuota reports them (tokens per day / hour / project
  per hour, potentially thresholded requests per hour, server errors per hour), answered with
  Google's 429 texts when used up; `new_hour()` / `new_day()` refill them;
- errors as Google words them, with their status codes (`fail()`, `disable_api()`,
  `require_quota_project()`, `lack_scopes()`). Unattested wordings: tokensPerHour's 429 and the
  emptyReason text (no real answer quoted anywhere we could find).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

_PATH = re.compile(r"^/v1beta/properties/(\d+):runReport$")
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")

# Values of the dimensions an LMS property reports; any other known dimension gets a few
# generic values. An unknown name is a 400, as in GA4.
VOCABULARY: dict[str, list[str]] = {
    "deviceCategory": ["desktop", "mobile", "tablet"],
    "country": ["Australia", "India", "China", "Vietnam", "Sri Lanka", "United States"],
    "pagePath": ["/home", "/projects", "/units/sit101/tasks", "/units/sit102/tasks",
                 "/sign_in", "/inbox", "/units/sit101/dashboard", "/admin/units"],
    "eventName": ["page_view", "session_start", "first_visit", "user_engagement", "scroll",
                  "click", "file_download"],
    "sessionDefaultChannelGroup": ["Direct", "Organic Search", "Referral", "Email",
                                   "Organic Social", "Unassigned"],
    "city": ["Melbourne", "Geelong", "Sydney", "(not set)"],
    "browser": ["Chrome", "Safari", "Edge", "Firefox"],
    "operatingSystem": ["Windows", "Macintosh", "iOS", "Android"],
    "sessionSource": ["(direct)", "google", "deakin.edu.au"],
    "sessionMedium": ["(none)", "organic", "referral"],
    "landingPage": ["/home", "/sign_in", "/projects"],
    "language": ["English", "Chinese", "Hindi"],
    "userAgeBracket": ["18-24", "25-34", "35-44", "45-54"],
    "userGender": ["female", "male", "unknown"],
    "hour": [f"{h:02d}" for h in (0, 3, 9, 10, 14, 21)],
}
# Demographic dimensions are "potentially thresholded": such a request counts against the
# property's potentially_thresholded_requests_per_hour (PropertyQuota) and is thresholded.
THRESHOLDED_DIMENSIONS = {"userAgeBracket", "userGender"}
KNOWN_DIMENSIONS = {"date", "pageTitle", *VOCABULARY}
METRIC_TYPES: dict[str, str] = {
    **dict.fromkeys(["activeUsers", "newUsers", "totalUsers", "sessions", "engagedSessions",
                     "screenPageViews", "eventCount", "conversions", "keyEvents"],
                    "TYPE_INTEGER"),
    **dict.fromkeys(["userEngagementDuration", "averageSessionDuration"], "TYPE_SECONDS"),
    **dict.fromkeys(["engagementRate", "bounceRate", "sessionsPerUser"], "TYPE_FLOAT"),
    **dict.fromkeys(["totalRevenue", "purchaseRevenue"], "TYPE_CURRENCY"),
}
# Whole-number metrics GA4 reports with fractions (data-driven attribution splits the credit).
FRACTIONAL_COUNTS = {"conversions", "keyEvents"}
RATES = {"AUD": 1.0, "USD": 0.65, "EUR": 0.6, "INR": 55.0}  # per AUD, for currencyCode

# Google's texts (see the module docstring for where each comes from).
QUOTA_DOCS = "To learn more, see https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
TEXTS = {
    "day": "Exhausted property tokens per day. These quota tokens will return in under 24 hours.",
    "hour": "Exhausted property tokens per hour. These quota tokens will return in under an "
            f"hour. {QUOTA_DOCS}",
    "project_hour": "Exhausted property tokens for a project per hour. These quota tokens will "
                    f"return in under an hour. {QUOTA_DOCS}",
    "thresholded": "Exhausted potentially thresholded requests quota. These quota tokens will "
                   f"return in under an hour. {QUOTA_DOCS}",
    "concurrent": "Exhausted concurrent requests quota.",
    "permission": "User does not have sufficient permissions for this property. To learn more "
                  "about Property ID, see https://developers.google.com/analytics/devguides/"
                  "reporting/data/v1/property-id.",
    "scopes": "Request had insufficient authentication scopes.",
    "internal": "Internal error encountered.",
    "unavailable": "The service is currently unavailable.",
}


def _title(path: str) -> str:
    return "OnTrack – " + (path.strip("/").replace("/", " › ") or "home")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def metric_type(name: str) -> str | None:
    """GA4's declared type of a metric, or None for a name GA4 does not know."""
    base = name.split(":", 1)[0]
    if ":" in name and base not in FRACTIONAL_COUNTS:
        return None
    return METRIC_TYPES.get(base)


@dataclass
class Fault:
    status: int
    body: dict
    times: int | None  # None: every matching request
    match: Callable[[str, dict], bool] | None  # (property id, request body) → applies?


@dataclass
class Request:
    property_id: str
    body: dict


_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class Quota:
    """One property's quota state, as PropertyQuota reports it."""

    day: int = 0
    hour: int = 0
    thresholded: int = 0
    server_errors: int = 0


@dataclass
class StandIn:
    """Start with `with StandIn() as ga4:`; point the client at `ga4.url`."""

    time_zone: str = "Australia/Melbourne"
    currency_code: str = "AUD"
    today: date | None = None  # the property's today; None: the clock's date in time_zone
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    revision: int = 0  # bump it to change the values (and some rows) of recent days
    revised_days: int = 2  # today and the day before are the "recent days"
    empty_properties: set[str] = field(default_factory=set)
    empty_reason: str | None = None  # metadata.emptyReason of an empty report
    subject_to_thresholding: bool = False
    threshold_users: int = 30  # thresholded rows with fewer active users are withheld
    data_loss_from_other_row: bool = False
    other_row_after: int = 4  # rows a day keeps before the rest fold into "(other)"
    flag_days: set[date] | None = None  # thresholding / (other) / sampling only on these days
    sampling: tuple[int, int] | None = None  # (samplesReadCount, samplingSpaceSize)
    truncated_before: date | None = None  # dataTruncationReasons: no data before this day
    restricted_metrics: set[str] = field(default_factory=set)  # REVENUE_DATA restricted
    fractional_metrics: set[str] = field(default_factory=lambda: set(FRACTIONAL_COUNTS))
    tokens_per_day: int = 200_000
    tokens_per_hour: int = 40_000
    tokens_per_project_per_hour: int = 14_000
    thresholded_requests_per_hour: int = 120
    server_errors_per_hour: int = 10
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._quota: dict[str, Quota] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- control -------------------------------------------------------------------------
    def fail(self, status: int, times: int | None = 1, message: str | None = None,
             match: Callable[[str, dict], bool] | None = None,
             details: list[dict] | None = None) -> None:
        """Answer the next `times` matching requests (None: all of them) with an error."""
        default = {429: TEXTS["concurrent"], 500: TEXTS["internal"], 503: TEXTS["unavailable"],
                   403: TEXTS["permission"]}
        body = _error(status, message or default.get(status, "error"))
        if details:
            body["error"]["details"] = details
        self.faults.append(Fault(status, body, times, match))

    def exhaust_daily_quota(self) -> None:
        self.fail(429, times=None, message=TEXTS["day"])

    def disable_api(self, project: str = "123456") -> None:
        """The Data API not enabled in the caller's Cloud project, as Google answers it."""
        url = ("https://console.developers.google.com/apis/api/analyticsdata.googleapis.com/"
               f"overview?project={project}")
        self.fail(403, times=None, message=(
            f"Google Analytics Data API has not been used in project {project} before or it is "
            f"disabled. Enable it by visiting {url} then retry. If you enabled this API recently, "
            "wait a few minutes for the action to propagate to our systems and retry."),
            details=[_error_info("SERVICE_DISABLED", {
                "consumer": f"projects/{project}", "service": "analyticsdata.googleapis.com",
                "activationUrl": url, "serviceTitle": "Google Analytics Data API",
                "containerInfo": project})])

    def require_quota_project(self, project: str = "764086051850") -> None:
        """User Application Default Credentials without a quota project, as Google answers."""
        self.fail(403, times=None, message=(
            "Your application is authenticating by using local Application Default Credentials. "
            "The analyticsdata.googleapis.com API requires a quota project, which is not set by "
            "default. To learn how to set your quota project, see "
            "https://cloud.google.com/docs/authentication/adc-troubleshooting/user-creds ."),
            details=[_error_info("SERVICE_DISABLED", {
                "consumer": f"projects/{project}", "service": "analyticsdata.googleapis.com"})])

    def lack_scopes(self) -> None:
        self.fail(403, times=None, message=TEXTS["scopes"], details=[_error_info(
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT", {"service": "analyticsdata.googleapis.com",
                                                "method": "google.analytics.data.v1beta."
                                                          "BetaAnalyticsData.RunReport"})])

    def clear_faults(self) -> None:
        self.faults.clear()

    def new_hour(self) -> None:
        """An hour passed: the hourly quotas are full again."""
        with self._lock:
            for quota in self._quota.values():
                quota.hour = quota.thresholded = quota.server_errors = 0

    def new_day(self) -> None:
        with self._lock:
            self._quota.clear()

    def used(self, property_id: str) -> Quota:
        return self._quota.setdefault(property_id, Quota())

    # --- data ----------------------------------------------------------------------------
    def property_today(self) -> date:
        if self.today is not None:
            return self.today
        return self.clock().astimezone(ZoneInfo(self.time_zone)).date()

    def resolve_date(self, text: str) -> date:
        today = self.property_today()
        if text == "today":
            return today
        if text == "yesterday":
            return today - timedelta(days=1)
        if m := _DAYS_AGO.match(text):
            return today - timedelta(days=int(m.group(1)))
        return date.fromisoformat(text)

    def _revision_of(self, day: date) -> int:
        today = self.property_today()
        return self.revision if day > today - timedelta(days=self.revised_days) else 0

    def _flagged(self, day: date) -> bool:
        return self.flag_days is None or day in self.flag_days

    def rows(self, property_id: str, dimensions: list[str], metrics: list[str],
             start: date, end: date, *, currency_code: str | None = None,
             thresholded: bool | None = None) -> list[tuple[list[str], list[str]]]:
        """Every row the stand-in serves for this request before filters, ordering and paging,
        as the API's strings: (dimension values, metric values). Thresholding and "(other)"
        apply here, as GA4 applies them to the data it reads."""
        if property_id in self.empty_properties:
            return []
        today = self.property_today()
        if thresholded is None:
            thresholded = self.subject_to_thresholding or bool(
                THRESHOLDED_DIMENSIONS & set(dimensions))
        rate = RATES.get(currency_code or self.currency_code, 1.0) / RATES.get(
            self.currency_code, 1.0)
        others = [d for d in dimensions if d not in ("date", "pageTitle")]
        out = []
        day = start
        while day <= min(end, today):
            if self.truncated_before and day < self.truncated_before:
                day += timedelta(days=1)
                continue
            rev = self._revision_of(day)
            choices = [VOCABULARY.get(d, ["a", "b", "c"]) for d in others]
            daily = []
            for combo in itertools.product(*choices):
                rng = random.Random(_seed(property_id, day, tuple(dimensions), combo, rev))
                if rng.random() < 0.4:  # not every combination has traffic every day
                    continue
                values = dict(zip(others, combo, strict=True))
                values["date"] = day.strftime("%Y%m%d")
                if "pageTitle" in dimensions:
                    values["pageTitle"] = _title(values.get("pagePath", "/"))
                numbers = self._metrics(rng, metrics, rate)
                daily.append(([values[d] for d in dimensions], numbers))
            if thresholded and self._flagged(day):
                daily = [r for r in daily if self._users(r, metrics) >= self.threshold_users]
            if self.data_loss_from_other_row and self._flagged(day) and others:
                daily = self._fold_other(daily, dimensions, metrics)
            out.extend(daily)
            day += timedelta(days=1)
        return out

    @staticmethod
    def _users(row: tuple[list[str], list[str]], metrics: list[str]) -> float:
        values = dict(zip(metrics, row[1], strict=True))
        return float(values.get("activeUsers", values.get("totalUsers", "1000")))

    def _fold_other(self, daily: list, dimensions: list[str], metrics: list[str]) -> list:
        if len(daily) <= self.other_row_after:
            return daily
        ranked = sorted(daily, key=lambda r: -float(r[1][0]) if r[1] else 0)
        kept, rest = ranked[:self.other_row_after], ranked[self.other_row_after:]
        dims = ["(other)" if d not in ("date",) else rest[0][0][i]
                for i, d in enumerate(dimensions)]
        sums = []
        for i, metric in enumerate(metrics):
            total = sum(float(r[1][i]) for r in rest)
            whole = metric_type(metric) == "TYPE_INTEGER" and metric.split(":")[0] not in \
                self.fractional_metrics
            sums.append(str(int(total)) if whole else repr(total))
        return [*kept, (dims, sums)]

    def _metrics(self, rng: random.Random, metrics: list[str], rate: float) -> list[str]:
        # Parts agree as GA4's do, so ratios built from them stay in range: engaged sessions
        # and active users never exceed sessions, new users never exceed active users.
        sessions = rng.randint(1, 900)
        active = rng.randint(1, sessions)
        related = {"sessions": sessions, "activeUsers": active,
                   "engagedSessions": rng.randint(0, sessions), "newUsers": rng.randint(0, active)}
        values = []
        for metric in metrics:
            kind = metric_type(metric) or "TYPE_INTEGER"
            base = metric.split(":", 1)[0]
            if metric in related:
                values.append(str(related[metric]))
            elif base in self.fractional_metrics:
                # Attribution credit: some rows whole, most with a long binary fraction.
                credit = sum(rng.random() for _ in range(rng.randint(0, 40)))
                values.append(repr(round(credit)) if rng.random() < 0.3 else repr(credit))
            elif kind == "TYPE_INTEGER":
                values.append(str(rng.randint(1, 900)))
            elif kind == "TYPE_FLOAT":
                values.append(repr(round(rng.random(), 6)))
            elif kind == "TYPE_CURRENCY":
                amount = round(rng.uniform(10, 5_000), 2)
                values.append("0" if base in self.restricted_metrics else repr(amount * rate))
            else:
                values.append(repr(round(rng.uniform(10, 50_000), 3)))
        return values

    # --- HTTP ----------------------------------------------------------------------------
    def _answer(self, property_id: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Request(property_id, body))
            quota = self.used(property_id)
            for fault in self.faults:
                if fault.times != 0 and (fault.match is None or fault.match(property_id, body)):
                    if fault.times is not None:
                        fault.times -= 1
                    if fault.status >= 500:
                        quota.server_errors += 1
                    return fault.status, fault.body
        dims = [d["name"] for d in body.get("dimensions", [])]
        metrics = [m["name"] for m in body.get("metrics", [])]
        for name in dims:
            if name not in KNOWN_DIMENSIONS and not name.startswith("customEvent:"):
                return 400, _error(400, f"Field {name} is not a valid dimension. For a list of "
                                   "valid dimensions and metrics, see https://developers.google"
                                   ".com/analytics/devguides/reporting/data/v1/api-schema")
        for name in metrics:
            if metric_type(name) is None:
                return 400, _error(400, f"Field {name} is not a valid metric. For a list of "
                                   "valid dimensions and metrics, see https://developers.google"
                                   ".com/analytics/devguides/reporting/data/v1/api-schema")
        if "hour" in dims and "userAgeBracket" in dims:  # one incompatible pair, Google's text
            return 400, _error(400, "Please remove hour to make the request compatible. The "
                               "request's dimensions & metrics are incompatible. To learn more, "
                               "see https://ga-dev-tools.web.app/ga4/dimensions-metrics-explorer/")
        thresholded = self.subject_to_thresholding or bool(THRESHOLDED_DIMENSIONS & set(dims))
        with self._lock:  # quota first: a request over quota is answered 429, nothing else
            exhausted = self._exhausted(quota, bool(THRESHOLDED_DIMENSIONS & set(dims)))
            if exhausted:
                return 429, _error(429, TEXTS[exhausted])
        ranges = body.get("dateRanges") or [{}]
        start = self.resolve_date(ranges[0].get("startDate", "7daysAgo"))
        end = self.resolve_date(ranges[0].get("endDate", "today"))
        currency = body.get("currencyCode") or None
        rows = self.rows(property_id, dims, metrics, start, end, currency_code=currency,
                         thresholded=thresholded)
        rows = [r for r in rows if matches(body.get("dimensionFilter"), dims, r[0])]
        rows = [r for r in rows if matches(body.get("metricFilter"), metrics, r[1])]
        rows = order(rows, body.get("orderBys") or [], dims, metrics)
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 10_000))
        response: dict = {
            "dimensionHeaders": [{"name": d} for d in dims],
            "metricHeaders": [{"name": m, "type": metric_type(m)} for m in metrics],
            "metadata": {"currencyCode": currency or self.currency_code,
                         "timeZone": self.time_zone},
            "kind": "analyticsData#runReport",
        }
        if rows:
            response["rowCount"] = len(rows)
            response["rows"] = [
                {"dimensionValues": [{"value": v} for v in d],
                 "metricValues": [{"value": v} for v in m]}
                for d, m in rows[offset:offset + limit]
            ]
        self._metadata(response["metadata"], rows, start, min(end, self.property_today()),
                       thresholded, metrics)
        with self._lock:
            cost = 5 + len(response.get("rows", [])) // 100
            quota.day += cost
            quota.hour += cost
            quota.thresholded += bool(THRESHOLDED_DIMENSIONS & set(dims))
            if body.get("returnPropertyQuota"):
                response["propertyQuota"] = self._property_quota(quota, cost)
        return 200, response

    def _metadata(self, meta: dict, rows: list, start: date, end: date, thresholded: bool,
                  metrics: list[str]) -> None:
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        flagged = any(self._flagged(d) for d in days)
        if thresholded and flagged:
            meta["subjectToThresholding"] = True
        if self.data_loss_from_other_row and flagged:
            meta["dataLossFromOtherRow"] = True
        if self.sampling and flagged:
            meta["samplingMetadatas"] = [{"samplesReadCount": str(self.sampling[0]),
                                          "samplingSpaceSize": str(self.sampling[1])}]
        if self.truncated_before and start < self.truncated_before:
            meta["dataTruncationReasons"] = [{
                "dataTruncationType": 8,  # DATA_TRUNCATION_TYPE_PROPERTY (enum-encoding=int)
                "dataTruncationMessage": "Data truncated because the query attempts to read "
                                         "event data prior to its retention date.",
                "dataTruncationDate": self.truncated_before.isoformat()}]
        restricted = [m for m in metrics if m.split(":")[0] in self.restricted_metrics]
        if restricted:
            meta["schemaRestrictionResponse"] = {"activeMetricRestrictions": [
                {"metricName": m, "restrictedMetricTypes": [2]} for m in restricted]}  # REVENUE
        if not rows and self.empty_reason:
            meta["emptyReason"] = self.empty_reason

    def _exhausted(self, quota: Quota, thresholded: bool) -> str | None:
        if quota.day >= self.tokens_per_day:
            return "day"
        if quota.hour >= self.tokens_per_project_per_hour:
            return "project_hour"
        if quota.hour >= self.tokens_per_hour:
            return "hour"
        if thresholded and quota.thresholded >= self.thresholded_requests_per_hour:
            return "thresholded"
        return None

    def _property_quota(self, quota: Quota, cost: int) -> dict:
        def status(used: int, limit: int, consumed: int = cost) -> dict:
            return {"consumed": consumed, "remaining": max(limit - used, 0)}

        return {
            "tokensPerDay": status(quota.day, self.tokens_per_day),
            "tokensPerHour": status(quota.hour, self.tokens_per_hour),
            "concurrentRequests": status(0, 10, 0),
            "serverErrorsPerProjectPerHour": status(quota.server_errors,
                                                    self.server_errors_per_hour, 0),
            "potentiallyThresholdedRequestsPerHour": status(
                quota.thresholded, self.thresholded_requests_per_hour, 0),
            "tokensPerProjectPerHour": status(quota.hour, self.tokens_per_project_per_hour),
        }

    def start(self) -> StandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                match = _PATH.match(self.path.split("?", 1)[0])
                if not match:
                    status, payload = 404, _error(404, f"no such method: {self.path}")
                else:
                    try:
                        status, payload = standin._answer(match.group(1), json.loads(raw or b"{}"))
                    except (ValueError, KeyError, TypeError) as exc:
                        status, payload = 400, _error(400, f"bad request: {exc}")
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # quiet: tests and the demo print their own lines

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="ga4-standin",
                         daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}}


def _error_info(reason: str, metadata: dict) -> dict:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
            "domain": "googleapis.com", "metadata": metadata}


# --- FilterExpression and OrderBy, as the REST body carries them (enums as ints or names) --
_MATCH = {1: "EXACT", 2: "BEGINS_WITH", 3: "ENDS_WITH", 4: "CONTAINS", 5: "FULL_REGEXP",
          6: "PARTIAL_REGEXP"}
_OPERATION = {1: "EQUAL", 2: "LESS_THAN", 3: "LESS_THAN_OR_EQUAL", 4: "GREATER_THAN",
              5: "GREATER_THAN_OR_EQUAL"}
_ORDER_TYPE = {1: "ALPHANUMERIC", 2: "CASE_INSENSITIVE_ALPHANUMERIC", 3: "NUMERIC"}


def _enum(value: object, names: dict[int, str], default: str) -> str:
    if value is None:
        return default
    return names.get(value, default) if isinstance(value, int) else str(value)


def _number(value: dict) -> float:
    if "int64Value" in value:
        return float(int(value["int64Value"]))
    return float(value.get("doubleValue", 0))


def matches(expression: dict | None, fields: list[str], values: list[str]) -> bool:
    """Whether a row passes a FilterExpression (dimension values for dimensionFilter, metric
    values for metricFilter): andGroup, orGroup, notExpression, filter."""
    if not expression:
        return True
    if "andGroup" in expression:
        return all(matches(e, fields, values) for e in expression["andGroup"].get(
            "expressions", []))
    if "orGroup" in expression:
        return any(matches(e, fields, values) for e in expression["orGroup"].get(
            "expressions", []))
    if "notExpression" in expression:
        return not matches(expression["notExpression"], fields, values)
    flt = expression.get("filter") or {}
    name = flt.get("fieldName")
    if name not in fields:
        raise ValueError(f"Field {name} in the filter is not in the request")
    value = values[fields.index(name)]
    if "stringFilter" in flt:
        spec = flt["stringFilter"]
        kind = _enum(spec.get("matchType"), _MATCH, "EXACT")
        want, have = spec.get("value", ""), value
        if not spec.get("caseSensitive"):
            want, have = want.lower(), have.lower()
        return {"EXACT": have == want, "BEGINS_WITH": have.startswith(want),
                "ENDS_WITH": have.endswith(want), "CONTAINS": want in have,
                "FULL_REGEXP": re.fullmatch(want, have) is not None,
                "PARTIAL_REGEXP": re.search(want, have) is not None}[kind]
    if "inListFilter" in flt:
        spec = flt["inListFilter"]
        if spec.get("caseSensitive"):
            return value in spec.get("values", [])
        return value.lower() in {v.lower() for v in spec.get("values", [])}
    if "numericFilter" in flt:
        spec = flt["numericFilter"]
        have, want = float(value), _number(spec.get("value", {}))
        return {"EQUAL": have == want, "LESS_THAN": have < want,
                "LESS_THAN_OR_EQUAL": have <= want, "GREATER_THAN": have > want,
                "GREATER_THAN_OR_EQUAL": have >= want}[
            _enum(spec.get("operation"), _OPERATION, "EQUAL")]
    if "betweenFilter" in flt:
        spec = flt["betweenFilter"]
        return _number(spec.get("fromValue", {})) <= float(value) <= _number(
            spec.get("toValue", {}))
    if "emptyFilter" in flt:
        return value in ("", "(not set)")
    return True


def order(rows: list, order_bys: list[dict], dims: list[str], metrics: list[str]) -> list:
    """Rows sorted as `orderBys` say: the first OrderBy is the primary key of the sort."""
    for spec in reversed(order_bys):
        desc = bool(spec.get("desc"))
        if "metric" in spec:
            i = metrics.index(spec["metric"]["metricName"])
            rows = sorted(rows, key=lambda r, i=i: float(r[1][i]), reverse=desc)
        elif "dimension" in spec:
            i = dims.index(spec["dimension"]["dimensionName"])
            kind = _enum(spec["dimension"].get("orderType"), _ORDER_TYPE, "ALPHANUMERIC")
            rows = sorted(rows, key=lambda r, i=i, kind=kind: _dimension_key(r[0][i], kind),
                          reverse=desc)
    return rows


def _dimension_key(value: str, kind: str) -> tuple:
    if kind == "NUMERIC":  # non-numeric values sort below every number, all equal
        try:
            return (1, float(value))
        except ValueError:
            return (0, 0.0)
    return (value.lower(),) if kind == "CASE_INSENSITIVE_ALPHANUMERIC" else (value,)
