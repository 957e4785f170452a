"""The one shape both readers (Prometheus text, OTLP JSON) give a metric sample, so the models
read scrapes and Collector files alike. A histogram is stored as Prometheus exposes it: one
sample per bucket (`le`, cumulative counts), plus its count and sum."""

from __future__ import annotations

import json
import math

import polars as pl

# kind: counter | gauge | histogram | summary. temporality: cumulative (a running total since
# start_time, which a restart resets) or delta (each sample is the increase itself); NULL for
# gauges. sample: value | bucket | count | sum | quantile.
SCHEMA = {"observed_at": pl.Datetime("us"), "metric": pl.String, "kind": pl.String,
          "temporality": pl.String, "sample": pl.String, "labels": pl.String,
          "le": pl.Float64, "value": pl.Float64, "start_time": pl.Datetime("us"),
          "unit": pl.String}

# The DDL of these columns, shared by metrics_raw.samples and landing_raw.ontrack_metric_points.
COLUMNS = ("observed_at TIMESTAMP NOT NULL, metric VARCHAR NOT NULL, kind VARCHAR NOT NULL, "
           "temporality VARCHAR, sample VARCHAR NOT NULL, labels VARCHAR NOT NULL, le DOUBLE, "
           "value DOUBLE NOT NULL, start_time TIMESTAMP, unit VARCHAR")

KINDS = ("counter", "gauge", "histogram", "summary")


def labels_text(labels: dict[str, str]) -> str:
    """Labels as one canonical JSON object (sorted keys): the series key in SQL."""
    return json.dumps(dict(sorted(labels.items())), ensure_ascii=False, separators=(",", ":"))


def finite(value: float) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)
