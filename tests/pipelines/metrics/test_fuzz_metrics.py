"""Property-based tests (Hypothesis) on the two metrics readers, as the landing parsers have:
whatever a /metrics body or an OTLP line holds, the Prometheus reader gives samples or one
`Unparsable` line (never another exception), and the ontrack_metrics feed's parser accounts for
every line — rows + point lines + quarantined + blank = lines — with one-line reasons."""

from __future__ import annotations

import json
import math
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metrics_helpers import otlp_line
from test_fuzz_landing import _accounted, values

from pipelines.landing.metric_lines import MetricLinesParser
from pipelines.metrics.prometheus import Unparsable, parse
from pipelines.metrics.samples import KINDS, SCHEMA

FUZZ = settings(deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
AT = datetime(2024, 3, 11, 9)

# Pieces of the exposition format, real and broken, for bodies that are nearly right.
names = st.sampled_from(["rails_requests_total", "sidekiq_job_latency_seconds",
                         "sidekiq_job_latency_seconds_bucket", "x_count", "x_sum", "x_created",
                         "9bad", "a:b", "", "é", "rails_requests_created"])
label_values = st.text(max_size=6).map(lambda t: json.dumps(t)[1:-1])
numbers = st.sampled_from(["1", "0", "-1", "1e400", "NaN", "+Inf", "-Inf", "0x10", "1.5e-3",
                           "", "abc", "1_000", "12345678901234567890"])
sample_lines = st.builds(
    lambda n, labels, v, ts: n + ("{" + ",".join(f'{k}="{val}"' for k, val in labels) + "}"
                                  if labels else "") + f" {v}" + (f" {ts}" if ts else ""),
    names, st.lists(st.tuples(st.sampled_from(["le", "queue", "controller", "a b", "quantile"]),
                              label_values), max_size=3), numbers,
    st.sampled_from(["", "1710147600000", "-5", "99999999999999999", "x"]))
meta_lines = st.builds(lambda kind, n, t: f"# {kind} {n} {t}",
                       st.sampled_from(["TYPE", "HELP", "UNIT", "EOF", "junk"]), names,
                       st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped",
                                        "info", "bogus", "", "with \\ backslash"]))
bodies = st.lists(st.one_of(sample_lines, meta_lines, st.text(max_size=30), st.just("")),
                  max_size=20).map("\n".join)


@FUZZ
@given(body=st.one_of(bodies, st.text(max_size=200)), newline=st.booleans())
def test_any_exposition_gives_finite_samples_or_one_unparsable_line(body, newline):
    try:
        exposition = parse(body + ("\n" if newline else ""), AT)
    except Unparsable as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    frame = exposition.rows
    assert frame.columns == list(SCHEMA)
    assert all(math.isfinite(v) for v in frame.get_column("value").to_list())
    assert set(frame.get_column("kind").to_list()) <= set(KINDS)
    # Nothing vanishes: every sample is stored, skipped with a reason, or a start time.
    assert frame.height + len(exposition.skipped) <= exposition.samples


# OTLP requests: real ones built with the proto classes, then mutated as a hostile producer
# would (values swapped for anything JSON holds, keys dropped).
numbers_otlp = st.one_of(st.integers(-(2**70), 2**70).map(str), st.floats().map(repr),
                         st.sampled_from(["NaN", "Infinity", "1e400", "", "x", None, True]))
metric_dicts = st.sampled_from([
    {"name": "g", "gauge": {"data_points": [{"time_unix_nano": "1710147600000000000",
                                             "as_double": 1.5}]}},
    {"name": "c", "sum": {"aggregation_temporality": 2, "is_monotonic": True, "data_points": [
        {"time_unix_nano": "1710147600000000000", "as_int": "3"}]}},
    {"name": "h", "unit": "s", "histogram": {"aggregation_temporality": 1, "data_points": [
        {"time_unix_nano": "1710147600000000000", "count": "3", "sum": 1.0,
         "bucket_counts": ["1", "1", "1"], "explicit_bounds": [0.1, 1.0]}]}},
])


def _mutate(obj, path: list[int], replacement):
    """Replace the value at one position of a nested JSON value (chosen by `path`)."""
    if not path:
        return replacement
    if isinstance(obj, dict) and obj:
        key = sorted(obj)[path[0] % len(obj)]
        return {**obj, key: _mutate(obj[key], path[1:], replacement)}
    if isinstance(obj, list) and obj:
        i = path[0] % len(obj)
        return [*obj[:i], _mutate(obj[i], path[1:], replacement), *obj[i + 1:]]
    return replacement


otlp_lines = st.builds(
    lambda metrics, path, replacement: json.dumps(
        _mutate(json.loads(otlp_line(metrics)), path, replacement)),
    st.lists(metric_dicts, min_size=1, max_size=3),
    st.lists(st.integers(0, 50), max_size=9), st.one_of(values, numbers_otlp))
feed_lines = st.lists(st.one_of(otlp_lines, st.just(otlp_line([]).strip()), values.map(
    json.dumps), st.text(max_size=20), st.just("")), max_size=12)


@FUZZ
@given(lines=feed_lines, cut=st.integers(0, 12))
def test_otlp_and_event_lines_are_each_a_row_points_or_quarantined(lines, cut):
    lines = [line.replace("\n", " ") for line in lines]
    parser = MetricLinesParser()
    head, tail = lines[:cut], lines[cut:]
    parsed = []
    if head:
        parsed.append(parser.block(1, "\n".join(head)))
    if tail:
        parsed.append(parser.block(len(head) + 1, "\n".join(tail)))
    parsed.append(parser.finish())
    _accounted(parsed, list(range(1, len(lines) + 1)))
    for p in parsed:
        if p.points is not None:
            assert all(math.isfinite(v) for v in p.points.get_column("value").to_list())


def _nested_kvlist(depth: int) -> dict:
    value: dict = {"stringValue": "x"}
    for _ in range(depth):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


HOSTILE_OTLP = {
    "an attribute of kvlists 150 deep": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": "1710147600000000000",
                                               "asDouble": 1, "attributes": [
                                                   {"key": "a", "value": _nested_kvlist(150)}]}]}}
    ]}]}]},
    "an int64 past 64 bits": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "c", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
            {"timeUnixNano": "1710147600000000000", "asInt": "99999999999999999999999"}]}}]}]}]},
    "a time before 1970": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": "-5", "asDouble": 1}]}}]}]}]},
    "NaN as a string": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": "1710147600000000000",
                                               "asDouble": "NaN"}]}}]}]}]},
    "resourceMetrics not a list": {"resourceMetrics": {"a": 1}},
    "an unknown temporality": {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "c", "sum": {"aggregationTemporality": 7, "dataPoints": [
            {"timeUnixNano": "1710147600000000000", "asInt": "1"}]}}]}]}]},
}


def test_hostile_otlp_lines_are_quarantined_each_with_one_line_reason():
    lines = [json.dumps(obj) for obj in HOSTILE_OTLP.values()]
    parsed = MetricLinesParser().block(1, "\n".join(lines))
    _accounted([parsed], list(range(1, len(lines) + 1)))
    reasons = dict(zip(HOSTILE_OTLP, [r for _, r, _ in parsed.bad], strict=True))
    assert reasons["NaN as a string"].startswith("g: a value that is not a finite number")
    assert reasons["a time before 1970"].startswith(("not OTLP metrics JSON", "timeUnixNano"))
    assert all(r and "\n" not in r for r in reasons.values())
