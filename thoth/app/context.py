"""What every step is handed: the warehouse, where its lines go, and the configuration, each
part resolved once per command (or run) and only when a step first needs it, so `thoth status`
needs no pseudonym key and `thoth check` no bucket. A setting that does not resolve fails the
step that needed it, in one line, as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from thoth.core import config
from thoth.core.entry import printed

if TYPE_CHECKING:  # imported when used: `thoth status` needs no storage
    from thoth.core.storage import Target
    from warehouse.products.attention import Thresholds


@dataclass(frozen=True)
class Context:
    warehouse: Path
    log: Callable[[str], None] = field(default=printed, repr=False)
    # In place of PUBLISH__BUCKET_URL and PRODUCTS__BUCKET_URL (the demo's own folders).
    publish_url: str | None = None
    products_url: str | None = None
    run_id: str | None = None  # the `thoth run` the steps serve; None: a command alone

    @classmethod
    def configured(cls) -> Context:
        """On the configured warehouse ([warehouse] path), its lines on stdout."""
        return cls(config.warehouse_path())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Never beside a `thoth run` (inside one, its lock is already held)."""
        from thoth.app.lock import run_lock

        with run_lock(self.lock_file):
            yield

    # --- configuration, resolved on first use ---------------------------------------------

    @cached_property
    def lock_file(self) -> Path:
        return config.run_lock_file(self.warehouse)

    @cached_property
    def absent_sources(self) -> frozenset[str]:
        """Raw schemas of the optional sources not configured here (skipped, not failed)."""
        from pipelines import unconfigured_sources

        return unconfigured_sources()

    @cached_property
    def engine(self) -> str:
        return config.resolve(config.WarehouseConfig()).engine

    @cached_property
    def pseudonym_key(self) -> bytes:
        return config.pseudonym_key()

    @cached_property
    def retention(self) -> config.RetentionConfig:
        return config.resolve(config.RetentionConfig())

    @cached_property
    def lake_in_run(self) -> bool:
        return config.resolve(config.LakeConfig()).in_run

    @cached_property
    def bigquery_dataset(self) -> str:
        return config.resolve(config.PublishConfig()).bigquery_dataset

    @cached_property
    def attention(self) -> Thresholds:
        """The students-needing-attention thresholds ([products.attention])."""
        from warehouse.products.attention import Thresholds

        return Thresholds.from_config(config.products_attention_option)

    @cached_property
    def spark(self) -> config.SparkConfig:
        return config.resolve(config.SparkConfig())

    @cached_property
    def alerts(self) -> config.AlertsConfig:
        return config.resolve(config.AlertsConfig())

    # --- where things go ------------------------------------------------------------------

    @cached_property
    def archive(self) -> Target:
        """The retention archive ([retention] archive_url)."""
        from thoth.core.storage import configured_archive

        return configured_archive()

    @cached_property
    def publish_target(self) -> Target:
        """Where the KPIs go for Looker (PUBLISH__BUCKET_URL, or `publish_url`)."""
        from thoth.core.storage import configured_publish

        return configured_publish(self.publish_url)

    @cached_property
    def products_target(self) -> Target:
        """Where the data products go (PRODUCTS__BUCKET_URL, or `products_url`)."""
        from thoth.core.storage import configured_products

        return configured_products(self.products_url)

    @cached_property
    def lake(self) -> Target:
        """The lake as configured ([lake] bucket_url), for reading."""
        from thoth.core.storage import configured_lake

        return configured_lake()

    @cached_property
    def lake_target(self) -> Target:
        """The lake, for writing: refused where the KPIs, the data products or the archives go,
        as its sweep removes files it does not name."""
        from warehouse.lake import check_apart

        lake = self.lake
        check_apart(lake, {"PUBLISH__BUCKET_URL": self.publish_target,
                           "PRODUCTS__BUCKET_URL": self.products_target,
                           "RETENTION__ARCHIVE_URL": self.archive})
        return lake
