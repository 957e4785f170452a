"""The `ontrack_metrics` feed's lines, told apart one by one: an OpenTelemetry Collector's OTLP
JSON (an object with `resourceMetrics`: pipelines.metrics.otlp) or the platform's own older
shape `{time, name, value, tags}` (jsonl.metric_row). A file may mix them; each line is what
its keys say. An OTLP line holds many data points: they go to `ontrack_metric_points`, and the
line is counted in `point_lines` (lines = rows + point_lines + context + quarantined + blank)."""

from __future__ import annotations

import polars as pl

from pipelines.landing import jsonl
from pipelines.landing.jsonl import _BLANK, METRIC_SCHEMA, Invalid, _frame, metric_row
from pipelines.landing.parsed import Parsed
from pipelines.metrics import otlp
from pipelines.metrics.samples import SCHEMA as POINT_SCHEMA


class MetricLinesParser:
    """A whole `ontrack_metrics` file, block by block."""

    def block(self, first_line: int, text: str) -> Parsed:
        rows, numbers, texts, bad, blank = [], [], [], [], 0
        points, point_numbers, point_lines = [], [], 0
        reasons: dict[str, str] = {}
        for number, line in enumerate(text.split("\n"), start=first_line):
            if not line.strip(_BLANK):
                blank += 1
                continue
            try:
                obj = jsonl._load(line)  # looked up here: tests swap in json.loads
                if not isinstance(obj, dict):
                    raise Invalid("not a JSON object")
                if otlp.is_otlp(obj):
                    found = otlp.points(obj)
                    points.extend(found)
                    point_numbers.extend([number] * len(found))
                    point_lines += 1
                    continue
                rows.append(metric_row(obj))
            except (Invalid, otlp.Invalid) as exc:
                reason = str(exc)
                bad.append((number, reasons.setdefault(reason, reason), line))
                continue
            numbers.append(number)
            texts.append(line)
        parsed = Parsed(_frame(rows, numbers, texts, METRIC_SCHEMA, bad), bad, blank=blank)
        parsed.points = (pl.DataFrame(points, schema=POINT_SCHEMA, orient="row")
                         .with_columns(pl.Series("line_number", point_numbers, dtype=pl.Int64)))
        parsed.point_lines = point_lines
        return parsed

    def finish(self) -> Parsed:
        return Parsed()
