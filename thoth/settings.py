"""Configuration through dlt's providers: environment (`SECTION__KEY`), `.dlt/secrets.toml`,
`.dlt/config.toml`. Looked up by full key, so an unrelated variable such as PATH never stands in
for `warehouse.path`."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.common.configuration.specs import ConnectionStringCredentials

from thoth.errors import ThothError

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
