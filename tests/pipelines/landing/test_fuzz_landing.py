"""Property-based tests (Hypothesis) on the landing zone's readers and parsers: whatever the
lines or bytes, nothing raises but the file-level BadFile, and every line is accounted for —
rows + context + quarantined + blank = lines.

Lines are drawn from JSON of any shape (deep, wrong types, NaN, huge numbers, duplicate keys),
records with the right keys and hostile values, and arbitrary text with control characters."""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from landing_helpers import local_landing, rows

from pipelines.landing import settings as landing_settings
from pipelines.landing.extract import make_parser
from pipelines.landing.files import BadFile, LandingFile, TextBlocks
from pipelines.landing.jsonl import (
    METRIC_SCHEMA,
    REQUEST_SCHEMA,
    SPLASHKIT_SCHEMA,
    lograge_row,
    metric_row,
    parse_object_lines,
    splashkit_row,
)
from thoth.core.storage import open_target

FUZZ = settings(deadline=None, max_examples=100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values JSON can hold, and some only Python's json reads (NaN, Infinity, numbers past float).
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["2024-03-11T09:00:00Z", "2024-02-30T00:00:00Z", "99999-01-01",
                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "", "NaN",
                     "function_called", "GET", "/api/units/1?x=1", "203.0.113.9"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
KEYS = ["time", "name", "value", "tags", "install_id", "event", "function", "language", "os",
        "splashkit_version", "method", "path", "status", "duration", "@timestamp", "timestamp",
        "remote_ip", "ip", "request_id", "pid"]
records = st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS))


def _json(value: object) -> str:
    return json.dumps(value)  # NaN and Infinity as Python writes them: JSON's readers differ


hostile_text = st.sampled_from([
    "[" * 50_000 + "]" * 50_000, '{"a":' * 20_000 + "1" + "}" * 20_000, "\ufeff{}", "{", "}",
    '{"time": 1, "time": "2024-03-11T09:00:00Z", "name": "x", "value": 1}', "\x1b[0m", "\x0c",
    '{"name": "\\ud800"}', '{"value": 1e400}', '{"value": -Infinity}', "[]", "null", "\t \r",
])
# Text as a file decoded from UTF-8 can hold it: no lone surrogates (bytes that are not UTF-8
# are the byte-level tests' business, below).
lines = st.lists(st.one_of(records.map(_json), values.map(_json), hostile_text,
                           st.text(alphabet=st.characters(exclude_characters="\n",
                                                          exclude_categories=["Cs"]),
                                   max_size=40),
                           st.just("")), max_size=25)

# (parser factory, what parse_object_lines checks with) per JSON-lines feed.
JSON_FEEDS = {"metrics": (metric_row, METRIC_SCHEMA), "splashkit": (splashkit_row,
                                                                     SPLASHKIT_SCHEMA),
              "lograge": (lograge_row, REQUEST_SCHEMA)}


def _accounted(parsed_list, numbers: list[int]) -> None:
    """Every line number is exactly one of: a row, a quarantined line, context or blank."""
    row_numbers = [n for p in parsed_list if p.rows is not None
                   for n in p.rows.get_column("line_number").to_list()]
    bad_numbers = [n for p in parsed_list for n, _, _ in p.bad]
    context = sum(p.context for p in parsed_list)
    blank = sum(p.blank for p in parsed_list)
    # OTLP lines (ontrack_metrics): many data points a line, counted once as a point line.
    point_numbers = {n for p in parsed_list if p.points is not None
                     for n in p.points.get_column("line_number").to_list()}
    point_lines = sum(p.point_lines for p in parsed_list)
    assert len(point_numbers) <= point_lines
    assert len(row_numbers) + len(bad_numbers) + context + blank + point_lines == len(numbers)
    assert set(row_numbers).isdisjoint(bad_numbers)
    assert point_numbers.isdisjoint(bad_numbers) and point_numbers.isdisjoint(row_numbers)
    assert set(row_numbers) | set(bad_numbers) <= set(numbers)
    for p in parsed_list:
        for _, reason, _ in p.bad:
            assert reason and "\n" not in reason


@pytest.mark.parametrize("feed", JSON_FEEDS)
@FUZZ
@given(lines=lines, first=st.integers(min_value=1, max_value=10**9))
def test_json_lines_never_raise_and_every_line_is_accounted_for(feed, lines, first):
    to_row, schema = JSON_FEEDS[feed]
    numbered = list(enumerate(lines, start=first))
    parsed = parse_object_lines(numbered, to_row, schema)
    _accounted([parsed], [n for n, _ in numbered])
    assert parsed.rows.columns == [*schema, "line_number"]


@pytest.mark.parametrize("feed", list(landing_settings.FEEDS))
@FUZZ
@given(lines=lines, cut=st.integers(min_value=0, max_value=25))
def test_each_feeds_parser_over_two_blocks_accounts_for_every_line(feed, lines, cut):
    """The loader's own parser per feed (the Rails log parser for ontrack_logs, given lograge
    lines and text), fed as two blocks and finished, as the loader does."""
    parser = make_parser(landing_settings.FEEDS[feed])
    head, tail = lines[:cut], lines[cut:]
    parsed = []
    if head:
        parsed.append(parser.block(1, "\n".join(head)))
    if tail:
        parsed.append(parser.block(len(head) + 1, "\n".join(tail)))
    parsed.append(parser.finish())
    _accounted(parsed, list(range(1, len(lines) + 1)))


def _reference(data: bytes, limit: int) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """What TextBlocks must give, read the simple way: the whole file split at newlines."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    kept = [(n, p.decode().removesuffix("\r")) for n, p in enumerate(parts, 1)
            if len(p) <= limit]
    return kept, [(n, len(p)) for n, p in enumerate(parts, 1) if len(p) > limit]


line_bytes = st.lists(st.one_of(st.integers(0, 40).map(lambda n: b"x" * n),
                                st.sampled_from([b"", b"\r", b"{}\r", b"\xc3\xa9", b" "])),
                      max_size=30)


@FUZZ
@given(parts=line_bytes, end=st.sampled_from([b"", b"\n", b"\r\n"]),
       bom=st.booleans(), gz=st.booleans(), limit=st.integers(1, 24),
       block=st.integers(1, 64))
def test_text_blocks_match_a_plain_split_with_overlong_lines_set_aside(
        parts, end, bom, gz, limit, block):
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(parts) + (end if parts else b"")
    with tempfile.TemporaryDirectory() as root, pytest.MonkeyPatch.context() as patch:
        patch.setattr(landing_settings, "MAX_LINE_BYTES", limit)  # a few bytes, not 1 MB
        name = "f.jsonl.gz" if gz else "f.jsonl"
        Path(root, name).write_bytes(gzip.compress(data) if gz else data)
        blocks = TextBlocks(open_target(root),
                            LandingFile(landing_settings.ONTRACK_METRICS, name, 0, datetime.now()),
                            block)
        kept, long = [], []
        for first, text in blocks:
            kept += enumerate(text.split("\n"), start=first)
            long += blocks.take_too_long()
        long += blocks.take_too_long()
    expected_kept, expected_long = _reference(data, limit)
    assert (kept, long) == (expected_kept, expected_long)
    assert blocks.lines == len(expected_kept) + len(expected_long)


@FUZZ
@given(data=st.binary(max_size=300), gz=st.booleans(), block=st.integers(1, 64))
def test_text_blocks_of_any_bytes_give_text_or_one_bad_file(data, gz, block):
    with tempfile.TemporaryDirectory() as root:
        name = "f.jsonl.gz" if gz else "f.jsonl"
        Path(root, name).write_bytes(data)
        blocks = TextBlocks(open_target(root),
                            LandingFile(landing_settings.ONTRACK_METRICS, name, 0, datetime.now()),
                            block)
        try:
            texts = list(blocks)
        except BadFile as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    assert blocks.lines == sum(t.count("\n") + 1 for _, t in texts) + len(
        blocks.take_too_long())


@settings(deadline=None, max_examples=12,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.one_of(st.binary(max_size=400), lines.map(lambda ls: "\n".join(ls).encode())),
       feed=st.sampled_from(list(landing_settings.FEEDS)), gz=st.booleans())
def test_any_file_in_any_feed_is_recorded_once_with_every_line_accounted_for(data, feed, gz):
    """End to end, into a real warehouse: whatever the bytes, extract returns, the file is in
    the ledger (loaded or quarantined whole), its lines add up, and the next run reads nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        landing = local_landing(Path(tmp, "landing"))
        path = landing.write(f"{feed}/2024/03/11/f.jsonl" + (".gz" if gz else ""), data, gz=gz)
        warehouse = Path(tmp, "w.duckdb")
        landing.extract(warehouse)
        ledger = rows(warehouse, "SELECT path, status, lines, rows, context_lines, "
                                 "quarantined_lines, blank_lines, point_lines "
                                 "FROM landing_raw._files")
        assert len(ledger) == 1 and ledger[0][0] == path
        _, status, total, *parts = ledger[0]
        assert status in ("loaded", "quarantined") and total == sum(parts)
        again = landing.extract(warehouse)
        assert not any("rows from" in line or "quarantined whole" in line for line in again)
