"""A local GA4 Data API stand-in: RunReport over plain HTTP, for tests and `thoth demo`.

Speaks the REST protocol the official client uses (../shared/SERVICES.md): POST
/v1beta/properties/{id}:runReport, `limit`/`offset` as JSON strings, all values as strings,
`rowCount` the total whatever the page, no `rows`/`rowCount` at all for an empty report. Data is
deterministic for any dimensions, metrics and dates (seeded by property, date and fields), so a
test can compute what a load must hold with `rows()`. It can be told to fail (429, 500, 503,
daily quota, 403, …), to return empty reports, to flag thresholding, sampling or "(other)"-row
data loss, and to revise recent days (`revision`), as GA4 does for 24–48 h.
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
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
}
KNOWN_DIMENSIONS = {"date", "pageTitle", *VOCABULARY}
METRIC_TYPES: dict[str, str] = {
    **dict.fromkeys(["activeUsers", "newUsers", "totalUsers", "sessions", "engagedSessions",
                     "screenPageViews", "eventCount", "conversions", "keyEvents"],
                    "TYPE_INTEGER"),
    **dict.fromkeys(["userEngagementDuration", "averageSessionDuration"], "TYPE_SECONDS"),
    **dict.fromkeys(["engagementRate", "bounceRate", "sessionsPerUser"], "TYPE_FLOAT"),
    "totalRevenue": "TYPE_CURRENCY",
}


def _title(path: str) -> str:
    return "OnTrack – " + (path.strip("/").replace("/", " › ") or "home")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


@dataclass
class Fault:
    status: int
    message: str
    times: int | None  # None: every matching request
    match: Callable[[str, dict], bool] | None  # (property id, request body) → applies?


@dataclass
class Request:
    property_id: str
    body: dict


_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class StandIn:
    """Start with `with StandIn() as ga4:`; point the client at `ga4.url`."""

    time_zone: str = "Australia/Melbourne"
    currency_code: str = "AUD"
    today: date = field(default_factory=date.today)
    revision: int = 0  # bump it to change the values (and some rows) of recent days
    revised_days: int = 2  # today and the day before are the "recent days"
    empty_properties: set[str] = field(default_factory=set)
    subject_to_thresholding: bool = False
    data_loss_from_other_row: bool = False
    sampling: tuple[int, int] | None = None  # (samplesReadCount, samplingSpaceSize)
    tokens_per_day: int = 200_000
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._consumed: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- control -------------------------------------------------------------------------
    def fail(self, status: int, times: int | None = 1, message: str | None = None,
             match: Callable[[str, dict], bool] | None = None) -> None:
        """Answer the next `times` matching requests (None: all of them) with an error."""
        default = {429: "Exhausted concurrent requests per property.",
                   500: "Internal error encountered.", 503: "The service is currently unavailable.",
                   403: "User does not have sufficient permissions for this property."}
        self.faults.append(Fault(status, message or default.get(status, "error"), times, match))

    def exhaust_daily_quota(self) -> None:
        self.fail(429, times=None, message="Exhausted property tokens per day. "
                  "Quota resets at midnight Pacific time.")

    def clear_faults(self) -> None:
        self.faults.clear()

    # --- data ----------------------------------------------------------------------------
    def resolve_date(self, text: str) -> date:
        if text == "today":
            return self.today
        if text == "yesterday":
            return self.today - timedelta(days=1)
        if m := _DAYS_AGO.match(text):
            return self.today - timedelta(days=int(m.group(1)))
        return date.fromisoformat(text)

    def _revision_of(self, day: date) -> int:
        return self.revision if day > self.today - timedelta(days=self.revised_days) else 0

    def rows(self, property_id: str, dimensions: list[str], metrics: list[str],
             start: date, end: date) -> list[tuple[list[str], list[str]]]:
        """Every row the stand-in serves for this request, in order: (dimension values, metric
        values), as the API's strings."""
        if property_id in self.empty_properties:
            return []
        others = [d for d in dimensions if d not in ("date", "pageTitle")]
        out = []
        day = start
        while day <= end:
            rev = self._revision_of(day)
            choices = [VOCABULARY.get(d, ["a", "b", "c"]) for d in others]
            for combo in itertools.product(*choices):
                rng = random.Random(_seed(property_id, day, tuple(dimensions), combo, rev))
                if rng.random() < 0.4:  # not every combination has traffic every day
                    continue
                values = dict(zip(others, combo, strict=True))
                values["date"] = day.strftime("%Y%m%d")
                if "pageTitle" in dimensions:
                    values["pageTitle"] = _title(values.get("pagePath", "/"))
                out.append(([values[d] for d in dimensions], self._metrics(rng, metrics)))
            day += timedelta(days=1)
        return out

    @staticmethod
    def _metrics(rng: random.Random, metrics: list[str]) -> list[str]:
        # Parts agree as GA4's do, so ratios built from them stay in range: engaged sessions
        # and active users never exceed sessions, new users never exceed active users.
        sessions = rng.randint(1, 900)
        active = rng.randint(1, sessions)
        related = {"sessions": sessions, "activeUsers": active,
                   "engagedSessions": rng.randint(0, sessions), "newUsers": rng.randint(0, active)}
        values = []
        for metric in metrics:
            kind = METRIC_TYPES.get(metric, "TYPE_INTEGER")
            if metric in related:
                values.append(str(related[metric]))
            elif kind == "TYPE_INTEGER":
                values.append(str(rng.randint(1, 900)))
            elif kind == "TYPE_FLOAT":
                values.append(repr(round(rng.random(), 6)))
            else:
                values.append(repr(round(rng.uniform(10, 50_000), 3)))
        return values

    # --- HTTP ----------------------------------------------------------------------------
    def _answer(self, property_id: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Request(property_id, body))
            for fault in self.faults:
                if fault.times != 0 and (fault.match is None or fault.match(property_id, body)):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault.status, {"error": {"code": fault.status, "message": fault.message,
                                                    "status": _STATUS.get(fault.status, "UNKNOWN")}}
        dims = [d["name"] for d in body.get("dimensions", [])]
        metrics = [m["name"] for m in body.get("metrics", [])]
        for name in dims:
            if name not in KNOWN_DIMENSIONS and not name.startswith("customEvent:"):
                return 400, _error(400, f"Field {name} is not a valid dimension. For a list of "
                                   "valid dimensions and metrics, see https://developers.google"
                                   ".com/analytics/devguides/reporting/data/v1/api-schema")
        for name in metrics:
            if name not in METRIC_TYPES:
                return 400, _error(400, f"Field {name} is not a valid metric.")
        ranges = body.get("dateRanges") or [{}]
        start = self.resolve_date(ranges[0].get("startDate", "7daysAgo"))
        end = self.resolve_date(ranges[0].get("endDate", "today"))
        rows = self.rows(property_id, dims, metrics, start, min(end, self.today))
        rows = [r for r in rows if _passes(body.get("dimensionFilter"), dims, r[0])]
        offset, limit = int(body.get("offset", 0)), int(body.get("limit", 10_000))
        response: dict = {
            "dimensionHeaders": [{"name": d} for d in dims],
            "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in metrics],
            "metadata": {"currencyCode": self.currency_code, "timeZone": self.time_zone},
            "kind": "analyticsData#runReport",
        }
        if rows:
            response["rowCount"] = len(rows)
            response["rows"] = [
                {"dimensionValues": [{"value": v} for v in d],
                 "metricValues": [{"value": v} for v in m]}
                for d, m in rows[offset:offset + limit]
            ]
        meta = response["metadata"]
        if self.subject_to_thresholding:
            meta["subjectToThresholding"] = True
        if self.data_loss_from_other_row:
            meta["dataLossFromOtherRow"] = True
        if self.sampling:
            meta["samplingMetadatas"] = [{"samplesReadCount": str(self.sampling[0]),
                                          "samplingSpaceSize": str(self.sampling[1])}]
        if body.get("returnPropertyQuota"):
            with self._lock:
                cost = 5 + len(response.get("rows", [])) // 100
                used = self._consumed[property_id] = self._consumed.get(property_id, 0) + cost
            response["propertyQuota"] = {"tokensPerDay": {
                "consumed": cost, "remaining": max(self.tokens_per_day - used, 0)}}
        return 200, response

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


def _passes(expression: dict | None, dims: list[str], values: list[str]) -> bool:
    """The two filters reports use most: exact string and in-list on one dimension."""
    if not expression or "filter" not in expression:
        return True
    flt = expression["filter"]
    if flt.get("fieldName") not in dims:
        return True
    value = values[dims.index(flt["fieldName"])]
    if "inListFilter" in flt:
        return value in flt["inListFilter"].get("values", [])
    if "stringFilter" in flt:
        return value == flt["stringFilter"].get("value")
    return True
