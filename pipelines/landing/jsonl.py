"""JSON-lines feeds: one JSON object per line, checked field by field.

Each schema turns an object into a row or says, in a few words, why it cannot (the reason kept
in quarantine with the line). Blank lines are skipped: they are neither data nor a mistake.
Hostile lines stay one line's problem: JSON nested deeper than Python's recursion limit, NaN
and Infinity (Python's json accepts them), numbers past a float, dates that do not exist or
overflow, lone UTF-16 surrogates (`"\ud800"`, which no UTF-8 column can hold) are quarantined
with their reason; a duplicate key keeps its last value, as Python's json does.
`ontrack_metrics` and `splashkit_usage` are read with these; lograge-style request lines in
`ontrack_logs` go through `lograge_row`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import polars as pl

from pipelines.landing.parsed import Parsed

Row = tuple


class Invalid(ValueError):
    """A line that is JSON but not what the feed expects; the message is the reason."""


def parse_time(value: object, field: str = "time") -> datetime:
    """ISO 8601 (`2024-03-11T09:00:01Z`, an offset, or none = UTC) or epoch seconds → naive UTC."""
    if isinstance(value, bool) or value is None:
        raise Invalid(f"missing {field}" if value is None else f"{field} is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 32503680000:
            raise Invalid(f"{field} is not a time")
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if not isinstance(value, str):
        raise Invalid(f"{field} is not a time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:  # also the impossible: 2024-02-30, year 99999
        raise Invalid(f"{field} is not ISO 8601: {value[:40]!r}") from None
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise Invalid(f"{field} is out of range: {value[:40]!r}") from None


def _text(obj: dict, field: str, required: bool = True) -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        if required:
            raise Invalid(f"missing {field}")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Invalid(f"{field} is not a string")
    return str(value)


def _number(obj: dict, field: str, required: bool = True) -> float | None:
    value = obj.get(field)
    if value is None:
        if required:
            raise Invalid(f"missing {field}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{field} is not a number")
    try:
        number = float(value)  # an integer of 400 digits is past a float
    except OverflowError:
        raise Invalid(f"{field} is out of range") from None
    if not math.isfinite(number):  # NaN, Infinity, and 1e400 (which json reads as inf)
        raise Invalid(f"{field} is not a number")
    return number


def metric_row(obj: dict) -> Row:
    """`{"time": …, "name": "jobs.queue_depth", "value": 3, "tags": {"queue": "default"}}`"""
    tags = obj.get("tags")
    if tags is not None and not isinstance(tags, dict):
        raise Invalid("tags is not an object")
    return (parse_time(obj.get("time")), _text(obj, "name"), _number(obj, "value"),
            None if tags is None else _json_text(tags, "tags"))


def _json_text(value: object, field: str) -> str:
    """A value for a JSON column: strict JSON, which has no NaN or Infinity."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except ValueError:
        raise Invalid(f"{field} holds NaN or Infinity, which JSON has not") from None
    except RecursionError:  # read just under the limit, written from deeper in the stack
        raise Invalid("JSON nested too deep") from None


METRIC_SCHEMA = {"time": pl.Datetime("us"), "name": pl.String, "value": pl.Float64,
                 "tags": pl.String}

SPLASHKIT_EVENTS = frozenset({"install", "project_created", "function_called", "build", "run",
                              "upgrade", "uninstall"})


def splashkit_row(obj: dict) -> Row:
    """`{"time", "install_id", "event", "function"?, "language", "os", "splashkit_version"}`;
    events outside SPLASHKIT_EVENTS are kept (a new SplashKit may send new ones)."""
    event = _text(obj, "event")
    function = _text(obj, "function", required=event == "function_called")
    return (parse_time(obj.get("time")), _text(obj, "install_id"), event, function,
            _text(obj, "language", False), _text(obj, "os", False),
            _text(obj, "splashkit_version", False))


SPLASHKIT_SCHEMA = {"time": pl.Datetime("us"), "install_id": pl.String, "event": pl.String,
                    "function": pl.String, "language": pl.String, "os": pl.String,
                    "splashkit_version": pl.String}


def lograge_row(obj: dict) -> Row:
    """lograge's JSON: method, path, status, duration (ms), time (or @timestamp / timestamp),
    remote_ip (or ip), request_id, pid. The path and address come out raw, for the caller to
    template and truncate vectorised (rails_log does, before anything is stored)."""
    when = next((obj[k] for k in ("time", "@timestamp", "timestamp") if obj.get(k) is not None),
                None)
    status = _number(obj, "status")
    if not 100 <= status <= 599 or not status.is_integer():
        raise Invalid("status is not an HTTP status")
    duration = _number(obj, "duration", required=False)
    pid = obj.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31:
        pid = None  # optional, and the column is a 32-bit integer: a pid is never larger
    ip = obj.get("remote_ip") or obj.get("ip")
    return (parse_time(when), _text(obj, "method").upper(), _text(obj, "path"), int(status),
            duration, ip if isinstance(ip, str) else None, _text(obj, "request_id", False),
            pid, "json")


REQUEST_SCHEMA = {"requested_at": pl.Datetime("us"), "method": pl.String,
                  "path_template": pl.String, "status": pl.Int16, "duration_ms": pl.Float64,
                  "client_network": pl.String, "request_id": pl.String, "pid": pl.Int32,
                  "log_format": pl.String}


# A \u escape of a UTF-16 surrogate: paired it is one character, alone no text encoding holds it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# Blank: nothing but spaces, tabs (and a CR). Other control characters are not JSON: quarantined.
_BLANK = " \t\r"


def _load(text: str) -> object:
    """The line's JSON value, or Invalid with the reason it has none."""
    try:
        value = json.loads(text)
    except RecursionError:  # [[[[…]]]] 100,000 deep: Python's decoder recurses per level
        raise Invalid("JSON nested too deep") from None
    except ValueError as exc:
        raise Invalid(f"not JSON: {str(exc).split(':')[0]}") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("not JSON text: a lone UTF-16 surrogate escape") from None
        except (RecursionError, ValueError):
            pass  # its other fields are checked on their own
    return value


def parse_object_lines(lines: Iterable[tuple[int, str]], to_row: Callable[[dict], Row],
                       schema: dict) -> Parsed:
    """(line number, text) pairs → rows (with line_number), quarantine entries
    (line number, reason, text) and the blank lines skipped."""
    rows, numbers, texts, bad, blank = [], [], [], [], 0
    reasons: dict[str, str] = {}  # one string per distinct reason: a block may hold 1 M bad lines
    for number, text in lines:
        if not text.strip(_BLANK):
            blank += 1
            continue
        try:
            obj = _load(text)
            if not isinstance(obj, dict):
                raise Invalid("not a JSON object")
            rows.append(to_row(obj))
        except Invalid as exc:
            reason = str(exc)
            bad.append((number, reasons.setdefault(reason, reason), text))
            continue
        numbers.append(number)
        texts.append(text)
    return Parsed(_frame(rows, numbers, texts, schema, bad), bad, blank=blank)


def _frame(rows: list[Row], numbers: list[int], texts: list[str], schema: dict,
           bad: list) -> pl.DataFrame:
    """The rows as a frame. The checks above make every row fit its schema; should one still
    not, it is found row by row and quarantined with Polars' reason, not the whole file."""
    try:
        return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
            pl.Series("line_number", numbers, dtype=pl.Int64))
    except Exception:  # narrowed down to its rows below
        good = []
        for row, number, text in zip(rows, numbers, texts, strict=True):
            try:
                pl.DataFrame([row], schema=schema, orient="row")
            except Exception as exc:
                bad.append((number, f"a value does not fit its column: {type(exc).__name__}",
                            text))
                continue
            good.append((row, number))
        return pl.DataFrame([r for r, _ in good], schema=schema, orient="row").with_columns(
            pl.Series("line_number", [n for _, n in good], dtype=pl.Int64))


class JsonLinesParser:
    """A whole JSON-lines file, block by block."""

    def __init__(self, to_row: Callable[[dict], Row], schema: dict) -> None:
        self.to_row, self.schema = to_row, schema

    def block(self, first_line: int, text: str) -> Parsed:
        lines = enumerate(text.split("\n"), start=first_line)
        return parse_object_lines(lines, self.to_row, self.schema)

    def finish(self) -> Parsed:
        return Parsed()
