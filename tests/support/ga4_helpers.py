"""Helpers for the GA4 tests: the stand-in, running `thoth` in-process, and what a load must hold.

Everything goes through the real `google-analytics-data` client over HTTP to the stand-in; the
stand-in's own `rows()` is the oracle for what the warehouse must contain."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from clock import NOW

from pipelines.ga4.config import column_name
from thoth.cli import main
from thoth.demo.ga4_standin import FRACTIONAL_COUNTS, StandIn, metric_type

PROPERTY = "123456789"
OTHER_PROPERTY = "987654321"
TIME_ZONE = StandIn.time_zone  # the stand-in property's, Australia/Melbourne
TODAY = NOW.astimezone(ZoneInfo(TIME_ZONE)).date()  # the property's today, as GA4's `date` has it
TRAFFIC = {"name": "traffic", "dimensions": ["date", "deviceCategory", "country"],
           "metrics": ["activeUsers", "sessions", "userEngagementDuration"]}
EVENTS = {"name": "events", "dimensions": ["date", "eventName"],
          "metrics": ["eventCount", "activeUsers"]}


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def thoth(capsys, *args: str) -> tuple[int, str, str]:
    """Run `thoth ARGS` in-process; (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def served(standin: StandIn, report: dict, property_id: str, start: date,
           end: date = TODAY, fractional: frozenset = FRACTIONAL_COUNTS, **options) -> list[tuple]:
    """The rows the stand-in serves, typed as the warehouse must hold them, sorted: whole
    numbers as int, `fractional` counts (keyEvents, conversions) and the rest as float."""
    out = []
    for dims, metrics in standin.rows(property_id, report["dimensions"], report["metrics"],
                                      start, end, **options):
        day = date(int(dims[0][:4]), int(dims[0][4:6]), int(dims[0][6:]))
        values = [int(v) if metric_type(m) == "TYPE_INTEGER" and m.split(":")[0]
                  not in fractional else float(v)
                  for m, v in zip(report["metrics"], metrics, strict=True)]
        out.append((property_id, day, *dims[1:], *values))
    return sorted(out)


def loaded(warehouse: Path, report: dict) -> list[tuple]:
    """The report's table in the warehouse, in the same shape as `served`, sorted."""
    columns = ["property_id", *map(column_name, report["dimensions"] + report["metrics"])]
    cols = ", ".join(f'"{c}"' for c in columns)
    return sorted(query(warehouse, f'SELECT {cols} FROM ga4_raw."{report["name"]}"'))


def load_state(warehouse: Path) -> dict[str, tuple]:
    rows = query(warehouse, "SELECT table_name, mode, cursor_value, rows_loaded, rows_total, "
                            "flags, loaded_at FROM platform.load_state WHERE source = 'ga4'")
    return {r[0]: r[1:] for r in rows}


def stopped_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "stopped for this run" in line]


def dates_asked(standin: StandIn, property_id: str | None = None) -> list[tuple[str, str]]:
    """The date range of each request for a window's first page, in order (retries repeat)."""
    return [(r.body["dateRanges"][0]["startDate"], r.body["dateRanges"][0]["endDate"])
            for r in standin.requests
            if property_id in (None, r.property_id) and not r.body.get("offset")]
