"""The GA4 Data API through the official client: credentials, bounded retries, paging, and
every expected failure turned into one line that says what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry

from pipelines.ga4 import settings
from pipelines.ga4.config import Ga4Config, Report, filter_expression
from thoth.core.errors import ThothError

RETRYABLE = (gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError)


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


def is_daily_quota(exc: BaseException) -> bool:
    return isinstance(exc, gexc.TooManyRequests) and settings.DAILY_QUOTA_MESSAGE in str(exc)


@dataclass
class Page:
    response: RunReportResponse
    offset: int


@dataclass
class ReportReader:
    """Reads one report of one property, page by page, with bounded retries."""

    client: BetaAnalyticsDataClient
    config: Ga4Config
    log: Callable[[str], None]

    def _retry(self, what: str) -> Retry:
        attempts = {"n": 1}

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, RETRYABLE) or is_daily_quota(exc):
                return False
            if attempts["n"] >= self.config.retry_attempts:
                return False  # the bound: the last error goes up to the caller
            attempts["n"] += 1
            self.log(f"{what}: {exc.code} {api_message(exc)} — retry {attempts['n'] - 1} of "
                     f"{self.config.retry_attempts - 1}")
            return True

        return Retry(
            predicate=retryable,
            initial=self.config.retry_initial_seconds,
            maximum=max(settings.RETRY_MAXIMUM_SECONDS, self.config.retry_initial_seconds),
            multiplier=2.0,
            timeout=self.config.retry_timeout_seconds,
        )

    def pages(self, report: Report, property_id: str, start: date) -> Iterator[Page]:
        """Every page of the report from `start` to today (the property's today), in order."""
        what = f"ga4.{report.name} property {property_id}"
        offset = 0
        while True:
            request = RunReportRequest(
                property=f"properties/{property_id}",
                dimensions=[Dimension(name=d) for d in report.dimensions],
                metrics=[Metric(name=m) for m in report.metrics],
                date_ranges=[DateRange(start_date=start.isoformat(), end_date="today")],
                dimension_filter=_filter(report.dimension_filter),
                metric_filter=_filter(report.metric_filter),
                # A stable order, so offsets page through one consistent sequence.
                order_bys=[OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d))
                           for d in report.dimensions],
                limit=self.config.page_size,
                offset=offset,
                return_property_quota=True,
            )
            try:
                response = self.client.run_report(
                    request, retry=self._retry(what), timeout=settings.REQUEST_TIMEOUT_SECONDS
                )
            except Exception as exc:
                raise explain(exc, report, property_id, self.config) from None
            yield Page(response, offset)
            offset += len(response.rows)
            if not response.rows or offset >= response.row_count:
                return


def _filter(value: dict | None):
    return None if value is None else filter_expression(value)


def explain(exc: Exception, report: Report, property_id: str, config: Ga4Config) -> Exception:
    """One line for each failure an operator can act on; anything else goes up unchanged."""
    where = f"GA4 report {report.name!r} for property {property_id}"
    if isinstance(exc, gexc.GoogleAPICallError):
        message = api_message(exc)
        if is_daily_quota(exc):
            return ThothError(f"{where}: the property's daily quota is used up ({message}); "
                              "stopped without retrying: run again after the quota resets")
        if isinstance(exc, RETRYABLE):
            return ThothError(f"{where}: {exc.code} {message} — gave up after "
                              f"{config.retry_attempts} attempts; run again later")
        if isinstance(exc, gexc.Forbidden):  # REST's 403; gRPC's PermissionDenied is one
            who = (config.credentials or {}).get("client_email", "the service account")
            return ThothError(f"{where}: permission denied ({message}): check {who} has Viewer "
                              f"on property {property_id} (GA4 Admin → Property access management)")
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
    if isinstance(exc, gexc.RetryError):  # the retry deadline passed before the attempts ran out
        last = exc.cause
        detail = f"{last.code} {api_message(last)}" if isinstance(
            last, gexc.GoogleAPICallError) else str(last or exc.message)
        return ThothError(f"{where}: {detail} — gave up after retrying for "
                          f"{config.retry_timeout_seconds:g} s; run again later")
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


def _reason(exc: requests.exceptions.RequestException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "No route to host"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200]
