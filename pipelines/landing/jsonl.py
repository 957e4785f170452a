"""JSON-lines feeds: one JSON object per line, checked field by field.

Each schema turns an object into a row or says, in a few words, why it cannot (the reason kept
in quarantine with the line). Blank lines are skipped: they are neither data nor a mistake.
`ontrack_metrics` and `splashkit_usage` are read with these; lograge-style request lines in
`ontrack_logs` go through `lograge_row`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
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
    except ValueError:
        raise Invalid(f"{field} is not ISO 8601: {value[:40]!r}") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


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
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{field} is not a number")
    return float(value)


def metric_row(obj: dict) -> Row:
    """`{"time": …, "name": "jobs.queue_depth", "value": 3, "tags": {"queue": "default"}}`"""
    tags = obj.get("tags")
    if tags is not None and not isinstance(tags, dict):
        raise Invalid("tags is not an object")
    return (parse_time(obj.get("time")), _text(obj, "name"), _number(obj, "value"),
            None if tags is None else json.dumps(tags, sort_keys=True))


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
    if not 100 <= status <= 599:
        raise Invalid("status is not an HTTP status")
    duration = _number(obj, "duration", required=False)
    pid = obj.get("pid")
    ip = obj.get("remote_ip") or obj.get("ip")
    return (parse_time(when), _text(obj, "method").upper(), _text(obj, "path"), int(status),
            duration, ip if isinstance(ip, str) else None, _text(obj, "request_id", False),
            pid if isinstance(pid, int) else None, "json")


REQUEST_SCHEMA = {"requested_at": pl.Datetime("us"), "method": pl.String,
                  "path_template": pl.String, "status": pl.Int16, "duration_ms": pl.Float64,
                  "client_network": pl.String, "request_id": pl.String, "pid": pl.Int32,
                  "log_format": pl.String}


def parse_object_lines(lines: list[tuple[int, str]], to_row: Callable[[dict], Row],
                       schema: dict) -> Parsed:
    """(line number, text) pairs → rows (with line_number), quarantine entries
    (line number, reason, text) and the blank lines skipped."""
    rows, numbers, bad, blank = [], [], [], 0
    for number, text in lines:
        if not text.strip():
            blank += 1
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            bad.append((number, f"not JSON: {str(exc).split(':')[0]}", text))
            continue
        if not isinstance(obj, dict):
            bad.append((number, "not a JSON object", text))
            continue
        try:
            rows.append(to_row(obj))
        except Invalid as exc:
            bad.append((number, str(exc), text))
            continue
        numbers.append(number)
    frame = pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.Series("line_number", numbers, dtype=pl.Int64))
    return Parsed(frame, bad, blank=blank)


class JsonLinesParser:
    """A whole JSON-lines file, block by block."""

    def __init__(self, to_row: Callable[[dict], Row], schema: dict) -> None:
        self.to_row, self.schema = to_row, schema

    def block(self, first_line: int, text: str) -> Parsed:
        lines = list(enumerate(text.split("\n"), start=first_line))
        return parse_object_lines(lines, self.to_row, self.schema)

    def finish(self) -> Parsed:
        return Parsed()
