"""Storage targets through fsspec: GCS (gcsfs) or a local directory, one code path for both;
used by publish, the landing zone and retention archives alike (`section` names whose keys a
message points at).

Only what GCS can do atomically is relied on: writing one object. Moves are copy + delete (gcsfs's
`mv` calls the `moveTo` API, which emulators lack and non-HNS buckets do as copy + delete anyway),
and listings are re-read after writes (`invalidate_cache`), since gcsfs caches them.

A target that refuses or does not answer is one line (`StorageFailed`, `cause`), in bounded time:
gcsfs retries a request at most `[storage] attempts` times, each waiting at most
`[storage] timeout_seconds` for a connection or an answer (gcsfs's own are 6 tries and no limit).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass

import fsspec
from fsspec.implementations.local import LocalFileSystem

from thoth.core.errors import ThothError


@dataclass
class Target:
    fs: fsspec.AbstractFileSystem
    root: str  # the target without protocol: `bucket/prefix` or an absolute directory
    url: str  # as configured, for messages and the manifest

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def gs_url(self, relative: str) -> str:
        """The `gs://` URL BigQuery reads `relative` from; a placeholder bucket for a local
        target (copy the folder to GCS, then replace it)."""
        base = self.url.rstrip("/") if not self.is_local else "gs://YOUR_BUCKET/thoth"
        return f"{base}/{relative}"

    def listing(self, under: str = "") -> dict[str, int]:
        """Every file under `under`: path relative to the root → size in bytes."""
        self.fs.invalidate_cache()
        top = self.path(under)
        if not self.fs.exists(top):
            return {}
        found = self.fs.find(top, detail=True)
        prefix = self.root.rstrip("/") + "/"
        return {p[len(prefix):]: int(info.get("size") or 0) for p, info in found.items()
                if info.get("type") != "directory"}

    def read(self, relative: str) -> bytes | None:
        try:
            return self.fs.cat_file(self.path(relative))
        except FileNotFoundError:
            return None

    def sha256(self, relative: str) -> str | None:
        data = self.read(relative)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def put(self, local: str, relative: str) -> None:
        self.fs.put_file(local, self.path(relative))

    def copy(self, source: str, dest: str) -> None:
        self.fs.copy(self.path(source), self.path(dest))

    def write_atomic(self, relative: str, data: bytes) -> None:
        """Readers see the old content or the new, never a part: one object on GCS; a temporary
        file renamed over the old one in a directory."""
        if self.is_local:
            temporary = f"{relative}.tmp-{os.getpid()}"
            self.fs.pipe_file(self.path(temporary), data)
            self.fs.mv(self.path(temporary), self.path(relative))
        else:
            self.fs.pipe_file(self.path(relative), data)

    def remove(self, relatives: list[str]) -> None:
        if relatives:
            self.fs.rm([self.path(r) for r in relatives])
        if self.is_local:
            self._remove_empty_dirs()

    def _remove_empty_dirs(self) -> None:
        for top, _, _ in sorted(os.walk(self.root), key=lambda w: -len(w[0])):
            if top != self.root and not os.listdir(top):
                os.rmdir(top)


# The configuration key holding each section's URL (the credentials are `<SECTION>__CREDENTIALS`).
URL_KEYS = {"publish": "BUCKET_URL", "landing": "BUCKET_URL", "retention": "ARCHIVE_URL",
            "products": "BUCKET_URL", "lake": "BUCKET_URL"}


class StorageFailed(ThothError):
    """A storage target refused or did not answer; the message names it, the cause and what
    readers see now."""


def storage_errors() -> tuple[type[BaseException], ...]:
    """What a target raises when it refuses: the OS's errors (a timeout is one), gcsfs's HTTP
    errors and its transport's (a server that hangs up), google-auth's (no usable credentials),
    imported only when one is being handled: gcsfs is slow to import."""
    from aiohttp import ClientError
    from gcsfs.retry import ChecksumError, HttpError
    from google.auth.exceptions import GoogleAuthError

    return (OSError, HttpError, ChecksumError, ClientError, GoogleAuthError)


def cause(exc: BaseException) -> str:
    """A storage error in a few words, on one line: the OS's reason and path, the HTTP status,
    the connection that failed."""
    from aiohttp import ClientConnectorError
    from gcsfs.retry import HttpError

    if isinstance(exc, ClientConnectorError):  # "Cannot connect to host h:p ssl:… [reason]"
        return f"cannot connect to {exc.host}:{exc.port} ({exc.strerror or exc.os_error})"
    if isinstance(exc, HttpError):
        message = (exc.message or "").strip().splitlines()[0:1] or [""]
        return f"HTTP {exc.code}: {message[0]}".rstrip(": ")
    if isinstance(exc, TimeoutError):  # asyncio's, fsspec's and aiohttp's read timeout
        return f"no answer within {_settings()[1]:g} s (timed out)"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, FileNotFoundError):  # gcsfs: a 404, the path as its text
        return f"not found: {first} (no such bucket or object)"
    if first.startswith("Forbidden"):  # gcsfs: a 403
        return f"HTTP 403 {first} (this account may not do that)"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def failed(target: Target, doing: str, exc: BaseException, outcome: str) -> StorageFailed:
    """`doing` (e.g. "publishing to") `target` failed with `exc`: one line, with `outcome`."""
    return StorageFailed(f"{doing} {target.url} failed: {cause(exc)}; {outcome}")


def open_target(url: str, *, endpoint_url: str | None = None,
                credentials: str | dict | None = None, section: str = "publish") -> Target:
    """`gs://bucket/prefix` through gcsfs, anything else a local directory."""
    if url.startswith("gs://") or url.startswith("gcs://"):
        return Target(_gcs(endpoint_url, credentials, section),
                      url.split("://", 1)[1].rstrip("/"), url)
    if "://" in url and not url.startswith("file://"):
        raise ThothError(f"{section.upper()}__{URL_KEYS[section]} is {url!r}: expected "
                         "gs://bucket/prefix or a local directory")
    root = os.path.abspath(url.removeprefix("file://"))
    # auto_mkdir: a local file's folders are created as it is written, as GCS needs none.
    return Target(LocalFileSystem(auto_mkdir=True), root.rstrip("/"), root)


def _gcs(endpoint_url: str | None, credentials: str | dict | None,
         section: str) -> fsspec.AbstractFileSystem:
    # gcsfs ≥ 2026.3 first probes a bucket's layout over gRPC (zonal / hierarchical buckets) when
    # this is unset; emulators cannot answer and every first call hangs ~60 s. Plain buckets need
    # none of it, so it is off unless the operator turns it on.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import aiohttp

    attempts, seconds = _settings()
    # Bounded: a connection or an answer waited for at most `seconds` (not the whole transfer:
    # a large upload may take longer), each request tried `attempts` times.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)
    # gcsfs hands its `requests_timeout` to every request, which overrides a session's timeout.
    options: dict = {"skip_instance_cache": True, "requests_timeout": timeout}
    if endpoint_url:
        options |= {"endpoint_url": endpoint_url, "token": "anon"}
    elif credentials:
        options["token"] = _token(credentials, f"{section.upper()}__CREDENTIALS")
    try:
        return _bounded_gcs(attempts)(**options)
    except (ValueError, KeyError) as exc:  # google-auth's text may quote the key: named only
        raise ThothError(f"the GCS credentials are not a usable service-account key "
                         f"({type(exc).__name__}): give the key file's path or its whole "
                         "JSON") from None


def _settings() -> tuple[int, float]:
    from thoth.core.config import StorageConfig, resolve

    storage = resolve(StorageConfig())
    return storage.attempts, storage.timeout_seconds


@functools.cache
def _bounded_gcs(attempts: int) -> type[fsspec.AbstractFileSystem]:
    """gcsfs's filesystem retrying a request `attempts` times in all. gcsfs fixes its count (6,
    about 33 s of back-off) when its class is defined, with no option to change it
    (fsspec/gcsfs#633), so its request is wrapped again with the count wanted."""
    from gcsfs.core import GCSFileSystem  # the plain class, whatever that variable said
    from gcsfs.retry import retry_request

    # gcsfs logs a request out of retries with its traceback, before raising it: the error
    # reaches us and is said in one line, so its log says nothing.
    gcsfs_log = logging.getLogger("gcsfs")
    gcsfs_log.addHandler(logging.NullHandler())
    gcsfs_log.propagate = False

    class BoundedGCS(GCSFileSystem):
        _request = retry_request(retries=attempts)(GCSFileSystem._request.__wrapped__)

    return BoundedGCS


def _token(credentials: str | dict, key: str) -> str | dict:
    """gcsfs takes a key file's path or the key's fields as a dict."""
    if isinstance(credentials, dict):
        return credentials
    if credentials.lstrip().startswith("{"):
        import json

        try:
            return json.loads(credentials)
        except ValueError:
            raise ThothError(f"{key} is not a service-account key's JSON") from None
    if not os.path.exists(credentials):
        raise ThothError(f"{key} names {credentials}, which does not exist: give the path of a "
                         "service-account JSON key file")
    return credentials


def configured_archive() -> Target:
    """The retention archive as configured (`[retention]`; endpoint and key: publish's if unset)."""
    from thoth.core.config import RetentionConfig, resolve

    archive = resolve(RetentionConfig())
    return open_target(archive.archive_url, endpoint_url=archive.endpoint_url,
                       credentials=archive.credentials, section="retention")


def configured_publish(url: str | None = None) -> Target:
    """The publish target as configured (`[publish]`), or `url` in its place."""
    from thoth.core.config import PublishConfig, resolve

    publishing = resolve(PublishConfig())
    return open_target(url or publishing.bucket_url, endpoint_url=publishing.endpoint_url,
                       credentials=publishing.credentials)


def configured_products(url: str | None = None) -> Target:
    """The data products' target as configured (`[products]`), or `url` in its place."""
    from thoth.core.config import ProductsConfig, resolve

    products = resolve(ProductsConfig())
    return open_target(url or products.bucket_url, endpoint_url=products.endpoint_url,
                       credentials=products.credentials, section="products")


def configured_lake(url: str | None = None) -> Target:
    """The lake as configured (`[lake]`; endpoint and key: publish's if unset), or `url`."""
    from thoth.core.config import LakeConfig, resolve

    lake = resolve(LakeConfig())
    return open_target(url or lake.bucket_url, endpoint_url=lake.endpoint_url,
                       credentials=lake.credentials, section="lake")
