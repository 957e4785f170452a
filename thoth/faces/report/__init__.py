"""`thoth report`: one static HTML page with the headline KPIs over time and their freshness, for
people who do not open Looker. Charts are inline SVG (thoth/faces/svg.py); the page loads nothing
from anywhere. A tiny inline script checks that every chart rendered and says so in the title
and `data-status`, which the Chromium test reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path

import duckdb

from thoth.core import platform
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.platform import load_state
from thoth.faces import svg
from transforms.catalogue import freshness, load_catalogue

SCRIPT = """
(function () {
  var charts = document.querySelectorAll('figure');
  var ok = 0;
  charts.forEach(function (f) {
    var s = f.querySelector('svg.chart');
    if (s && s.childElementCount > 2 && s.getBoundingClientRect().width > 0) { ok++; }
  });
  var status = (charts.length > 0 && ok === charts.length) ? 'ok' : 'broken';
  document.body.setAttribute('data-status', status);
  document.body.setAttribute('data-charts', String(ok));
  document.title = 'Thoth KPI report: ' + ok + ' of ' + charts.length + ' charts (' + status + ')';
})();
"""

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
figure { display: inline-block; margin: 8px 12px 16px 0; vertical-align: top; }
figcaption { font-size: 12px; color: #555; max-width: 560px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; }
.stale { color: #b00; }
"""


def _by_unit(con: duckdb.DuckDBPyConnection, table: str, num: str, den: str) -> list:
    return [(f"{code} {period or ''}".strip(), rate) for code, period, rate in con.execute(
        f"SELECT unit_code, teaching_period, sum({num})::DOUBLE / nullif(sum({den}), 0) "
        f"FROM marts.{table} GROUP BY ALL ORDER BY teaching_period, unit_code").fetchall()]


def _weekly(con: duckdb.DuckDBPyConnection, table: str, value: str) -> dict:
    series: dict[str, list] = {}
    for code, period, week, v in con.execute(
            f"SELECT unit_code, teaching_period, week_start, {value} FROM marts.{table} "
            "ORDER BY week_start").fetchall():
        series.setdefault(f"{code} {period or ''}".strip(), []).append((week.isoformat(), v))
    return series


# (KPI table, chart) — each a function of the connection, returning the SVG.
CHARTS: list[tuple[str, str, Callable[[duckdb.DuckDBPyConnection], str]]] = [
    ("kpi_task_submission", "Submitted of expected tasks, per unit and teaching period "
     "(target 85 %, KR1.1)", lambda con: svg.bar_chart(
         "Submission rate", _by_unit(con, "kpi_task_submission", "submitted", "expected"),
         percent=True, target=0.85)),
    ("kpi_on_time", "Submissions on time by OnTrack's rule (target 80 %, KR1.2)",
     lambda con: svg.bar_chart("On-time rate", _by_unit(con, "kpi_on_time", "on_time",
                                                        "on_time + late"),
                               percent=True, target=0.8)),
    ("kpi_feedback_turnaround", "Median hours from submission to assessment, by week (target "
     "≤ 48 h, KR2.1)", lambda con: svg.line_chart(
         "Feedback turnaround (median hours)",
         _weekly(con, "kpi_feedback_turnaround", "median_hours"))),
    ("kpi_student_activity", "Students active in OnTrack each week (KR1.3)",
     lambda con: svg.line_chart("Weekly active students",
                                _weekly(con, "kpi_student_activity", "active_students"))),
    ("kpi_web_traffic", "GA4 active users per day, all properties (KR3.1)",
     lambda con: svg.line_chart("Web active users", {"active users": [
         (d.isoformat(), v) for d, v in con.execute(
             "SELECT day, sum(active_users) FROM marts.kpi_web_traffic GROUP BY 1 ORDER BY 1"
         ).fetchall()]})),
]


def render(warehouse: Path, now: datetime | None = None) -> str:
    now = now or utc_now()
    con = open_warehouse(warehouse, read_only=True)
    try:
        figures = [f"<figure>{chart(con)}<figcaption>{escape(caption)} — "
                   f"<code>marts.{table}</code></figcaption></figure>"
                   for table, caption, chart in CHARTS if platform.has_table(con, table, "marts")]
        loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
    finally:
        con.close()
    rows = []
    for kpi in load_catalogue():
        fresh = freshness(kpi, loads)
        stale = fresh is None or (now - fresh).total_seconds() > 2 * 3600
        when = f"{fresh:%Y-%m-%d %H:%M} UTC ({age(now - fresh)} ago)" if fresh else "never loaded"
        rows.append(f"<tr><td><code>{kpi.name}</code></td><td>{escape(kpi.key_result)}</td>"
                    f"<td{' class=stale' if stale else ''}>{when}</td></tr>")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Thoth KPI report (loading)</title>"
        f"<style>{STYLE}</style></head><body data-status=loading>"
        f"<h1>Thoth Tech KPIs</h1><p>Built {now:%Y-%m-%d %H:%M} UTC from <code>"
        f"{escape(str(warehouse))}</code>. Every number comes from the warehouse's "
        "<code>marts.kpi_*</code> tables (the same ones published to Looker); the data catalog "
        "(<code>thoth docs</code>) explains each column.</p>"
        f"{''.join(figures)}"
        "<h2>Freshness</h2><p>The oldest last load among the raw tables each KPI is built from "
        "(red: more than two hours old, or never loaded).</p>"
        "<table><tr><th>KPI</th><th>key result</th><th>data as of</th></tr>"
        f"{''.join(rows)}</table><script>{SCRIPT}</script></body></html>"
    )


def write_report(warehouse: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(render(warehouse))
    return page
