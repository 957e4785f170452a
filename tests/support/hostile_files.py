"""A corpus of hostile landing files, generated (never committed: some are megabytes), each with
what the loader must make of it: quarantined whole with a reason, or lines quarantined by number
with theirs, and the rows that still load.

The cases are the issue's (#15) and a few more a careless or hostile producer sends."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from landing_helpers import DAY, LOGRAGE, METRICS, PLAIN_LOG, SPLASHKIT, jsonl

MB = 1 << 20
GOOD = json.dumps({"time": "2024-03-11T09:00:00Z", "name": "good", "value": 1})
EVENT = json.dumps({"time": "2024-03-11T09:00:00Z", "install_id": "inst-z", "event": "run"})
REQUEST = json.dumps({"method": "GET", "path": "/api/units/1", "status": 200,
                      "time": "2024-03-11T09:00:00Z", "remote_ip": "192.0.2.1"})
DEEP = 100_000


def metric(**fields: object) -> str:
    return json.dumps({"time": "2024-03-11T09:00:00Z", "name": "m", "value": 1} | fields)


def around(hostile: list[str | bytes], good: str = GOOD) -> bytes:
    """A good line, the hostile lines (from line 2), a good line: the file goes on after them."""
    lines = [good.encode(), *(h.encode() if isinstance(h, str) else h for h in hostile),
             good.encode()]
    return b"\n".join(lines) + b"\n"


def gzipped(piece: bytes, size: int) -> bytes:
    """`piece` repeated to `size` bytes, gzipped, without holding them all in memory."""
    packer, chunk = zlib.compressobj(9, zlib.DEFLATED, 31), piece * (MB // len(piece))
    return b"".join([*(packer.compress(chunk) for _ in range(size // len(chunk))),
                     packer.flush()])


@dataclass(frozen=True)
class Hostile:
    id: str
    path: str  # relative to the landing root
    data: Callable[[], bytes]
    whole: str | None = None  # the start of the whole-file reason, when quarantined whole
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    rows: int = 0  # rows the file still loads
    check: tuple[str, list[tuple]] | None = None  # SQL on the warehouse, and its answer

    @property
    def feed(self) -> str:
        return self.path.split("/", 1)[0]


def _m(name: str) -> str:
    return f"ontrack_metrics/{DAY}/{name}"


def _s(name: str) -> str:
    return f"splashkit_usage/{DAY}/{name}"


def _l(name: str) -> str:
    return f"ontrack_logs/{DAY}/{name}"


LATIN1 = '{"time": "2024-03-11T09:00:00Z", "name": "café", "value": 1}'
NESTED_ARRAYS = "[" * DEEP + "]" * DEEP
NESTED_OBJECTS = '{"a":' * DEEP + "1" + "}" * DEEP
TOO_DEEP = "JSON nested too deep"
NAN = "value is not a number"

CASES = [
    # Bytes that are not what a feed's file is: the whole file, with the reason.
    Hostile("truncated_gzip", _m("cut.jsonl.gz"),
            lambda: gzip.compress(jsonl(METRICS * 50).encode())[:-40],
            whole="bad gzip: Compressed file ended before the end-of-stream marker"),
    Hostile("gz_not_gzip", _m("plain.jsonl.gz"), lambda: jsonl(METRICS).encode(),
            whole="named .gz but not gzip-compressed"),
    Hostile("gzip_magic_then_garbage", _m("garbage.jsonl.gz"),
            lambda: b"\x1f\x8b" + bytes(range(256)) * 4, whole="bad gzip: "),
    Hostile("empty_gz_file", _m("empty.jsonl.gz"), lambda: b"",
            whole="named .gz but not gzip-compressed"),
    Hostile("gzip_bomb", _m("bomb.jsonl.gz"), lambda: gzipped(b"x" * 1023 + b"\n", 16 * MB),
            whole="gzip expands more than 100×"),
    Hostile("invalid_utf8", _m("latin1.jsonl"), lambda: around([LATIN1.encode("latin-1")]),
            whole=f"not UTF-8 text: an invalid byte at byte {len(GOOD) + 1 + LATIN1.index('é')}"),
    Hostile("utf16_file", _s("utf16.jsonl"), lambda: (EVENT + "\n").encode("utf-16"),
            whole="binary content: a NUL byte at byte 3"),
    Hostile("binary_bytes", _m("core.jsonl"), lambda: b"\x7fELF" + bytes(range(256)) * 64,
            whole="binary content: a NUL byte at byte 4"),
    Hostile("binary_without_nul", _s("noise.jsonl"), lambda: bytes(range(1, 256)) * 3,
            whole="not UTF-8 text: an invalid byte at byte 127"),
    # Values: one line's problem each; the lines around them load.
    Hostile("nan_and_infinite_values", _m("nan.jsonl"), lambda: around([
        GOOD.replace('"value": 1', '"value": NaN'),
        GOOD.replace('"value": 1', '"value": Infinity'),
        GOOD.replace('"value": 1', '"value": -Infinity'),
        GOOD.replace('"value": 1', '"value": 1e400'),
        metric(value="NaN"),
        GOOD.replace('"value": 1', '"value": ' + "9" * 400),
        GOOD.replace('"value": 1', '"value": ' + "9" * 5000),
        metric(tags={"x": float("nan")}),
    ]), lines=[(2, NAN), (3, NAN), (4, NAN), (5, NAN), (6, NAN), (7, "value is out of range"),
               (8, "not JSON: Exceeds the limit (4300 digits) for integer string conversion"),
               (9, "tags holds NaN or Infinity, which JSON has not")], rows=2),
    Hostile("impossible_dates", _m("dates.jsonl"), lambda: around([
        metric(time="2024-02-30T09:00:00Z"), metric(time="99999-01-01T00:00:00Z"),
        metric(time="2024-13-01"), metric(time="0001-01-01T00:00:00+01:00"),
        metric(time="9999-12-31T23:59:59-01:00"), metric(time=-1), metric(time=1e20),
        metric(time=""), metric(time=None), metric(time=[2024, 3, 11]),
    ]), lines=[(2, "time is not ISO 8601: '2024-02-30T09:00:00Z'"),
               (3, "time is not ISO 8601: '99999-01-01T00:00:00Z'"),
               (4, "time is not ISO 8601: '2024-13-01'"),
               (5, "time is out of range: '0001-01-01T00:00:00+01:00'"),
               (6, "time is out of range: '9999-12-31T23:59:59-01:00'"),
               (7, "time is not a time"), (8, "time is not a time"),
               (9, "time is not ISO 8601: ''"), (10, "missing time"), (11, "time is not a time")],
            rows=2),
    Hostile("twenty_mb_line", _m("long.jsonl"),
            lambda: around([b'{"name": "' + b"x" * (20 * MB) + b'"}']),
            lines=[(2, f"line of {20 * MB + 12:,} bytes exceeds the 1 MB limit")], rows=2),
    Hostile("twenty_mb_line_gzipped", _s("long.jsonl.gz"), lambda: gzip.compress(around(
        [b"x" * (20 * MB)], EVENT)), lines=[(2, f"line of {20 * MB:,} bytes exceeds the 1 MB "
                                                "limit")], rows=2),
    Hostile("no_newline_at_all", _s("one-line.jsonl"), lambda: b"y" * (3 * MB),
            lines=[(1, f"line of {3 * MB:,} bytes exceeds the 1 MB limit")]),
    Hostile("deeply_nested_arrays", _m("arrays.jsonl"), lambda: around([NESTED_ARRAYS]),
            lines=[(2, TOO_DEEP)], rows=2),
    Hostile("deeply_nested_objects", _s("objects.jsonl"),
            lambda: around([NESTED_OBJECTS], EVENT), lines=[(2, TOO_DEEP)], rows=2),
    Hostile("deep_tags", _m("deep-tags.jsonl"), lambda: around([
        GOOD[:-1] + ', "tags": {"a": ' + NESTED_ARRAYS + "}}",
        metric(tags={"a": json.loads("[" * 200 + "]" * 200)}),
    ]), lines=[(2, TOO_DEEP)], rows=3),
    Hostile("wrong_json_types", _m("types.jsonl"), lambda: around([
        "[1, 2]", '"a string"', "null", "42", "true", "{}",
        metric(name={"a": 1}), metric(tags=["a"]), metric(value=True)]),
            lines=[(2, "not a JSON object"), (3, "not a JSON object"), (4, "not a JSON object"),
                   (5, "not a JSON object"), (6, "not a JSON object"), (7, "missing time"),
                   (8, "name is not a string"), (9, "tags is not an object"), (10, NAN)],
            rows=2),
    Hostile("control_characters", _m("control.jsonl"), lambda: around([
        metric(name="bell").replace("bell", "be\x07ll"), "\x1b[31mred\x1b[0m", "\x0c",
        "\x01", metric(name="tab\u0007escaped")]),
            lines=[(2, "not JSON: Invalid control character at"), (3, "not JSON: Expecting value"),
                   (4, "not JSON: Expecting value"), (5, "not JSON: Expecting value")], rows=3,
            check=("SELECT name FROM landing_raw.ontrack_metrics WHERE name LIKE 'tab%'",
                   [("tab\x07escaped",)])),
    Hostile("lone_surrogates", _s("surrogates.jsonl"), lambda: around([
        EVENT.replace("inst-z", "inst-\\ud800"), EVENT.replace("inst-z", "\\udc00"),
        EVENT.replace("inst-z", "inst-\\ud83d\\ude00")], EVENT),
            lines=[(2, "not JSON text: a lone UTF-16 surrogate escape"),
                   (3, "not JSON text: a lone UTF-16 surrogate escape")], rows=3,
            check=("SELECT install_id FROM landing_raw.splashkit_usage WHERE source_file LIKE "
                   "'%surrogates.jsonl' AND install_id <> 'inst-z'", [("inst-\U0001f600",)])),
    Hostile("duplicate_keys_last_wins", _m("dup.jsonl"),
            lambda: around(['{"time": "2024-03-11T09:00:00Z", "name": "dup", "value": 1, '
                            '"value": 5, "name": "dup2"}']), rows=3,
            check=("SELECT name, value FROM landing_raw.ontrack_metrics WHERE name LIKE 'dup%'",
                   [("dup2", 5.0)])),
    # Line ends, a byte-order mark, nothing at all: accepted.
    Hostile("crlf_line_ends", _s("crlf.jsonl"),
            lambda: jsonl(SPLASHKIT).replace("\n", "\r\n").encode(), rows=len(SPLASHKIT),
            check=("SELECT count(*) FROM landing_raw.splashkit_usage WHERE "
                   "splashkit_version LIKE '%\r%' OR install_id LIKE '%\r%'", [(0,)])),
    Hostile("crlf_rails_log", _l("crlf.log"),
            lambda: PLAIN_LOG.replace("\n", "\r\n").encode(), rows=2,
            check=("SELECT path_template, status, duration_ms FROM landing_raw.ontrack_logs "
                   "WHERE source_file LIKE '%crlf.log' ORDER BY line_number",
                   [("/api/auth/method", 200, 5.0), ("/api/tasks/:id/pdf", 204, 7.0)])),
    Hostile("byte_order_mark", _m("bom.jsonl"), lambda: ("\ufeff" + jsonl(METRICS)).encode(),
            rows=len(METRICS)),
    Hostile("byte_order_mark_gzipped", _s("bom.jsonl.gz"),
            lambda: gzip.compress(("\ufeff" + jsonl(SPLASHKIT)).encode()), rows=len(SPLASHKIT)),
    Hostile("byte_order_mark_mid_file", _m("bom-mid.jsonl"), lambda: around(["\ufeff" + GOOD]),
            lines=[(2, "not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)")], rows=2),
    Hostile("empty_file", _m("empty.jsonl"), lambda: b""),
    Hostile("empty_gzip", _s("empty.jsonl.gz"), lambda: gzip.compress(b"")),
    Hostile("only_blank_lines", _m("blank.jsonl"), lambda: b"\n\n  \n\t\r\n"),
    # lograge JSON lines in ontrack_logs go through the same checks.
    Hostile("lograge_hostile_lines", _l("api.jsonl"), lambda: around([
        '{"a":' * DEEP + "1" + "}" * DEEP,
        REQUEST.replace('"status": 200', '"status": 200.5'),
        REQUEST.replace("2024-03-11T09", "2024-02-30T09"),
        REQUEST.replace('"status": 200', '"status": NaN'),
        REQUEST[:-1] + ', "pid": 99999999999999999999}',
        REQUEST[:-1] + ', "pid": true, "duration": 1e400}',
    ], REQUEST), lines=[(2, TOO_DEEP), (3, "status is not an HTTP status"),
                        (4, "time is not ISO 8601: '2024-02-30T09:00:00Z'"),
                        (5, "status is not a number"), (7, "duration is not a number")], rows=3,
            check=("SELECT count(*), count(pid) FROM landing_raw.ontrack_logs "
                   "WHERE source_file LIKE '%api.jsonl'", [(3, 0)])),
]

# After each hostile file, in the same feed (its name sorts later): it must still be read.
AFTER = {"ontrack_metrics": (_m("zz-after.jsonl"), jsonl(METRICS), len(METRICS)),
         "splashkit_usage": (_s("zz-after.jsonl"), jsonl(SPLASHKIT), len(SPLASHKIT)),
         "ontrack_logs": (_l("zz-after.jsonl"), jsonl(LOGRAGE), len(LOGRAGE))}
