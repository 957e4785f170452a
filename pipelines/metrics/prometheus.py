"""The Prometheus text exposition format → samples, through prometheus_client's own parser
(`text_string_to_metric_families`), never by hand.

A body parses whole or not at all (the parser stops at its first bad line): `Unparsable` with
the parser's reason, in one line. Names follow what the endpoint exposes: a counter keeps its
`_total` (`rails_requests_total`, as yabeda-prometheus and PromQL name it), a histogram or
summary is its family (`rails_request_duration_seconds`) with one sample per `_bucket` (`le`),
`_count` and `_sum`. The `<name>_created` gauges prometheus_client (Python) adds beside a
counter or histogram become that series' `start_time`, which tells a restart apart from a
counter that went on; client_ruby (yabeda) has none, and a drop is the restart sign there.
Samples whose value is NaN or ±Inf (a gauge may say so) are not stored: counted in `skipped`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from pipelines.metrics.samples import SCHEMA, labels_text

# How the exposition's types map onto ours. gaugehistogram's buckets are levels, not totals.
KIND = {"counter": "counter", "gauge": "gauge", "histogram": "histogram",
        "summary": "summary", "unknown": "gauge", "untyped": "gauge", "info": "gauge",
        "stateset": "gauge", "gaugehistogram": "gauge"}
CUMULATIVE = {"counter", "histogram", "summary"}


class Unparsable(ValueError):
    """The body is not the text exposition format; the message says where, in one line."""


@dataclass
class Exposition:
    rows: pl.DataFrame
    samples: int  # samples in the body (incl. the _created ones used as start times)
    skipped: list[str] = field(default_factory=list)  # "name: reason" of samples not stored


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:200]


def _time(seconds: float | None, default: datetime) -> datetime:
    if seconds is None:
        return default
    value = float(seconds)
    if not math.isfinite(value) or not 0 <= value < 32503680000:
        raise Unparsable(f"a sample timestamp {value!r} is not a time")
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)


def _sample_kind(family_type: str, family: str, sample: str) -> str:
    if family_type in ("histogram", "summary"):
        for suffix, what in (("_bucket", "bucket"), ("_count", "count"), ("_sum", "sum")):
            if sample == family + suffix:
                return what
        return "quantile" if family_type == "summary" and sample == family else "value"
    return "value"


def parse(text: str, scraped_at: datetime) -> Exposition:
    """Every sample of one scrape; `scraped_at` (naive UTC) where a sample has no timestamp."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError, IndexError, …
        raise Unparsable(f"not the Prometheus text format: {_one_line(exc)}") from None
    cumulative = {f.name for f in families if f.type in CUMULATIVE}
    created: dict[tuple[str, str], float] = {}
    for family in families:
        base = family.name.removesuffix("_created")
        for s in family.samples:
            if family.name.endswith("_created") and base in cumulative:
                created[(base, labels_text(s.labels))] = s.value
            elif family.type in CUMULATIVE and s.name == family.name + "_created":
                created[(family.name, labels_text(s.labels))] = s.value  # OpenMetrics
    rows, skipped, total = [], [], 0
    for family in families:
        total += len(family.samples)
        if family.name.endswith("_created") and family.name.removesuffix("_created") in cumulative:
            continue  # used as start times above
        kind = KIND.get(family.type, "gauge")
        for s in family.samples:
            if s.name == family.name + "_created" and family.type in CUMULATIVE:
                continue  # OpenMetrics puts _created inside its family: a start time above
            sample = _sample_kind(family.type, family.name, s.name)
            labels = dict(s.labels)
            le = None
            if sample == "bucket":
                try:
                    le = float(labels.pop("le"))
                except (KeyError, ValueError):
                    skipped.append(f"{s.name}: a bucket without a numeric le")
                    continue
            value = float(s.value)
            if not math.isfinite(value):
                skipped.append(f"{s.name}: value {value}")
                continue
            key = labels_text(labels)
            start = created.get((family.name, key))
            metric = s.name if family.type == "counter" else family.name
            rows.append((_time(s.timestamp, scraped_at), metric, kind,
                         "cumulative" if family.type in CUMULATIVE else None, sample, key, le,
                         value, _start(start), family.unit or None))
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return Exposition(frame, total, skipped)


def _start(seconds: float | None) -> datetime | None:
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds < 32503680000:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
