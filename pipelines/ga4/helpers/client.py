"""The GA4 Data API through the official client: credentials, day windows, paging, quotas the
way Google meters them, and every failure turned into one line that says what to do.

Two kinds of failure (texts Google sends: /work/notes/ga4-research.md):
- "try later" — a quota used up (daily, hourly, thresholded requests), retries of a busy
  property or of server errors spent: that property gets no more requests this run
  (`PropertyStopped`), one line says so, what was read before stays, the next run continues;
- "fix something" — 400 / 401 / 403 / 404, no credentials: a `ThothError` naming what to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    OrderBy,
    PropertyQuota,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry

from pipelines.ga4 import settings
from pipelines.ga4.config import Ga4Config, Report, filter_expression
from thoth.core.duck import utc_now
from thoth.core.errors import ThothError

SERVER_ERRORS = (gexc.InternalServerError, gexc.ServiceUnavailable, gexc.BadGateway,
                 gexc.GatewayTimeout)
RETRYABLE = (gexc.TooManyRequests, *SERVER_ERRORS)
# Before a property's first answer says its time zone, "today" is bounded by the latest date
# anywhere on Earth (UTC+14), so no day of the property is left out.
LATEST_ZONE = timezone(timedelta(hours=14))


def _native_credentials(config: Ga4Config):
    """Anonymous for a local http:// stand-in, else the service-account key, else ADC."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    if config.anonymous:
        return AnonymousCredentials()
    if config.credentials:
        from dlt.common.configuration.specs import GcpServiceAccountCredentialsWithoutDefaults

        spec = GcpServiceAccountCredentialsWithoutDefaults()
        spec.update(config.credentials)
        spec.on_resolved()  # dlt's fix-up: the key must end with a newline
        try:
            return spec.to_native_credentials().with_scopes(list(settings.SCOPES))
        except (ValueError, KeyError) as exc:
            raise ThothError(f"[sources.ga4.credentials] is not a usable service-account key "
                             f"({exc}): paste the JSON key's fields again") from None
    try:
        credentials, _ = google.auth.default(scopes=list(settings.SCOPES))
    except google.auth.exceptions.DefaultCredentialsError:
        raise ThothError(
            "no GA4 credentials: put the service account's JSON key fields under "
            "[sources.ga4.credentials] in .dlt/secrets.toml, or set GOOGLE_APPLICATION_CREDENTIALS "
            "(Application Default Credentials)"
        ) from None
    return credentials


def make_client(config: Ga4Config) -> BetaAnalyticsDataClient:
    """REST transport everywhere, so tests exercise the production path (SERVICES.md)."""
    return BetaAnalyticsDataClient(
        transport="rest",
        credentials=_native_credentials(config),
        client_options={"api_endpoint": config.api_endpoint},
    )


def api_message(exc: gexc.GoogleAPICallError) -> str:
    """The API's own message, without the "POST http://…:" prefix the REST transport adds."""
    response = getattr(exc, "response", None)
    try:
        return str(response.json()["error"]["message"])
    except Exception:
        return str(exc.message).split(": ", 1)[-1]


def quota_exhausted(exc: BaseException) -> str | None:
    """Which of the property's quotas Google says is used up ("Exhausted property tokens for a
    project per hour. …"), or None. Concurrent requests are not among them: those free up in
    seconds and are retried."""
    if not isinstance(exc, gexc.TooManyRequests | gexc.Forbidden):
        return None
    text = api_message(exc).lower()
    if "exhausted" not in text or "concurrent" in text:
        return None
    return next((what for needle, what in settings.QUOTA_MESSAGES if needle in text), None)


class PropertyStopped(Exception):
    """Try later: no more requests to this property in this run."""


@dataclass
class Window:
    """Every page of one report, one property and one range of days."""

    start: date
    end: date
    responses: list[RunReportResponse]

    @property
    def time_zone(self) -> str | None:
        return self.responses[0].metadata.time_zone or None


@dataclass
class ReportReader:
    """Reads reports window by window, page by page, and keeps per property what Google said
    (time zone, quota left) and whether the property is stopped for this run."""

    client: BetaAnalyticsDataClient
    config: Ga4Config
    log: Callable[[str], None]
    clock: Callable[[], datetime] = utc_now
    stopped: dict[str, str] = field(default_factory=dict)  # property → why
    time_zones: dict[str, str] = field(default_factory=dict)
    quotas: dict[str, PropertyQuota] = field(default_factory=dict)  # the latest answer's
    server_errors: dict[str, int] = field(default_factory=dict)  # this run
    _errors_since_quota: dict[str, int] = field(default_factory=dict)

    def today(self, property_id: str, saved_zone: str | None = None) -> date:
        """The property's today, in its time zone (known from an answer or saved state)."""
        name = self.time_zones.get(property_id) or saved_zone
        try:
            zone = ZoneInfo(name) if name else LATEST_ZONE
        except (ZoneInfoNotFoundError, ValueError):
            zone = LATEST_ZONE
        now = self.clock()
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        return now.astimezone(zone).date()

    def windows(self, report: Report, property_id: str, start: date,
                saved_zone: str | None = None) -> Iterator[Window]:
        """Windows of `window_days` from `start` to the property's today, each complete (all
        its pages) and in order. A "try later" ends them: the property is stopped for the run."""
        day = start
        while property_id not in self.stopped:
            today = self.today(property_id, saved_zone)
            if day > today:
                return
            end = min(day + timedelta(days=self.config.window_days - 1), today)
            try:
                responses = list(self._pages(report, property_id, day, end))
            except PropertyStopped as stop:
                self.stopped[property_id] = str(stop)
                self.log(f"ga4: property {property_id} stopped for this run at {report.name} "
                         f"{day}: {stop}; the days before are loaded and the next run "
                         "continues from there")
                return
            # The first answer may have told the time zone: no day after the property's today.
            yield Window(day, min(end, self.today(property_id, saved_zone)), responses)
            day = end + timedelta(days=1)

    def _pages(self, report: Report, property_id: str, start: date,
               end: date) -> Iterator[RunReportResponse]:
        what = f"ga4.{report.name} property {property_id} {start}"
        offset = 0
        while True:
            request = RunReportRequest(
                property=f"properties/{property_id}",
                dimensions=[Dimension(name=d) for d in report.dimensions],
                metrics=[Metric(name=m) for m in report.metrics],
                date_ranges=[DateRange(start_date=start.isoformat(), end_date=end.isoformat())],
                dimension_filter=_filter(report.dimension_filter),
                metric_filter=_filter(report.metric_filter),
                # A stable order, so offsets page through one consistent sequence.
                order_bys=[OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d))
                           for d in report.dimensions],
                limit=self.config.page_size,
                offset=offset,
                currency_code=self.config.currency_code or "",
                return_property_quota=True,
            )
            try:
                response = self.client.run_report(
                    request, retry=self._retry(what, property_id),
                    timeout=settings.REQUEST_TIMEOUT_SECONDS)
            except Exception as exc:
                raise self.explain(exc, report, property_id) from None
            self._note(property_id, response)
            yield response
            offset += len(response.rows)
            if not response.rows or offset >= response.row_count:
                return

    def _note(self, property_id: str, response: RunReportResponse) -> None:
        if response.metadata.time_zone:
            self.time_zones[property_id] = response.metadata.time_zone
        if "property_quota" in response:
            self.quotas[property_id] = response.property_quota
            self._errors_since_quota[property_id] = 0

    def server_errors_left(self, property_id: str) -> int | None:
        """What Google last said is left of this hour's server errors, less those since."""
        quota = self.quotas.get(property_id)
        if quota is None or "server_errors_per_project_per_hour" not in quota:
            return None
        return (quota.server_errors_per_project_per_hour.remaining
                - self._errors_since_quota.get(property_id, 0))

    def _retry(self, what: str, property_id: str) -> Retry:
        attempts = {"n": 1}

        def retryable(exc: BaseException) -> bool:
            if quota_exhausted(exc):
                return False
            if isinstance(exc, SERVER_ERRORS):
                spent = self.server_errors[property_id] = self.server_errors.get(
                    property_id, 0) + 1
                self._errors_since_quota[property_id] = self._errors_since_quota.get(
                    property_id, 0) + 1
                left = self.server_errors_left(property_id)
                if spent > self.config.server_error_retries or (
                        left is not None and left < settings.SERVER_ERRORS_RESERVE):
                    return False
                self.log(f"{what}: {exc.code} {api_message(exc)} — retry {spent} of "
                         f"{self.config.server_error_retries} for this property this run")
                return True
            if isinstance(exc, gexc.TooManyRequests):
                if attempts["n"] >= self.config.retry_attempts:
                    return False  # the bound: the last error goes up to the caller
                attempts["n"] += 1
                self.log(f"{what}: {exc.code} {api_message(exc)} — retry {attempts['n'] - 1} of "
                         f"{self.config.retry_attempts - 1}")
                return True
            return False

        return Retry(
            predicate=retryable,
            initial=self.config.retry_initial_seconds,
            maximum=max(settings.RETRY_MAXIMUM_SECONDS, self.config.retry_initial_seconds),
            multiplier=2.0,
            timeout=self.config.retry_timeout_seconds,
        )

    def explain(self, exc: Exception, report: Report, property_id: str) -> Exception:
        """`PropertyStopped` for "try later", a one-line `ThothError` for "fix something";
        anything else goes up unchanged."""
        if isinstance(exc, gexc.GoogleAPICallError):
            message = api_message(exc)
            if what := quota_exhausted(exc):
                return PropertyStopped(f"GA4's {what} is used up ({message})")
            if isinstance(exc, SERVER_ERRORS):
                left = self.server_errors_left(property_id)
                google = f"; Google counts {left} left this hour" if left is not None else ""
                return PropertyStopped(
                    f"{exc.code} {message} — {self.server_errors.get(property_id, 0)} server "
                    f"errors this run, no more retries: a property may have "
                    f"{settings.SERVER_ERRORS_PER_HOUR} an hour per Cloud project{google}")
            if isinstance(exc, gexc.TooManyRequests):
                return PropertyStopped(f"{exc.code} {message} — still so after "
                                       f"{self.config.retry_attempts} attempts")
        if isinstance(exc, gexc.RetryError):  # the retry deadline passed before the bounds
            last = exc.cause
            detail = f"{last.code} {api_message(last)}" if isinstance(
                last, gexc.GoogleAPICallError) else str(last or exc.message)
            return PropertyStopped(f"{detail} — still failing after retrying for "
                                   f"{self.config.retry_timeout_seconds:g} s")
        return explain(exc, report, property_id, self.config)


def _filter(value: dict | None):
    return None if value is None else filter_expression(value)


def explain(exc: Exception, report: Report, property_id: str, config: Ga4Config) -> Exception:
    """One line for each failure an operator must fix; anything else goes up unchanged."""
    where = f"GA4 report {report.name!r} for property {property_id}"
    if isinstance(exc, gexc.GoogleAPICallError):
        message = api_message(exc)
        if isinstance(exc, gexc.Forbidden):  # REST's 403; gRPC's PermissionDenied is one
            return ThothError(f"{where}: {_forbidden(exc, message, property_id, config)}")
        if isinstance(exc, gexc.Unauthorized):  # 401; gRPC's Unauthenticated is one
            return ThothError(f"{where}: the credentials were refused ({message}): check the "
                              "service-account key in [sources.ga4.credentials]")
        if isinstance(exc, gexc.NotFound):
            return ThothError(f"{where}: not found ({message}): is {property_id} the numeric "
                              "property id (GA4 Admin → Property details)?")
        if isinstance(exc, gexc.BadRequest):
            return ThothError(f"{where}: the API rejected the report ({message}): fix its "
                              "dimensions, metrics or filters in [sources.ga4] reports")
        return ThothError(f"{where}: {exc.code} {message}")
    if isinstance(exc, requests.exceptions.RequestException):
        return ThothError(f"cannot reach the GA4 Data API at {config.api_endpoint}: "
                          f"{_reason(exc)}")
    try:
        from google.auth.exceptions import GoogleAuthError
    except ImportError:  # pragma: no cover
        return exc
    if isinstance(exc, GoogleAuthError):
        return ThothError(f"GA4 credentials failed: {str(exc).splitlines()[0]}")
    return exc


def _forbidden(exc: gexc.Forbidden, message: str, property_id: str, config: Ga4Config) -> str:
    """The 403s Google sends for different causes, each with what fixes it. The ErrorInfo
    reason (google.rpc.ErrorInfo in the error's details) tells them apart where it is set."""
    reason = exc.reason or ""
    metadata = exc.metadata or {}
    if "quota project" in message:  # user ADC: billed to gcloud's own project (SERVICE_DISABLED)
        return ("Application Default Credentials of a user need a quota project: run `gcloud "
                "auth application-default set-quota-project PROJECT` with the Cloud project "
                "that has the Google Analytics Data API enabled, or put a service-account key "
                f"under [sources.ga4.credentials] ({message})")
    if reason == "SERVICE_DISABLED" or "has not been used in project" in message:
        project = str(metadata.get("consumer", "")).removeprefix("projects/") or "?"
        url = metadata.get("activationUrl") or (
            "https://console.developers.google.com/apis/api/analyticsdata.googleapis.com/"
            f"overview?project={project}")
        return (f"the Google Analytics Data API is not enabled in Cloud project {project}: "
                f"enable it at {url} (APIs & Services → Library), wait a few minutes, run again")
    if reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" or "authentication scopes" in message:
        return (f"the credentials lack the {settings.SCOPES[0]} scope ({message}): with gcloud, "
                "run `gcloud auth application-default login --scopes="
                f"{settings.SCOPES[0]},https://www.googleapis.com/auth/cloud-platform`; a "
                "service-account key under [sources.ga4.credentials] gets it by itself")
    who = (config.credentials or {}).get("client_email", "the service account")
    if "permission" in message.lower():
        return (f"permission denied ({message}): check {who} has Viewer on property "
                f"{property_id} (GA4 Admin → Property access management) and that "
                f"{property_id} is the numeric property id")
    return f"403 {message}"


def _reason(exc: requests.exceptions.RequestException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "No route to host"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200]
