"""The stand-in answers like Google, asked through the official client (REST, enums as ints):
orderBys, metricFilter after aggregation, "(other)" rows, thresholded drops, fractional
whole-number metrics, PropertyQuota metering, Google's error texts and status codes."""

from __future__ import annotations

import pytest
from ga4_helpers import PROPERTY, days_ago
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    FilterExpressionList,
    Metric,
    MetricType,
    NumericValue,
    OrderBy,
    RunReportRequest,
)
from google.api_core import exceptions as gexc

from pipelines.ga4.config import Ga4Config
from pipelines.ga4.helpers.client import make_client
from thoth.demo.ga4_standin import TEXTS


@pytest.fixture
def client(standin):
    return make_client(Ga4Config(property_ids=(PROPERTY,), reports=(), start_date=days_ago(9),
                                 api_endpoint=standin.url))


def _run(client, dims, metrics, days=3, **fields):
    return client.run_report(RunReportRequest(
        property=f"properties/{PROPERTY}", dimensions=[Dimension(name=d) for d in dims],
        metrics=[Metric(name=m) for m in metrics], limit=100_000, return_property_quota=True,
        date_ranges=[DateRange(start_date=f"{days}daysAgo", end_date="today")], **fields))


def _table(response):
    return [([v.value for v in r.dimension_values], [v.value for v in r.metric_values])
            for r in response.rows]


def test_order_bys_dimension_numeric_and_metric(client):
    by_sessions = _run(client, ["date", "country"], ["sessions"], order_bys=[
        OrderBy(metric=OrderBy.MetricOrderBy(metric_name="sessions"), desc=True)])
    sessions = [int(m[0]) for _, m in _table(by_sessions)]
    assert sessions == sorted(sessions, reverse=True) and len(set(sessions)) > 3
    by_country = _run(client, ["date", "country"], ["sessions"], order_bys=[
        OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="country"), desc=True),
        OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="date"))])
    keys = [(d[1], d[0]) for d, _ in _table(by_country)]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    assert keys == sorted(keys, key=lambda k: (tuple(-ord(c) for c in k[0]), k[1]))
    hours = _run(client, ["hour"], ["sessions"], order_bys=[OrderBy(
        dimension=OrderBy.DimensionOrderBy(
            dimension_name="hour", order_type=OrderBy.DimensionOrderBy.OrderType.NUMERIC))])
    values = [int(d[0]) for d, _ in _table(hours)]
    assert values == sorted(values)


def test_metric_filter_applies_after_aggregation(client):
    every = _table(_run(client, ["date", "country"], ["sessions", "activeUsers"]))
    between = FilterExpression(filter=Filter(field_name="sessions", between_filter=(
        Filter.BetweenFilter(from_value=NumericValue(int64_value=100),
                             to_value=NumericValue(int64_value=500)))))
    over = FilterExpression(filter=Filter(field_name="activeUsers", numeric_filter=(
        Filter.NumericFilter(operation=Filter.NumericFilter.Operation.GREATER_THAN,
                             value=NumericValue(int64_value=50)))))
    both = FilterExpression(and_group=FilterExpressionList(expressions=[
        between, FilterExpression(not_expression=over)]))
    response = _run(client, ["date", "country"], ["sessions", "activeUsers"], metric_filter=both)
    want = [r for r in every if 100 <= int(r[1][0]) <= 500 and not int(r[1][1]) > 50]
    assert sorted(_table(response)) == sorted(want) and 0 < len(want) < len(every)
    assert response.row_count == len(want)


def test_other_row_and_thresholding(client, standin):
    # Two dimensions: a day has dozens of rows whatever the date, more than "(other)" keeps.
    dimensions = ["date", "pagePath", "country"]
    plain = _table(_run(client, dimensions, ["sessions", "activeUsers"], days=0))
    standin.data_loss_from_other_row = True
    standin.other_row_after = 2  # rows a day keeps before the rest fold into "(other)"
    other = _run(client, dimensions, ["sessions", "activeUsers"], days=0)
    rows = _table(other)
    assert other.metadata.data_loss_from_other_row
    assert [d[1] for d, _ in rows].count("(other)") == 1
    assert len(rows) == standin.other_row_after + 1 < len(plain)
    assert sum(int(m[0]) for _, m in rows) == sum(int(m[0]) for _, m in plain)  # folded, not lost
    standin.data_loss_from_other_row = False
    standin.subject_to_thresholding = True
    kept = _run(client, dimensions, ["sessions", "activeUsers"], days=0)
    assert kept.metadata.subject_to_thresholding
    assert _table(kept) == [r for r in plain if int(r[1][1]) >= standin.threshold_users]


def test_whole_number_metrics_with_fractions_and_quota_status(client):
    response = _run(client, ["date", "eventName"], ["keyEvents", "eventCount"])
    assert [h.type_ for h in response.metric_headers] == [MetricType.TYPE_INTEGER] * 2
    credits = [m[0] for _, m in _table(response)]
    assert any("." in c for c in credits)
    assert all(float(c) == float(repr(float(c))) for c in credits)
    quota = response.property_quota
    assert quota.tokens_per_day.consumed > 0 and quota.tokens_per_project_per_hour.remaining < \
        14_000 and quota.server_errors_per_project_per_hour.remaining == 10


def test_errors_are_googles_texts_and_codes(client, standin):
    with pytest.raises(gexc.BadRequest, match="Field deviceKategory is not a valid dimension"):
        _run(client, ["deviceKategory"], ["sessions"])
    with pytest.raises(gexc.BadRequest, match="The request's dimensions & metrics are "
                                              "incompatible"):
        _run(client, ["hour", "userAgeBracket"], ["sessions"])
    standin.tokens_per_project_per_hour = 5  # one request's worth
    _run(client, ["date"], ["sessions"])
    with pytest.raises(gexc.TooManyRequests) as busy:
        _run(client, ["date"], ["sessions"])
    assert busy.value.message.endswith(TEXTS["project_hour"])
    standin.new_hour()
    standin.disable_api("4242")
    with pytest.raises(gexc.Forbidden) as off:
        _run(client, ["date"], ["sessions"])
    assert off.value.reason == "SERVICE_DISABLED"
    assert off.value.metadata["activationUrl"].endswith("overview?project=4242")
