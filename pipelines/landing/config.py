"""The landing zone's configuration, `[landing]` (a platform-wide spec: LandingConfig), checked
before any listing or warehouse write; every mistake names LANDING__BUCKET_URL in one line."""

import os

import dlt
from dlt.common.configuration import configspec

from thoth.core.config import Invalid, LandingConfig, resolve

__all__ = ["LandingConfig", "load_config"]


@configspec
class _LandingSource(LandingConfig):
    """[landing] as the landing pipeline needs it: the bucket URL set, and a usable one."""

    bucket_url: str = dlt.config.value

    def on_resolved(self) -> None:
        url = self.bucket_url
        if self.is_gcs:
            if not url.split("://", 1)[1].strip("/"):
                raise Invalid("bucket_url", f"is {url!r}: name the bucket, gs://bucket/prefix")
        elif "://" in url and not url.startswith("file://"):
            raise Invalid("bucket_url", f"is {url!r}: expected gs://bucket/prefix or a local "
                          "directory")
        elif not os.path.isdir(url.removeprefix("file://")):
            raise Invalid("bucket_url", f"is {url!r}, which is not a directory: create it, or "
                          "point it at the landing zone producers write to")


def load_config() -> LandingConfig:
    """Read and check `[landing]` (environment, .dlt/secrets.toml, .dlt/config.toml)."""
    return resolve(_LandingSource())
