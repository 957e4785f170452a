"""The GA4 pipeline's configuration, `[sources.ga4]`: a dlt config spec, checked before any I/O.

Every mistake names the key to set, e.g. SOURCES__GA4__PROPERTY_IDS, in one line."""

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, ClassVar

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import GcpServiceAccountCredentialsWithoutDefaults
from dlt.common.configuration.specs.base_configuration import NotResolved
from dlt.common.normalizers.naming.snake_case import NamingConvention

from pipelines.ga4 import settings
from thoth.core.config import Raw, Spec, env_key, resolve
from thoth.core.errors import ThothError

_NAMING = NamingConvention()
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def column_name(api_name: str) -> str:
    """The warehouse column for a GA4 field: dlt's snake_case (`pagePath` → `page_path`)."""
    return _NAMING.normalize_identifier(api_name)


@dataclass(frozen=True)
class Report:
    name: str  # the table in ga4_raw
    dimensions: tuple[str, ...]  # API names; `date` is always one of them
    metrics: tuple[str, ...]
    dimension_filter: dict | None = None  # a FilterExpression as JSON/TOML, e.g. in_list_filter
    metric_filter: dict | None = None

    @property
    def key_columns(self) -> list[str]:
        return ["property_id", *(column_name(d) for d in self.dimensions)]


@configspec
class Ga4Switch(Spec):
    """Whether GA4 is configured here at all: its property ids (the rest is read when it runs)."""

    property_ids: Raw = None  # numeric ids, "1,2" or a list; a tuple of str once resolved
    __section__: ClassVar[str] = "ga4"
    __sections__: ClassVar[tuple[str, ...]] = ("sources",)
    __help__: ClassVar[dict[str, str]] = {
        "property_ids": "numeric GA4 property ids, comma-separated (not the `G-…` measurement "
                        "id); none: `thoth run` skips GA4"}


def configured() -> bool:
    return bool(str(resolve(Ga4Switch()).property_ids or "").strip())


@configspec
class Ga4Config(Ga4Switch):
    """`[sources.ga4]`; `load_config` resolves and checks it."""

    reports: Raw = None  # [[sources.ga4.reports]] or JSON; a tuple of Report once resolved
    start_date: Raw = None  # the first day a first run (or a full refresh) loads; a date
    lookback_days: int = settings.DEFAULT_LOOKBACK_DAYS
    api_endpoint: str = settings.DEFAULT_API_ENDPOINT
    page_size: int = settings.DEFAULT_PAGE_SIZE
    retry_initial_seconds: float = settings.DEFAULT_RETRY_INITIAL_SECONDS
    retry_attempts: int = settings.DEFAULT_RETRY_ATTEMPTS
    retry_timeout_seconds: float = settings.DEFAULT_RETRY_TIMEOUT_SECONDS
    window_days: int = settings.DEFAULT_WINDOW_DAYS  # days a request asks for
    currency_code: str | None = None  # ISO 4217 for every request; None: each property's own
    server_error_retries: int = settings.DEFAULT_SERVER_ERROR_RETRIES  # per property, per run
    fractional_metrics: Raw = settings.FRACTIONAL_METRICS  # plus any named (or `prefix:`)
    # The service-account key's fields: ServiceAccountKey, resolved for Google's endpoint only.
    credentials: Annotated[dict | None, NotResolved()] = None
    __bounds__: ClassVar[dict] = {
        "lookback_days": (0, 60), "page_size": (1, settings.MAX_PAGE_SIZE),
        "retry_initial_seconds": (0, None), "retry_attempts": (1, 50),
        "retry_timeout_seconds": (1, None), "window_days": (1, settings.MAX_WINDOW_DAYS),
        "server_error_retries": (0, 9)}
    __help__: ClassVar[dict[str, str]] = {
        **Ga4Switch.__help__,
        "reports": "`[[sources.ga4.reports]]` (or JSON): each a `name`, `dimensions` (with "
                   "`date`), `metrics`, optional filters; none: the four default reports",
        "start_date": "the first day a first run (or `--full-refresh`) loads, YYYY-MM-DD; none: "
                      f"{settings.DEFAULT_BACKFILL_DAYS} days before the run",
        "lookback_days": "days re-read before the last day read (GA4 revises recent days)",
        "api_endpoint": "the GA4 Data API; `http://…`: a local stand-in, anonymous",
        "page_size": "rows a request",
        "retry_initial_seconds": "the first wait of the exponential backoff on a busy property",
        "retry_attempts": "attempts of a retried request",
        "retry_timeout_seconds": "the time a retried request may take in all",
        "window_days": "days a request asks for (a long range raises GA4's sampling)",
        "currency_code": "ISO 4217, e.g. `AUD`: every property converted to it; none: each "
                         "property's own currency",
        "server_error_retries": "retries of a 500/503 per property per run",
        "fractional_metrics": "whole-number metrics GA4 sends with fractions, stored as DOUBLE; "
                              "names (or `prefix:`) listed here are added",
        "credentials": "the service account's JSON key, whole (`SOURCES__GA4__CREDENTIALS`) or "
                       "its fields under `[sources.ga4.credentials]` (`SOURCES__GA4__"
                       "CREDENTIALS__<FIELD>`); none: Application Default Credentials"}

    def on_resolved(self) -> None:
        self.property_ids = parse_property_ids(self.property_ids)
        self.reports = parse_reports(self.reports)
        if self.start_date is not None:
            self.start_date = parse_date(self.start_date, _env("start_date"))
        self.api_endpoint = self.api_endpoint.rstrip("/")
        self.currency_code = parse_currency(self.currency_code)
        self.fractional_metrics = parse_fractional(self.fractional_metrics)

    def fractional(self, metric: str) -> bool:
        """A whole-number metric GA4 may report with a fraction: stored as DOUBLE."""
        return any(metric == name or (name.endswith(":") and metric.startswith(name))
                   for name in self.fractional_metrics)

    @property
    def anonymous(self) -> bool:
        """A plain-HTTP endpoint is a local stand-in (tests, demo): no Google credentials."""
        return self.api_endpoint.startswith("http://")


@configspec
class ServiceAccountKey(GcpServiceAccountCredentialsWithoutDefaults):
    """The GA4 service account's JSON key: whole (SOURCES__GA4__CREDENTIALS) or its fields."""

    __sections__: ClassVar[tuple[str, ...]] = ("sources", "ga4")
    __what__: ClassVar[dict[str, str]] = {
        "": "a service-account key: paste the key file's JSON, or its fields under "
            "[sources.ga4.credentials]",
        "fields": "copy the fields of the service account's JSON key "
                  "(see .dlt/example.secrets.toml)"}


def _env(key: str) -> str:
    return env_key(Ga4Config, key)


def parse_property_ids(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, int):
        items = [str(value)]
    elif isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = []
    ids = [i.strip().removeprefix("properties/") for i in items if str(i).strip()]
    if not ids:
        raise ThothError(
            f"{_env('property_ids')} is empty: set it to your numeric GA4 property id "
            "(Admin → Property details), not the G-… measurement id"
        )
    for pid in ids:
        if not pid.isdigit():
            hint = ("that is a measurement id (web stream); " if pid.upper().startswith("G-")
                    else "")
            raise ThothError(
                f"{_env('property_ids')} has {pid!r}: {hint}use the numeric GA4 property id "
                "(Admin → Property details), e.g. 123456789"
            )
    return tuple(dict.fromkeys(ids))


def parse_date(value: object, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ThothError(f"{what} is {value!r}: expected a date as YYYY-MM-DD") from None


def _names(report: str, value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ThothError(f"GA4 report {report!r}: {what} must be a list of GA4 API names")
    return tuple(value)


def _filter(report: str, value: object, what: str) -> dict | None:
    if value is None:
        return None
    from google.protobuf import json_format

    try:
        filter_expression(value)
    except (TypeError, ValueError, KeyError, json_format.Error) as exc:
        raise ThothError(f"GA4 report {report!r}: {what} is not a FilterExpression: "
                         f"{str(exc).splitlines()[0]}") from None
    return dict(value)


def filter_expression(value: dict):
    """A FilterExpression from config, spelled as in Google's docs (fieldName, inListFilter) or
    in snake_case (field_name, in_list_filter)."""
    from google.analytics.data_v1beta.types import FilterExpression

    return FilterExpression.from_json(json.dumps(value))


def parse_reports(value: object) -> tuple[Report, ...]:
    if value is None or value == "":
        value = settings.DEFAULT_REPORTS
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ThothError(f"{_env('reports')} is not a JSON list of reports") from None
    if not isinstance(value, list) or not value:
        raise ThothError("[sources.ga4] reports must be a non-empty list of "
                         "{name, dimensions, metrics} tables")
    reports = []
    for item in value:
        if not isinstance(item, dict) or not item.get("name"):
            raise ThothError("[sources.ga4] reports: every report needs a name")
        name = str(item["name"])
        if not _TABLE_NAME.match(name) or name == settings.METADATA_TABLE:
            raise ThothError(f"GA4 report name {name!r}: use lower_snake_case, not "
                             f"{settings.METADATA_TABLE!r} (it becomes the table ga4_raw.{name})")
        dims = _names(name, item.get("dimensions"), "dimensions")
        metrics = _names(name, item.get("metrics"), "metrics")
        if "date" not in dims:
            raise ThothError(f"GA4 report {name!r}: dimensions must include date "
                             "(the pipeline loads and replaces day by day)")
        if len(dims) > 9 or len(metrics) > 10:
            raise ThothError(f"GA4 report {name!r}: the API allows at most 9 dimensions "
                             "and 10 metrics a report")
        columns = [column_name(c) for c in (*dims, *metrics)]
        if len(set(columns)) != len(columns) or "property_id" in columns:
            raise ThothError(f"GA4 report {name!r}: dimensions and metrics repeat a name")
        reports.append(Report(name, dims, metrics,
                              _filter(name, item.get("dimension_filter"), "dimension_filter"),
                              _filter(name, item.get("metric_filter"), "metric_filter")))
    names = [r.name for r in reports]
    if len(set(names)) != len(names):
        raise ThothError(f"[sources.ga4] reports: names repeat: {', '.join(names)}")
    return tuple(reports)


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_currency(value: object) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    code = str(value).strip().upper()
    if not _CURRENCY.match(code):
        raise ThothError(f"{_env('currency_code')} is {value!r}: expected an ISO 4217 code such "
                         "as AUD or USD, or nothing for each property's own currency")
    return code


def parse_fractional(value: object) -> tuple[str, ...]:
    """[sources.ga4] fractional_metrics: more metric names (or `prefix:`) stored as DOUBLE."""
    if value is None or value == "":
        return settings.FRACTIONAL_METRICS
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ThothError(f"{_env('fractional_metrics')} must be a list of GA4 metric names")
    extra = [n.strip() for n in names if n.strip()]
    return tuple(dict.fromkeys([*settings.FRACTIONAL_METRICS, *extra]))


def load_config(today: date | None = None) -> Ga4Config:
    """Read and check `[sources.ga4]` (environment, .dlt/secrets.toml, .dlt/config.toml)."""
    config = resolve(Ga4Config())
    today = today or date.today()
    if config.start_date is None:
        config.start_date = today - timedelta(days=settings.DEFAULT_BACKFILL_DAYS)
    elif config.start_date > today:
        raise ThothError(f"{_env('start_date')} is {config.start_date}, after today: "
                         "expected the first day to load, YYYY-MM-DD")
    if not config.anonymous:  # None: no key given, Application Default Credentials
        key = resolve(ServiceAccountKey(), optional=True)
        config.credentials = None if key is None else dict(key)
    return config
