"""The landing zone's files: listing them (gs:// through gcsfs, or a directory), deciding which
are new or rewritten against the ledger, and reading one as blocks of text.

A file is identified by its path, modification time and size: the same triple again is the same
file (skipped), the same path with a new time or size is a rewrite (its rows are replaced). The
filesystem comes from thoth.core.storage, so GCS, an emulator and a directory behave alike.
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
from thoth.core.storage import Target

GZIP_MAGIC = b"\x1f\x8b"


class BadFile(Exception):
    """The file is not what its feed expects (binary, not UTF-8, bad gzip): quarantined whole."""


@dataclass(frozen=True)
class LandingFile:
    feed: Feed
    path: str  # relative to the landing root: <feed>/YYYY/MM/DD/name
    size: int
    mtime: datetime  # naive UTC
    refused: str | None = None  # why it is quarantined unread (not a regular file, …)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def expected_type(self) -> bool:
        name = self.name.removesuffix(".gz")
        return name.endswith(self.feed.suffixes)


def _utc(value: object) -> datetime:
    """fsspec's local filesystem gives epoch seconds, gcsfs a datetime: both as naive UTC."""
    if value is None:
        return datetime(1970, 1, 1)
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
        path, refused = _checked(relative, info.get("type"))
        files.append(LandingFile(feed, path, int(info.get("size") or 0), _utc(mtime), refused))
    return files


def _checked(relative: str, kind: object) -> tuple[str, str | None]:
    """The path as the ledger keeps it, and why the entry is refused unread, if it is: a FIFO
    would block the run, a broken link fail it on every run; a name that is not UTF-8 (a local
    directory allows any bytes) cannot be a warehouse string, so it is kept with escapes."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        escaped = relative.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return escaped, "the file name is not UTF-8"
    if kind != "file":
        return relative, f"not a regular file ({kind}: a FIFO, socket, device or broken link)"
    return relative, None


UTF8_BOM = b"\xef\xbb\xbf"


class StorageError(Exception):
    """Reading the landing zone failed (network, permissions): not the file's fault. The run
    stops and the next run reads the file again."""


class Vanished(Exception):
    """The file was listed but is gone when opened (deleted or renamed since): nothing to read,
    and nothing wrong with the storage; the run goes on without it."""


def _decode(block: bytes, offset: int) -> str:
    zero = block.find(b"\x00")
    if zero >= 0:
        raise BadFile(f"binary content: a NUL byte at byte {offset + zero:,}")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text: an invalid byte at byte {offset + exc.start:,}") from None
    # CRLF line ends (a Windows producer): the CR is part of the line end, not of the line.
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    return text


def too_long(length: int) -> str:
    """The quarantine reason of a line past MAX_LINE_BYTES."""
    return f"line of {length:,} bytes exceeds the {settings.MAX_LINE_BYTES >> 20} MB limit"


class _Hashing:
    """A read-only file that hashes the bytes as they are read (as stored, before gunzip); any
    failure to read them is the storage's, raised as StorageError."""

    def __init__(self, raw) -> None:
        self.raw, self.digest, self.bytes_read = raw, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.raw.read(size)
        except Exception as exc:  # gcsfs raises OSError, HttpError, aiohttp's errors, …
            raise StorageError(_first_line(exc)) from exc
        self.digest.update(data)
        self.bytes_read += len(data)
        return data

    def readable(self) -> bool:
        return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class TextBlocks:
    """A file's text as blocks of whole lines (`first_line` is the number of a block's first
    line). Lines longer than MAX_LINE_BYTES are not in the blocks: their bytes are skipped as
    they stream (memory stays flat, even for a file without a newline) and their numbers and
    lengths collected for `take_too_long`. `lines` and `sha256` are known once every block was
    read."""

    def __init__(self, target: Target, file: LandingFile, block_bytes: int) -> None:
        self.target, self.file, self.block_bytes = target, file, block_bytes
        self.sha256: str | None = None
        self.lines = 0
        self._too_long: list[tuple[int, int]] = []  # (line number, bytes) not taken yet
        self._compressed: _Hashing | None = None  # the stored bytes, when gunzipped
        self._text_bytes = 0  # bytes of lines handed to the parser

    def take_too_long(self) -> list[tuple[int, int]]:
        """The overlong lines met since the last call: (line number, length in bytes)."""
        taken, self._too_long = self._too_long, []
        return taken

    def __iter__(self) -> Iterator[tuple[int, str]]:
        try:
            handle = self.target.fs.open(self.target.path(self.file.path), "rb")
        except FileNotFoundError:
            raise Vanished(self.file.path) from None
        except Exception as exc:
            raise StorageError(_first_line(exc)) from exc
        with handle:
            hashing = _Hashing(handle)
            head = hashing.read(2)
            if head == GZIP_MAGIC:
                stream = gzip.GzipFile(fileobj=_Prefixed(head, hashing), mode="rb")
            elif self.file.name.endswith(".gz"):
                raise BadFile("named .gz but not gzip-compressed")
            else:
                stream = _Prefixed(head, hashing)
            self._compressed = hashing if head == GZIP_MAGIC else None
            yield from self._blocks(stream)
            while hashing.read(1 << 20):  # gzip may stop before trailing bytes: hash them too
                pass
            self.sha256 = hashing.digest.hexdigest()

    def _decode(self, block: bytes, offset: int) -> str:
        """A block's text, once the gzip it comes from is not a decompression bomb: one that
        expands past MAX_GZIP_RATIO into lines would keep the parser busy for hours. The bytes
        of overlong lines don't count: they are skipped at the speed of gunzip."""
        self._text_bytes += len(block)
        if (self._compressed is not None
                and self._text_bytes > settings.GZIP_RATIO_CHECKED_AFTER
                and self._text_bytes > settings.MAX_GZIP_RATIO * self._compressed.bytes_read):
            raise BadFile(f"gzip expands more than {settings.MAX_GZIP_RATIO}×: "
                          f"{self._text_bytes:,} bytes of lines from "
                          f"{self._compressed.bytes_read:,}, refused as a decompression bomb")
        return _decode(block, offset)

    def _read(self, stream) -> bytes:
        try:
            return stream.read(self.block_bytes)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            # Only the file's own fault: a storage failure (StorageError) is not, and must not
            # quarantine the file; it stops the run, and the next run reads it again.
            raise BadFile(f"bad gzip: {str(exc) or type(exc).__name__}") from None

    def _blocks(self, stream) -> Iterator[tuple[int, str]]:
        limit = settings.MAX_LINE_BYTES
        line, offset, rest = 1, 0, b""  # offset: where `rest` starts in the (gunzipped) text
        skipping: list[int] | None = None  # [line number, bytes so far] of an overlong line
        data = self._read(stream)
        while 0 < len(data) < len(UTF8_BOM) and (more := self._read(stream)):
            data += more
        if data.startswith(UTF8_BOM):  # Windows tools write one: not part of the first line
            data, offset = data[len(UTF8_BOM):] or self._read(stream), len(UTF8_BOM)
        while data:
            if skipping is not None:  # inside an overlong line: drop bytes up to its newline
                end = data.find(b"\n")
                if end < 0:
                    skipping[1] += len(data)
                    offset += len(data)
                    data = self._read(stream)
                    continue
                self._too_long.append((skipping[0], skipping[1] + end))
                line, skipping = line + 1, None
                offset += end + 1
                data = data[end + 1:]
            data = rest + data
            start = pos = 0  # start of the lines not yielded yet; start of the current line
            # Step a window of limit + 1 bytes from line start to line start: a window without a
            # newline holds an overlong line. A few steps a block, not one per line.
            while pos + limit < len(data):
                newline = data.rfind(b"\n", pos, pos + limit + 1)
                if newline >= 0:
                    pos = newline + 1
                    continue
                if pos > start:
                    lines = data[start:pos - 1]
                    yield line, self._decode(lines, offset + start)
                    line += lines.count(b"\n") + 1  # counted in bytes: twice as fast
                end = data.find(b"\n", pos + limit + 1)
                if end < 0:
                    skipping = [line, len(data) - pos]
                    start = pos = len(data)
                    break
                self._too_long.append((line, end - pos))
                line += 1
                start = pos = end + 1
            cut = data.rfind(b"\n", start)
            if cut >= start:
                lines = data[start:cut]
                yield line, self._decode(lines, offset + start)
                line += lines.count(b"\n") + 1
                start = cut + 1
            rest = data[start:]
            offset += start
            data = self._read(stream)
        if skipping is not None:
            self._too_long.append((skipping[0], skipping[1]))
            line += 1
        elif rest:  # the last line, without its newline
            yield line, self._decode(rest, offset)
            line += 1
        self.lines = line - 1


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
