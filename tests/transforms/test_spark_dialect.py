"""The sqlglot fixes of transforms/spark/dialect.py, each run on both engines: the DuckDB SQL on
DuckDB and its translation on Spark give the same values (sqlglot's plain output would not)."""

from __future__ import annotations

import math

import duckdb
import pytest

from thoth.core.errors import ThothError
from transforms.spark.dialect import to_spark

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

STAMPS = """(VALUES
    (TIMESTAMP '2026-03-01 00:00:00.900000', TIMESTAMP '2026-03-01 00:00:01.100000'),
    (TIMESTAMP '1969-12-31 23:59:59.500000', TIMESTAMP '1970-01-01 00:00:00.250000'),
    (TIMESTAMP '2026-03-01 23:59:59.999999', TIMESTAMP '2026-03-02 00:00:00'),
    (TIMESTAMP '2026-03-01 10:30:00', TIMESTAMP '2026-03-04 09:00:00')) AS t(a, b)"""


def both(spark, sql: str) -> tuple[list[tuple], list[tuple]]:
    duck = duckdb.sql(sql).fetchall()
    on_spark = [tuple(row) for row in spark.sql(to_spark(sql)).collect()]
    return duck, on_spark


def same(left: list[tuple], right: list[tuple]) -> bool:
    return len(left) == len(right) and all(
        math.isclose(x, y, rel_tol=0, abs_tol=1e-12) if isinstance(x, float) else x == y
        for a, b in zip(left, right, strict=True) for x, y in zip(a, b, strict=True))


def test_date_diff_counts_boundaries_as_duckdb_does(spark):
    sql = ("SELECT date_diff('second', a, b), date_diff('minute', a, b), "
           f"date_diff('hour', a, b), date_diff('day', a, b) FROM {STAMPS} ORDER BY a")
    duck, on_spark = both(spark, sql)
    # Across midnight a microsecond apart: one of each unit; 10:30 → 09:00 three days on: 71
    # hour boundaries, not the 70 whole hours elapsed.
    assert duck == [(1, 1, 1, 1), (1, 0, 0, 0), (253800, 4230, 71, 3), (1, 1, 1, 1)]
    assert on_spark == duck
    # sqlglot's plain translation counts whole units elapsed instead: the fix is needed.
    import sqlglot

    plain = [tuple(r) for r in spark.sql(sqlglot.transpile(sql, read="duckdb",
                                                            write="spark")[0]).collect()]
    assert plain != duck


def test_date_diff_of_dates_in_days(spark):
    sql = ("SELECT date_diff('day', CAST(a AS DATE), CAST(b AS DATE)) "
           f"FROM {STAMPS} ORDER BY a")
    duck, on_spark = both(spark, sql)
    assert duck == [(1,), (0,), (3,), (1,)]
    assert on_spark == duck


def test_division_by_a_decimal_literal_is_floating_point(spark):
    sql = ("SELECT date_diff('second', a, b) / 3600.0, 7 / 3.0, 1 / 3 "
           f"FROM {STAMPS} ORDER BY a")
    duck, on_spark = both(spark, sql)
    assert duck[0][1] == pytest.approx(7 / 3, abs=1e-15)
    assert same(duck, on_spark)
    assert spark.sql(to_spark(sql)).dtypes[0][1] == "double"


def test_quantiles_and_median_interpolate_alike(spark):
    sql = ("SELECT quantile_cont(x, 0.5), quantile_cont(x, 0.9), quantile_cont(x, 0.95), "
           "MEDIAN(x), MEDIAN(CASE WHEN x > 2 THEN x END) "
           "FROM (VALUES (1.0), (2.5), (4.0), (10.0), (11.25)) AS v(x)")
    duck, on_spark = both(spark, sql)
    assert duck[0][1] == pytest.approx(10.75)
    assert same(duck, on_spark)


def test_a_utc_time_read_in_a_zone_gives_the_same_day(spark):
    # Melbourne is UTC+11 in March (daylight saving), UTC+10 in July; 13:00 UTC is the next day.
    sql = ("SELECT z, CAST(timezone(z, timezone('UTC', ts)) AS DATE) FROM (VALUES "
           "('Australia/Melbourne', TIMESTAMP '2025-03-14 13:00:00'), "
           "('Australia/Melbourne', TIMESTAMP '2025-07-14 13:30:00'), "
           "('Australia/Melbourne', TIMESTAMP '2025-04-05 15:30:00'), "
           "('UTC', TIMESTAMP '2025-03-14 23:59:59')) AS v(z, ts) ORDER BY ts")
    duck, on_spark = both(spark, sql)
    assert [str(d) for _, d in duck] == ["2025-03-15", "2025-03-14", "2025-04-06", "2025-07-14"]
    assert on_spark == duck


def test_an_interval_added_to_a_day(spark):
    sql = ("SELECT CAST(d AS TIMESTAMP) + INTERVAL 35 HOUR + INTERVAL 59 MINUTE "
           "+ INTERVAL 59 SECOND, CAST(d + INTERVAL 7 DAY AS DATE), d + 7 * 2 "
           "FROM (VALUES (DATE '2025-03-14')) AS v(d)")
    duck, on_spark = both(spark, sql)
    assert str(duck[0][0]) == "2025-03-15 11:59:59"
    assert on_spark == duck


def test_other_uses_of_timezone_are_refused_in_one_line():
    with pytest.raises(ThothError, match="model m: timezone\\(\\) is translated"):
        to_spark("SELECT timezone('Australia/Melbourne', ts) FROM t.x", "m")
