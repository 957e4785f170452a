"""The OnTrack pipeline's configuration, `[sources.ontrack]`, checked before any connection."""

from typing import ClassVar

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.typing import TSecretValue

from pipelines.ontrack import settings
from thoth.core.config import Invalid, Spec, resolve


@configspec
class OntrackConfig(Spec):
    # A SQLAlchemy URL (postgresql+psycopg://… or mysql+pymysql://…), or its fields as a TOML
    # table; a ConnectionStringCredentials once resolved.
    credentials: TSecretValue = dlt.secrets.value
    lookback_minutes: int = settings.DEFAULT_LOOKBACK_MINUTES
    schema: str | None = None  # PostgreSQL only; MariaDB uses the URL's database
    __section__: ClassVar[str] = "ontrack"
    __sections__: ClassVar[tuple[str, ...]] = ("sources",)
    __what__: ClassVar[dict[str, str]] = {
        "credentials": "a URL such as postgresql+psycopg://user:password@host:5432/doubtfire"}
    __help__: ClassVar[dict[str, str]] = {
        "credentials": "the OnTrack database: `postgresql+psycopg://user:pw@host:5432/doubtfire` "
                       "or `mysql+pymysql://user:pw@host:3306/doubtfire` (a local socket: "
                       "`postgresql+psycopg://user@/doubtfire?host=/var/run/postgresql`)",
        "lookback_minutes": "an incremental load re-reads rows updated this long before the "
                            "newest loaded (a late commit is not missed)",
        "schema": "PostgreSQL only; none: `public`"}

    def on_resolved(self) -> None:
        try:
            self.credentials = ConnectionStringCredentials(self.credentials)
        except Exception:  # noqa: BLE001 - dlt's parse error quotes the URL: never shown
            raise Invalid("credentials", "is not a database URL: expected "
                          "driver://user:password@host:port/database") from None


def load_config() -> OntrackConfig:
    return resolve(OntrackConfig())
