"""Configuration through dlt's providers: environment (`SECTION__KEY`), `.dlt/secrets.toml`,
`.dlt/config.toml`. Looked up by full key, so an unrelated variable such as PATH never stands in
for `warehouse.path`."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.core.errors import ThothError

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"


def warehouse_path() -> Path:
    return Path(dlt.config.get("warehouse.path") or DEFAULT_WAREHOUSE)


def source_credentials(source: str) -> ConnectionStringCredentials:
    """The SQLAlchemy URL of a source database, from `SOURCES__<SOURCE>__CREDENTIALS`."""
    env = f"SOURCES__{source.upper()}__CREDENTIALS"
    value = dlt.secrets.get(f"sources.{source}.credentials")
    if not value:
        raise ThothError(
            f"{env} is not set: set it (or [sources.{source}] credentials in .dlt/secrets.toml) "
            "to a URL such as postgresql+psycopg://user:password@host:5432/doubtfire"
        )
    if isinstance(value, dict):  # given as a TOML table of fields
        creds = ConnectionStringCredentials()
        creds.update(value)
        return creds
    try:
        return ConnectionStringCredentials(str(value))
    except Exception:
        raise ThothError(
            f"{env} is not a database URL: expected driver://user:password@host:port/database"
        ) from None


def source_option(source: str, key: str, default: object) -> object:
    value = dlt.config.get(f"sources.{source}.{key}")
    return default if value is None else value


def pseudonym_key() -> bytes:
    """The secret behind every `student_key` / `tutor_key`: stable across runs, never published."""
    value = dlt.secrets.get("transforms.pseudonym_key")
    if not value:
        raise ThothError(
            "TRANSFORMS__PSEUDONYM_KEY is not set: set it (or [transforms] pseudonym_key in "
            ".dlt/secrets.toml) to a long random secret, e.g. from `openssl rand -hex 32`, and "
            "keep it: a new key changes every student_key and tutor_key"
        )
    return str(value).encode()


DEFAULT_PUBLISH_TARGET = "data/publish"
DEFAULT_BIGQUERY_DATASET = "thoth_kpi"


def _text(key: str, secret: bool = False) -> str | None:
    value = (dlt.secrets if secret else dlt.config).get(key)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def publish_target() -> str:
    """Where `thoth publish` writes: `gs://bucket/prefix` or a local directory."""
    return _text("publish.bucket_url") or DEFAULT_PUBLISH_TARGET


def publish_endpoint() -> str | None:
    """A GCS endpoint other than Google's, e.g. a local emulator (anonymous access then)."""
    return _text("publish.endpoint_url")


def publish_credentials() -> str | dict | None:
    """A service-account key for GCS: a key file's path, its JSON, or its fields as a TOML table;
    None: gcsfs's defaults (Application Default Credentials, the VM's service account)."""
    value = dlt.secrets.get("publish.credentials")
    if isinstance(value, dict):
        return dict(value)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def bigquery_dataset() -> str:
    """The dataset (`project.dataset` or `dataset`) the generated DDL and LookML name."""
    return _text("publish.bigquery_dataset") or DEFAULT_BIGQUERY_DATASET


def alert_command() -> str | None:
    return _text("alerts.command")


def alert_webhook_url() -> str | None:
    return _text("alerts.webhook_url", secret=True) or _text("alerts.webhook_url")


def run_lock_file(warehouse: Path) -> Path:
    """One `thoth run` at a time per warehouse: the lock file beside it unless configured."""
    value = _text("run.lock_file")
    return Path(value) if value else warehouse.parent / f"{warehouse.stem}.run.lock"


def landing_bucket_url() -> str | None:
    """The landing zone stream producers write to: `gs://bucket/prefix` or a directory."""
    return _text("landing.bucket_url")


def landing_endpoint() -> str | None:
    """A GCS endpoint other than Google's for the landing zone (an emulator: anonymous)."""
    return _text("landing.endpoint_url")


def landing_credentials() -> str | dict | None:
    """A service-account key for the landing bucket, as publish_credentials; None: gcsfs's
    defaults."""
    value = dlt.secrets.get("landing.credentials")
    if isinstance(value, dict):
        return dict(value)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def unconfigured_sources() -> frozenset[str]:
    """Raw schemas of optional sources not configured here: GA4 without property ids, the
    landing zone without a bucket URL. Models reading them are skipped, not failed, while the
    warehouse holds none of their tables."""
    ga4 = dlt.config.get("sources.ga4.property_ids")
    absent = set() if str(ga4 or "").strip() else {"ga4_raw"}
    if landing_bucket_url() is None:
        absent.add("landing_raw")
    return frozenset(absent)



# --- governance: retention archives, policies ------------------------------------------------

DEFAULT_ARCHIVE_TARGET = "data/archive"


def archive_target() -> str:
    """Where `thoth retention` archives rows: `gs://bucket/prefix` or a local directory."""
    return _text("retention.archive_url") or DEFAULT_ARCHIVE_TARGET


def archive_endpoint() -> str | None:
    """A GCS emulator for the archive; the publish target's when not set."""
    return _text("retention.endpoint_url") or publish_endpoint()


def archive_credentials() -> str | dict | None:
    """A service-account key for the archive bucket; the publish target's when not set."""
    value = dlt.secrets.get("retention.credentials")
    if isinstance(value, dict):
        return dict(value)
    return _text("retention.credentials", secret=True) or publish_credentials()


def retention_policies_file() -> Path | None:
    """A retention policy file other than warehouse/retention.yml."""
    value = _text("retention.policies_file")
    return Path(value) if value else None


def retention_in_run() -> bool:
    """Whether `thoth run` applies retention itself, once a UTC day (default: yes)."""
    from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException

    try:
        value = dlt.config.get("retention.in_run", bool)
    except ConfigValueCannotBeCoercedException:
        raise ThothError(f"RETENTION__IN_RUN is {_text('retention.in_run')!r}: expected true "
                         "or false") from None
    return True if value is None else bool(value)


# --- data products -----------------------------------------------------------------------------

DEFAULT_PRODUCTS_TARGET = "data/products"


def products_target() -> str:
    """Where `thoth publish` writes the data products: `gs://bucket/prefix` or a directory, never
    the Looker target."""
    return _text("products.bucket_url") or DEFAULT_PRODUCTS_TARGET


def products_endpoint() -> str | None:
    """A GCS emulator for the products target; the publish target's when not set."""
    return _text("products.endpoint_url") or publish_endpoint()


def products_credentials() -> str | dict | None:
    """A service-account key for the products bucket; the publish target's when not set."""
    value = dlt.secrets.get("products.credentials")
    if isinstance(value, dict):
        return dict(value)
    return _text("products.credentials", secret=True) or publish_credentials()


def products_attention_option(name: str) -> str | None:
    """One threshold of the students-needing-attention product (`[products.attention]`,
    PRODUCTS__ATTENTION__<NAME>); None: its default (warehouse/products/attention.py)."""
    return _text(f"products.attention.{name}")
