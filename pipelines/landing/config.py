"""The landing zone's configuration, checked before any listing or warehouse write.

Every mistake names the key to set (LANDING__BUCKET_URL …) in one line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from thoth.core import settings
from thoth.core.errors import ThothError


@dataclass(frozen=True)
class LandingConfig:
    bucket_url: str  # gs://bucket/prefix or a directory
    endpoint_url: str | None = None  # a GCS emulator (anonymous)
    credentials: str | dict | None = field(default=None, repr=False)

    @property
    def is_gcs(self) -> bool:
        return self.bucket_url.startswith(("gs://", "gcs://"))


def check(config: LandingConfig) -> LandingConfig:
    url = config.bucket_url
    if config.is_gcs:
        if not url.split("://", 1)[1].strip("/"):
            raise ThothError(f"LANDING__BUCKET_URL is {url!r}: name the bucket, "
                             "gs://bucket/prefix")
    elif "://" in url and not url.startswith("file://"):
        raise ThothError(f"LANDING__BUCKET_URL is {url!r}: expected gs://bucket/prefix or a "
                         "local directory")
    elif not os.path.isdir(url.removeprefix("file://")):
        raise ThothError(f"LANDING__BUCKET_URL is {url!r}, which is not a directory: create it, "
                         "or point it at the landing zone producers write to")
    return config


def load_config() -> LandingConfig:
    """Read and check `[landing]` (environment, .dlt/secrets.toml, .dlt/config.toml)."""
    url = settings.landing_bucket_url()
    if url is None:
        raise ThothError("LANDING__BUCKET_URL is not set: set it (or [landing] bucket_url in "
                         ".dlt/config.toml) to the landing zone, gs://bucket/prefix or a "
                         "directory")
    return check(LandingConfig(url, settings.landing_endpoint(),
                               settings.landing_credentials()))
