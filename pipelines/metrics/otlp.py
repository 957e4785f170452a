"""OTLP JSON → samples: one line of an OpenTelemetry Collector `file` exporter's output (an
ExportMetricsServiceRequest in protobuf's JSON mapping: camelCase, 64-bit integers as strings,
`timeUnixNano`, enums as numbers or names), parsed with the opentelemetry-proto classes.

Per data point: gauges → `gauge`; monotonic sums → `counter` (delta or cumulative, as
`aggregationTemporality` says); non-monotonic cumulative sums are levels → `gauge` (as the
OTel→Prometheus mapping does), non-monotonic delta sums → `counter` (the increase may be < 0);
explicit-bucket histograms → `histogram` with Prometheus-style cumulative buckets (`le`, +Inf
last), count and sum; summaries → `summary` (quantiles, count, sum); exponential histograms →
their count and sum only (no explicit buckets to store). Resource attributes name the series as
Prometheus does: `job` = service.namespace/service.name, `instance` = service.instance.id.
Prometheus-style names get `_total` on counters and `_seconds` on `s` units when the Collector
dropped them, so a yabeda metric has one name whichever way it came.

Anything a line cannot be (not OTLP, a point without a time, NaN, buckets that do not match
their bounds) is `Invalid` with a one-line reason: the landing pipeline quarantines that line.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta

from pipelines.metrics.samples import labels_text

Row = tuple
OTLP_KEYS = ("resourceMetrics", "resource_metrics")
OTHER_SIGNALS = ("resourceSpans", "resourceLogs", "resource_spans", "resource_logs")
_PROMETHEUS_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_DELTA, _CUMULATIVE = 1, 2
_NO_RECORDED_VALUE = 1  # DataPointFlags: a staleness marker, no value to store
_MAX_TIME = 32503680000 * 10**9  # year 3000, in ns
_EPOCH = datetime(1970, 1, 1)


class Invalid(ValueError):
    """Not a usable OTLP metrics line; the message is the reason."""


def is_otlp(obj: dict) -> bool:
    return any(k in obj for k in OTLP_KEYS) or any(k in obj for k in OTHER_SIGNALS)


def _time(ns: int, what: str, required: bool = True) -> datetime | None:
    if not ns:
        if required:
            raise Invalid(f"a data point without {what}")
        return None
    if not 0 < ns < _MAX_TIME:
        raise Invalid(f"{what} {ns} is out of range")
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _any_value(value) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        from google.protobuf.json_format import MessageToDict

        return json.dumps(MessageToDict(value), sort_keys=True, separators=(",", ":"))
    raw = getattr(value, kind)
    return ("true" if raw else "false") if kind == "bool_value" else str(raw)


def _attributes(kvs) -> dict[str, str]:
    return {kv.key: _any_value(kv.value) for kv in kvs}


def _resource_labels(resource) -> dict[str, str]:
    attrs = _attributes(resource.attributes)
    labels = {}
    name = attrs.get("service.name")
    if name:
        namespace = attrs.get("service.namespace")
        labels["job"] = f"{namespace}/{name}" if namespace else name
    if attrs.get("service.instance.id"):
        labels["instance"] = attrs["service.instance.id"]
    return labels


def _name(name: str, kind: str, unit: str) -> str:
    if not _PROMETHEUS_NAME.match(name):
        return name  # an OpenTelemetry name (http.server.request.duration): as it is
    if unit == "s" and not name.endswith(("_seconds", "_seconds_total")):
        name += "_seconds"
    if kind == "counter" and not name.endswith("_total"):
        name += "_total"
    return name


def _finite(value: float, metric: str) -> float:
    if not math.isfinite(value):
        raise Invalid(f"{metric}: a value that is not a finite number ({value})")
    return value


def _number(point) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _temporality(data, metric: str) -> str:
    if data.aggregation_temporality == _DELTA:
        return "delta"
    if data.aggregation_temporality == _CUMULATIVE:
        return "cumulative"
    raise Invalid(f"{metric}: aggregationTemporality is unspecified")


def _rows(metric, base: dict[str, str]) -> list[Row]:
    which = metric.WhichOneof("data")
    unit = metric.unit or None
    rows: list[Row] = []

    def add(point, kind, temporality, sample, value, le=None, extra=None):
        labels = {**base, **_attributes(point.attributes), **(extra or {})}
        rows.append((_time(point.time_unix_nano, "timeUnixNano"), name, kind, temporality,
                     sample, labels_text(labels), le, _finite(value, name),
                     _time(point.start_time_unix_nano, "startTimeUnixNano", False), unit))

    if which == "gauge":
        name = _name(metric.name, "gauge", metric.unit)
        for p in metric.gauge.data_points:
            if not p.flags & _NO_RECORDED_VALUE:
                add(p, "gauge", None, "value", _number(p))
    elif which == "sum":
        data = metric.sum
        temporality = _temporality(data, metric.name)
        level = not data.is_monotonic and temporality == "cumulative"
        kind = "gauge" if level else "counter"
        name = _name(metric.name, kind, metric.unit)
        for p in data.data_points:
            if not p.flags & _NO_RECORDED_VALUE:
                add(p, kind, None if level else temporality, "value", _number(p))
    elif which == "histogram":
        data = metric.histogram
        temporality = _temporality(data, metric.name)
        name = _name(metric.name, "histogram", metric.unit)
        for p in data.data_points:
            if p.flags & _NO_RECORDED_VALUE:
                continue
            bounds, counts = list(p.explicit_bounds), list(p.bucket_counts)
            if counts and len(counts) != len(bounds) + 1:
                raise Invalid(f"{name}: {len(counts)} bucket counts for {len(bounds)} bounds "
                              "(expected one more count than bounds)")
            if any(not math.isfinite(b) for b in bounds) or bounds != sorted(set(bounds)):
                raise Invalid(f"{name}: explicitBounds are not increasing finite numbers")
            running = 0
            for le, count in zip([*bounds, math.inf], counts, strict=False):
                running += count
                add(p, "histogram", temporality, "bucket", float(running), le=le)
            add(p, "histogram", temporality, "count", float(p.count))
            if p.HasField("sum"):
                add(p, "histogram", temporality, "sum", p.sum)
    elif which == "exponential_histogram":
        data = metric.exponential_histogram
        temporality = _temporality(data, metric.name)
        name = _name(metric.name, "histogram", metric.unit)
        for p in data.data_points:
            if not p.flags & _NO_RECORDED_VALUE:
                add(p, "histogram", temporality, "count", float(p.count))
                if p.HasField("sum"):
                    add(p, "histogram", temporality, "sum", p.sum)
    elif which == "summary":
        name = _name(metric.name, "summary", metric.unit)
        for p in metric.summary.data_points:
            if p.flags & _NO_RECORDED_VALUE:
                continue
            for q in p.quantile_values:
                add(p, "summary", "cumulative", "quantile", q.value,
                    extra={"quantile": repr(q.quantile)})
            add(p, "summary", "cumulative", "count", float(p.count))
            add(p, "summary", "cumulative", "sum", p.sum)
    else:
        raise Invalid(f"{metric.name or 'a metric'}: no data (gauge, sum or histogram)")
    return rows


def points(obj: dict) -> list[Row]:
    """Every data point of one ExportMetricsServiceRequest (a JSON object) as sample rows."""
    if not any(k in obj for k in OTLP_KEYS):
        raise Invalid("OTLP traces or logs, not metrics: send only the Collector's metrics "
                      "pipeline to this feed")
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    try:
        json_format.ParseDict(obj, request, ignore_unknown_fields=True)
    except RecursionError:
        raise Invalid("JSON nested too deep") from None
    except Exception as exc:  # noqa: BLE001 - ParseError, TypeError, ValueError, …
        text = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise Invalid(f"not OTLP metrics JSON: {text}") from None
    rows: list[Row] = []
    try:
        for resource_metrics in request.resource_metrics:
            base = _resource_labels(resource_metrics.resource)
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if not metric.name:
                        raise Invalid("a metric without a name")
                    rows.extend(_rows(metric, base))
    except RecursionError:  # an attribute of kvlists in kvlists, written out as its label
        raise Invalid("an attribute value nested too deep") from None
    return rows
