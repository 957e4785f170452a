"""Configuration: dlt's config specs, resolved in one place.

Every setting is a field of a `@configspec` class, read the dlt way — environment
(`SECTION__KEY`), `.dlt/secrets.toml`, `.dlt/config.toml` — under the spec's `__section__` (and
the `__sections__` above it), never under a bare name: an unrelated variable such as PATH never
stands in for `[warehouse] path`. The platform-wide specs are here; each pipeline's lives with it
(`pipelines/<source>/config.py`). `resolve()` turns each of dlt's errors into one line naming the
environment variable to set. A blank value counts as not set; secret fields are typed secret, so
they stay out of dlt's traces and are read only from the environment or secrets.toml."""

# No `from __future__ import annotations` in a module defining specs: dlt evaluates a spec's
# string hints in the module of the class being resolved, so a spec derived elsewhere (as
# pipelines/landing/config.py does) would not find this module's names.
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import dlt
from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
    InvalidNativeValue,
    ValueNotSecretException,
)
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.configuration.specs.base_configuration import (
    is_hint_not_resolvable,
    is_secret_hint,
)
from dlt.common.typing import TSecretStrValue, TSecretValue, extract_inner_type, is_optional_type

from thoth.core.errors import ThothError

S = TypeVar("S", bound=BaseConfiguration)

# A value taken as given (text, number, list or table) for the spec's own check to parse;
# optional (a bare `Any` would be required by dlt).
Raw = Annotated[Any, "as given"] | None


class Invalid(ValueError):
    """A spec's check found `field` wrong; `text` follows the key's name in the message."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field, self.text = field, text


@configspec
class Spec(BaseConfiguration):
    """One table of settings. `__what__` says what a required key is set to (for the message when
    it is not), `__bounds__` the range of a number, `__help__` what each key means (the
    configuration reference and `thoth --help` are generated from it: thoth/faces/reference.py)."""

    __sections__: ClassVar[tuple[str, ...]] = ()
    __what__: ClassVar[dict[str, str]] = {}
    __help__: ClassVar[dict[str, str]] = {}
    __bounds__: ClassVar[dict[str, tuple[float, float | None]]] = {}

    def on_resolved(self) -> None:
        defaults = type(self).__dataclass_fields__
        for name, hint in self.get_resolvable_fields().items():
            if is_hint_not_resolvable(hint):
                continue
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                value = defaults[name].default  # blank: as if not set
            elif isinstance(value, str):
                value = value.strip()
            elif isinstance(value, Mapping):
                value = dict(value)  # a TOML table
            setattr(self, name, value)
            if value is None and not is_optional_type(hint):
                raise Invalid(name, not_set(self, name))
            if name in self.__bounds__ and not _within(value, *self.__bounds__[name]):
                raise Invalid(name, f"is {value!r}: expected {_expected(self, name, hint)}")


def table(spec: BaseConfiguration) -> str:
    """The spec's TOML table, e.g. `sources.ga4`."""
    return ".".join((*getattr(spec, "__sections__", ()), spec.__section__))


def env_key(spec: BaseConfiguration, field: str | None = None) -> str:
    """The environment variable of a field (of the whole spec without one)."""
    return "__".join((*table(spec).split("."), *([field] if field else []))).upper()


def not_set(spec: BaseConfiguration, field: str) -> str:
    hint = spec.get_resolvable_fields()[field]
    where = "secrets" if is_secret_hint(hint) else "config"
    return (f"is not set: set it (or [{table(spec)}] {field} in .dlt/{where}.toml) to "
            f"{spec.__what__.get(field, 'its value')}")


def resolve(spec: S, *, optional: bool = False) -> S | None:
    """`spec` filled in from the environment and .dlt/*.toml and checked; ThothError otherwise.
    `optional`: None when none of a credentials spec's fields is given."""
    try:
        return resolve_configuration(spec, sections=getattr(spec, "__sections__", ()))
    except Invalid as exc:
        raise ThothError(f"{env_key(spec, exc.field)} {exc.text}") from None
    except ConfigFieldMissingException as exc:
        if not isinstance(spec, Spec):  # a credentials spec (dlt's)
            if optional and not exc.resolved_fields_set:
                return None
            raise ThothError(f"[{table(spec)}] lacks {', '.join(sorted(exc.fields))}: "
                             f"{spec.__what__['fields']}") from None
        raise ThothError(f"{env_key(spec, exc.fields[0])} {not_set(spec, exc.fields[0])}") from None
    except ConfigValueCannotBeCoercedException as exc:
        field = exc.field_name
        hint = spec.get_resolvable_fields().get(field, exc.hint)
        shown = "cannot be read" if is_secret_hint(hint) else f"is {exc.field_value!r}"
        raise ThothError(f"{env_key(spec, field)} {shown}: expected "
                         f"{_expected(spec, field, hint)}") from None
    except InvalidNativeValue:
        raise ThothError(f"{env_key(spec)} is not {spec.__what__['']}") from None
    except ValueNotSecretException as exc:
        raise ThothError(f"[{exc.key.rsplit('.', 1)[0]}] {exc.key.rsplit('.', 1)[-1]} is a "
                         "secret: move it from .dlt/config.toml to .dlt/secrets.toml (or its "
                         "environment variable)") from None


def _within(value: Any, low: float, high: float | None) -> bool:
    return value is None or (low <= value and (high is None or value <= high))


def _expected(spec: BaseConfiguration, field: str, hint: Any) -> str:
    if field in getattr(spec, "__bounds__", {}):
        low, high = spec.__bounds__[field]
        return f"a number between {low} and {high}" if high is not None else f"a number ≥ {low}"
    kind = extract_inner_type(hint)
    return {bool: "true or false", int: "a whole number", float: "a number"}.get(
        kind, f"a {getattr(kind, '__name__', kind)}")


# --- the platform's settings ----------------------------------------------------------------


ENGINES = ("duckdb", "spark")


@configspec
class WarehouseConfig(Spec):
    path: str = "data/warehouse.duckdb"
    # Which engine builds the models: DuckDB in this process (default), or Spark over the lake
    # ([lake], [spark]; `pip install .[spark]`). Loading, checks and publishing are DuckDB's.
    engine: str = "duckdb"
    # DuckDB's memory for one step that joins (transform, check, publish, retention): `2GB`,
    # or a share of this host's RAM. Past it DuckDB spills to `<path>.tmp/`; only DuckDB's own
    # buffers count (Python and its libraries come on top). 512MB keeps a whole run at scale 1
    # within 1 GB of RSS (docs/operations/run.md, Memory); a bigger host may give more.
    memory_limit: str = "512MB"
    # The loaders' (they stream each table through, spilling past it): flat whatever the size.
    load_memory_limit: str = "256MB"
    threads: int | None = None  # DuckDB's threads; none: this host's cores, at most 4
    __section__: ClassVar[str] = "warehouse"
    __bounds__: ClassVar[dict[str, tuple[float, float | None]]] = {"threads": (1, 256)}
    __help__: ClassVar[dict[str, str]] = {
        "path": "the DuckDB warehouse file, relative to where the command runs (set an absolute "
                "path on a server); the publish, products, archive and lake defaults are "
                "folders beside it",
        "engine": "`duckdb`, or `spark`: `thoth transform` builds on Spark over the lake",
        "memory_limit": "DuckDB's memory for a step that joins (transform, check, publish, "
                        "retention): a size (at least 16MB; 512MB keeps a run at scale 1 within "
                        "1 GB of RSS, `2GB` suits a bigger host) or a share of the host's RAM "
                        "such as `25%`; past it DuckDB spills to `<warehouse>.tmp/`",
        "load_memory_limit": "the loaders' (OnTrack, landing), which stream each table through",
        "threads": "DuckDB's threads (each holds its own buffers); none: the host's cores, at "
                   "most 4"}

    def on_resolved(self) -> None:
        super().on_resolved()
        self.engine = self.engine.lower()
        if self.engine not in ENGINES:
            raise Invalid("engine", f"is {self.engine!r}: expected one of {', '.join(ENGINES)}")
        for field in ("memory_limit", "load_memory_limit"):
            if memory_megabytes(getattr(self, field)) is None:
                raise Invalid(field, f"is {getattr(self, field)!r}: expected a size of at least "
                              f"{MIN_MEMORY_MB}MB such as 512MB or 2GB, or a share of this "
                              "host's memory such as 25%")
        self.threads = self.threads or min(os.cpu_count() or 1, 4)


MIN_MEMORY_MB = 16  # below it DuckDB cannot stream a wide table (task_comments) on 2 threads
_MB = {"KB": 1 / 1024, "KIB": 1 / 1024, "MB": 1, "MIB": 1, "GB": 1024, "GIB": 1024,
       "TB": 1024**2, "TIB": 1024**2}


def memory_megabytes(text: str) -> int | None:
    """`512MB`, `2 GB`, `1.5GiB` or `25%` (of this host's physical memory) in MB; None when it
    is not a size, or one below MIN_MEMORY_MB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+|%)", str(text).strip())
    if not match or (match[2] != "%" and match[2].upper() not in _MB):
        return None
    value = float(match[1])
    if match[2] == "%":
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        megabytes = int(total * min(value, 100) / 100 / 2**20)
    else:
        megabytes = int(value * _MB[match[2].upper()])
    return megabytes if megabytes >= MIN_MEMORY_MB else None


def warehouse_path() -> Path:
    return Path(resolve(WarehouseConfig()).path)


def beside_warehouse(name: str) -> str:
    """A default place: the folder `name` beside the warehouse file (data/publish beside
    data/warehouse.duckdb), never wherever the command happens to run."""
    return str(warehouse_path().absolute().parent / name)


@configspec
class TransformsConfig(Spec):
    # The secret behind every `student_key` / `tutor_key`: stable across runs, never published.
    pseudonym_key: TSecretStrValue = dlt.secrets.value
    __section__: ClassVar[str] = "transforms"
    __help__: ClassVar[dict[str, str]] = {
        "pseudonym_key": "a long random secret (`openssl rand -hex 32`) behind every "
                         "`student_key` / `tutor_key`; keep it: the warehouse records its "
                         "fingerprint (`platform.pseudonym_key`) and refuses another key"}
    __what__: ClassVar[dict[str, str]] = {
        "pseudonym_key": "a long random secret, e.g. from `openssl rand -hex 32`, and keep it: a "
                         "new key changes every student_key and tutor_key"}


def pseudonym_key() -> bytes:
    return resolve(TransformsConfig()).pseudonym_key.encode()


@configspec
class PublishConfig(Spec):
    """Where `thoth publish` writes: `gs://bucket/prefix` or a local directory."""

    bucket_url: str | None = None  # default: publish/ beside the warehouse
    endpoint_url: str | None = None  # a GCS endpoint other than Google's (an emulator: anon)
    # A service-account key: a key file's path, its JSON, or its fields as a TOML table; None:
    # gcsfs's defaults (Application Default Credentials, the VM's service account).
    credentials: TSecretValue | None = None
    bigquery_dataset: str = "thoth_kpi"  # `project.dataset` or `dataset`, named in DDL and LookML
    __section__: ClassVar[str] = "publish"
    __help__: ClassVar[dict[str, str]] = {
        "bucket_url": "where `thoth publish` writes the KPIs: `gs://bucket/prefix`, or a "
                      "directory; none: `publish/` beside the warehouse",
        "endpoint_url": "none: Google's; set: a GCS emulator, anonymous",
        "credentials": "a service-account key file's path (or its JSON); none: gcsfs's defaults "
                       "(Application Default Credentials, the VM's service account)",
        "bigquery_dataset": "`project.dataset` or `dataset`, named in the BigQuery DDL and the "
                            "LookML"}

    def on_resolved(self) -> None:
        super().on_resolved()
        self.bucket_url = self.bucket_url or beside_warehouse("publish")


@configspec
class StorageConfig(Spec):
    """How long a GCS target is waited for (publish, products, lake, archive, landing): a
    request is tried `attempts` times in all, each waiting at most `timeout_seconds` for a
    connection or an answer; then the command fails in one line."""

    attempts: int = 3
    timeout_seconds: float = 10.0
    __section__: ClassVar[str] = "storage"
    __help__: ClassVar[dict[str, str]] = {
        "attempts": "how many times each GCS request (publish, products, lake, archive, "
                    "landing) is tried in all; then the command stops with one line",
        "timeout_seconds": "how long each try waits for a connection or an answer"}
    __bounds__: ClassVar[dict[str, tuple[float, float | None]]] = {
        "attempts": (1, 10), "timeout_seconds": (0.1, None)}


@configspec
class LandingConfig(Spec):
    """The landing zone stream producers write to: `gs://bucket/prefix` or a directory."""

    bucket_url: str | None = None
    endpoint_url: str | None = None  # a GCS emulator (anonymous)
    credentials: TSecretValue | None = None  # as [publish] credentials, with read access
    __section__: ClassVar[str] = "landing"
    __what__: ClassVar[dict[str, str]] = {
        "bucket_url": "the landing zone, gs://bucket/prefix or a directory"}
    __help__: ClassVar[dict[str, str]] = {
        "bucket_url": "the landing zone stream producers write to: `gs://bucket/prefix` or a "
                      "directory; none: `thoth run` skips the landing step",
        "endpoint_url": "none: Google's; set: a GCS emulator, anonymous",
        "credentials": "a service-account key file's path (or its JSON) with read access; "
                       "none: gcsfs's defaults"}

    @property
    def is_gcs(self) -> bool:
        return self.bucket_url.startswith(("gs://", "gcs://"))


@configspec
class BesidePublish(Spec):
    """A GCS target whose endpoint and key default to [publish]'s (retention, products)."""

    endpoint_url: str | None = None
    credentials: TSecretValue | None = None

    __place__: ClassVar[tuple[str, str]] = ("", "")  # the URL field, its folder's default name

    def on_resolved(self) -> None:
        field, folder = self.__place__
        if field and not (getattr(self, field) or "").strip():
            setattr(self, field, beside_warehouse(folder))
        if self.endpoint_url is None or self.credentials is None:
            publish = resolve(PublishConfig())
            self.endpoint_url = self.endpoint_url or publish.endpoint_url
            self.credentials = self.credentials or publish.credentials


@configspec
class RetentionConfig(BesidePublish):
    """Where `thoth retention` archives rows; the GCS endpoint and key default to [publish]'s."""

    archive_url: str | None = None  # default: archive/ beside the warehouse
    policies_file: str | None = None  # other than warehouse/governance/retention.yml
    in_run: bool = True  # `thoth run` applies retention itself, once a UTC day
    __section__: ClassVar[str] = "retention"
    __place__: ClassVar[tuple[str, str]] = ("archive_url", "archive")
    __help__: ClassVar[dict[str, str]] = {
        "archive_url": "where retention archives rows: `gs://bucket/prefix` or a directory; "
                       "none: `archive/` beside the warehouse",
        "policies_file": "the retention policies; none: `warehouse/governance/retention.yml`",
        "in_run": "`true`: `thoth run` applies retention once a UTC day; `false`: only `thoth "
                  "retention --apply` does",
        "endpoint_url": "none: `[publish]`'s",
        "credentials": "none: `[publish]`'s"}

    @property
    def policies_path(self) -> Path | None:
        return Path(self.policies_file) if self.policies_file else None


@configspec
class ProductsConfig(BesidePublish):
    """Where `thoth publish` writes the data products (never the Looker target); the GCS
    endpoint and key default to [publish]'s."""

    bucket_url: str | None = None  # default: products/ beside the warehouse
    __section__: ClassVar[str] = "products"
    __place__: ClassVar[tuple[str, str]] = ("bucket_url", "products")
    __help__: ClassVar[dict[str, str]] = {
        "bucket_url": "where the data products go: `gs://bucket/prefix` or a directory; never "
                      "`PUBLISH__BUCKET_URL`, inside it or holding it; none: `products/` beside "
                      "the warehouse",
        "endpoint_url": "none: `[publish]`'s",
        "credentials": "none: `[publish]`'s"}


@configspec
class LakeConfig(BesidePublish):
    """Where the raw tables are mirrored as Parquet for a cluster to read (`gs://bucket/prefix`
    or a directory; layout in thoth/core/lake.py); the GCS endpoint and key default to
    [publish]'s. Written after each load when the engine is spark, or on `thoth lake`."""

    bucket_url: str | None = None  # default: lake/ beside the warehouse
    # `thoth run` writes the lake after the loads whatever the engine (a cluster elsewhere reads
    # it); with WAREHOUSE__ENGINE=spark it always does, the build reading it.
    in_run: bool = False
    __section__: ClassVar[str] = "lake"
    __place__: ClassVar[tuple[str, str]] = ("bucket_url", "lake")
    __help__: ClassVar[dict[str, str]] = {
        "bucket_url": "where the raw tables go as Parquet: `gs://bucket/prefix` or a directory; "
                      "none: `lake/` beside the warehouse",
        "in_run": "`false`: `thoth run` writes the lake only when `WAREHOUSE__ENGINE=spark`; "
                  "`true`: after every run's loads",
        "endpoint_url": "none: `[publish]`'s",
        "credentials": "none: `[publish]`'s"}


@configspec
class SparkConfig(Spec):
    """The SparkSession the spark engine builds with: `master` (local[*] here; `yarn` on
    Dataproc, `spark://host:7077` on a standalone cluster) and any `spark.*` settings as a TOML
    table or `key=value,key=value` (e.g. the GCS connector's on a cluster reading gs://)."""

    master: str = "local[2]"
    app_name: str = "thoth"
    conf: Raw = None
    __section__: ClassVar[str] = "spark"
    __help__: ClassVar[dict[str, str]] = {
        "master": "the Spark master: `yarn` on Dataproc, `spark://host:7077` on a standalone "
                  "cluster",
        "app_name": "the Spark application's name",
        "conf": "`spark.*` settings as a TOML table or `key=value,key=value` (the GCS "
                "connector's on a cluster)"}

    def on_resolved(self) -> None:
        super().on_resolved()
        conf = self.conf
        if isinstance(conf, str):
            pairs = [item.split("=", 1) for item in conf.split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise Invalid("conf", f"is {conf!r}: expected key=value,key=value")
            conf = {k.strip(): v.strip() for k, v in pairs}
        elif conf is not None and not isinstance(conf, Mapping):
            raise Invalid("conf", f"is {conf!r}: expected a table of spark.* settings")
        self.conf = {str(k): str(v) for k, v in (conf or {}).items()}


def products_attention_option(name: str) -> str | None:
    """One threshold of the students-needing-attention product (`[products.attention]`,
    PRODUCTS__ATTENTION__<NAME>); None: its default. Checked, with its one-line message, by
    warehouse/products/attention.py's Thresholds."""
    value = dlt.config.get(f"products.attention.{name}")
    return None if value is None or str(value).strip() == "" else str(value).strip()


@configspec
class AlertsConfig(Spec):
    """Called when `thoth run` fails: a command (the message as its last argument), a webhook."""

    command: str | None = None
    webhook_url: TSecretStrValue | None = None
    __section__: ClassVar[str] = "alerts"
    __help__: ClassVar[dict[str, str]] = {
        "command": "run when `thoth run` fails (or succeeds with warnings), with the message as "
                   "its last argument",
        "webhook_url": "POSTed JSON when `thoth run` fails (or succeeds with warnings)"}


@configspec
class RunConfig(Spec):
    lock_file: str | None = None
    __section__: ClassVar[str] = "run"
    __help__: ClassVar[dict[str, str]] = {
        "lock_file": "one `thoth run` at a time; none: beside the warehouse, "
                     "`<warehouse>.run.lock`"}


def run_lock_file(warehouse: Path) -> Path:
    """One `thoth run` at a time per warehouse: the lock file beside it unless configured."""
    value = resolve(RunConfig()).lock_file
    return Path(value) if value else warehouse.parent / f"{warehouse.stem}.run.lock"
