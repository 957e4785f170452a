"""The scrape's configuration, `[sources.ontrack_metrics]`: the /metrics URLs (comma-separated
in SOURCES__ONTRACK_METRICS__SCRAPE_URLS) and an optional bearer token (a secret), checked
before any request; every mistake names its key in one line."""

from typing import ClassVar
from urllib.parse import urlsplit

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from pipelines.metrics import settings
from thoth.core.config import Invalid, Raw, Spec, resolve


@configspec
class MetricsSwitch(Spec):
    """Whether the scrape is configured here at all: its URLs."""

    scrape_urls: Raw = None
    __section__: ClassVar[str] = "ontrack_metrics"
    __sections__: ClassVar[tuple[str, ...]] = ("sources",)
    __help__: ClassVar[dict[str, str]] = {
        "scrape_urls": "OnTrack's Prometheus `/metrics` URLs, comma-separated; none: `thoth "
                       "run` skips the scrape"}


def configured() -> bool:
    return bool(str(resolve(MetricsSwitch()).scrape_urls or "").strip(" ,[]"))


@configspec
class MetricsConfig(MetricsSwitch):
    """`[sources.ontrack_metrics]`; `load_config` resolves and checks it."""

    bearer_token: TSecretStrValue | None = None  # sent as `Authorization: Bearer …`
    timeout_seconds: float = settings.DEFAULT_TIMEOUT_SECONDS
    max_body_bytes: int = settings.DEFAULT_MAX_BODY_BYTES
    __what__: ClassVar[dict[str, str]] = {
        "scrape_urls": "the /metrics URLs, comma-separated, e.g. http://ontrack:9394/metrics"}
    __bounds__: ClassVar[dict] = {"timeout_seconds": (0.1, 600),
                                  "max_body_bytes": (1024, None)}
    __help__: ClassVar[dict[str, str]] = {
        **MetricsSwitch.__help__,
        "bearer_token": "sent as `Authorization: Bearer …` when `/metrics` sits behind a token",
        "timeout_seconds": "how long one scrape waits",
        "max_body_bytes": "a bigger body is refused"}

    def on_resolved(self) -> None:
        super().on_resolved()
        self.scrape_urls = parse_urls(self.scrape_urls)


def parse_urls(value: object) -> tuple[str, ...]:
    if value is None:
        raise Invalid("scrape_urls", "is not set: set it (or [sources.ontrack_metrics] "
                      "scrape_urls in .dlt/config.toml) to the /metrics URLs, comma-separated")
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise Invalid("scrape_urls", "is not a list of URLs: comma-separated, "
                      "e.g. http://ontrack:9394/metrics")
    urls = [str(u).strip() for u in items if str(u).strip()]
    if not urls:
        raise Invalid("scrape_urls", "is empty: set it to the /metrics URLs, comma-separated")
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise Invalid("scrape_urls", "holds a URL that does not parse") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid("scrape_urls", f"has {url[:80]!r}: expected http(s)://host:port/path")
        if parts.username or parts.password:  # never echo it: it holds a password
            raise Invalid("scrape_urls", "holds a URL with a user or password: put the token in "
                          "SOURCES__ONTRACK_METRICS__BEARER_TOKEN (a secret) instead")
    return tuple(dict.fromkeys(urls))


def load_config() -> MetricsConfig:
    """Read and check `[sources.ontrack_metrics]` (environment, .dlt/*.toml)."""
    return resolve(MetricsConfig())
