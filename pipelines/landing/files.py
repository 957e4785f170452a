"""The landing zone's files: listing them (gs:// through gcsfs, or a directory), deciding which
are new or rewritten against the ledger, and reading one as blocks of text.

A file is identified by its path, modification time and size: the same triple again is the same
file (skipped), the same path with a new time or size is a rewrite (its rows are replaced). The
filesystem comes from warehouse.publish.target, so GCS, an emulator and a directory behave alike.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines.landing import settings
from pipelines.landing.settings import Feed
from warehouse.publish.target import Target

GZIP_MAGIC = b"\x1f\x8b"


class BadFile(Exception):
    """The file is not what its feed expects (binary, not UTF-8, bad gzip): quarantined whole."""


@dataclass(frozen=True)
class LandingFile:
    feed: Feed
    path: str  # relative to the landing root: <feed>/YYYY/MM/DD/name
    size: int
    mtime: datetime  # naive UTC

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def expected_type(self) -> bool:
        name = self.name.removesuffix(".gz")
        return name.endswith(self.feed.suffixes)


def _utc(value: object) -> datetime:
    """fsspec's local filesystem gives epoch seconds, gcsfs a datetime: both as naive UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).replace(
        tzinfo=None)


def _ignored(name: str) -> bool:
    return name.startswith(settings.IGNORED_PREFIXES) or name.endswith(settings.IGNORED_SUFFIXES)


def list_feed(target: Target, feed: Feed) -> list[LandingFile]:
    """Every file under `<landing>/<feed>/`, oldest path first (the date folders sort in time).
    One recursive listing: GCS returns size and update time with each object."""
    target.fs.invalidate_cache()  # gcsfs caches listings
    top = target.path(feed.name)
    if target.is_local and not target.fs.exists(top):
        return []  # on GCS an empty prefix lists as nothing; a missing bucket raises
    prefix = target.root.rstrip("/") + "/"
    files = []
    for full, info in sorted(target.fs.find(top, detail=True).items()):
        relative = full[len(prefix):] if full.startswith(prefix) else full
        if info.get("type") == "directory" or _ignored(relative.rsplit("/", 1)[-1]):
            continue
        mtime = info.get("mtime") or info.get("updated") or info.get("created")
        files.append(LandingFile(feed, relative, int(info.get("size") or 0), _utc(mtime)))
    return files


def _decode(block: bytes, offset: int) -> str:
    zero = block.find(b"\x00")
    if zero >= 0:
        raise BadFile(f"binary content: a NUL byte at byte {offset + zero:,}")
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text: an invalid byte at byte {offset + exc.start:,}") from None


class _Hashing:
    """A read-only file that hashes the bytes as they are read (as stored, before gunzip)."""

    def __init__(self, raw) -> None:
        self.raw, self.digest = raw, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data

    def readable(self) -> bool:
        return True


class TextBlocks:
    """A file's text as blocks of whole lines (`first_line` is the number of a block's first
    line); `sha256` is known once every block was read."""

    def __init__(self, target: Target, file: LandingFile, block_bytes: int) -> None:
        self.target, self.file, self.block_bytes = target, file, block_bytes
        self.sha256: str | None = None

    def __iter__(self) -> Iterator[tuple[int, str]]:
        with self.target.fs.open(self.target.path(self.file.path), "rb") as handle:
            hashing = _Hashing(handle)
            head = hashing.read(2)
            if head == GZIP_MAGIC:
                stream = gzip.GzipFile(fileobj=_Prefixed(head, hashing), mode="rb")
            elif self.file.name.endswith(".gz"):
                raise BadFile("named .gz but not gzip-compressed")
            else:
                stream = _Prefixed(head, hashing)
            yield from self._blocks(stream)
            while hashing.read(1 << 20):  # gzip may stop before trailing bytes: hash them too
                pass
            self.sha256 = hashing.digest.hexdigest()

    def _blocks(self, stream) -> Iterator[tuple[int, str]]:
        line, offset, rest = 1, 0, b""
        while True:
            try:
                data = stream.read(self.block_bytes)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                # Only the file's own fault: a network error (another OSError) is not, and must
                # not quarantine the file; it stops the run, and the next run reads it again.
                raise BadFile(f"bad gzip: {str(exc) or type(exc).__name__}") from None
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:  # no newline yet: a line longer than a block, keep reading
                if len(data) > settings.MAX_LINE_BYTES:
                    raise BadFile(f"no line break in {len(data):,} bytes: not a text file of "
                                  "lines")
                rest = data
                continue
            block, rest = data[:cut], data[cut + 1:]
            text = _decode(block, offset)
            yield line, text
            line += text.count("\n") + 1
            offset += cut + 1
        if rest:  # the last line, without its newline
            yield line, _decode(rest, offset)


class _Prefixed:
    """Bytes already read (the magic number), then the rest of the stream."""

    def __init__(self, head: bytes, stream) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size is None or size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        if len(data) < size:
            data += self.stream.read(size - len(data))
        return data

    def readable(self) -> bool:
        return True
