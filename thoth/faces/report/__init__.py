"""`thoth report`: one static HTML page for people who do not open Looker — the flywheel (each
stage's headline KPI and its last four weeks), a chart of every KPI with its values on hover and
one unit filter for all of them, and each KPI's freshness. Charts are Vega-Lite (built with
Altair, kpi_charts.py says what each draws); Vega's JavaScript is inlined, so the page opens
offline and loads nothing from anywhere. page.js draws the charts, applies the filter and says in
the title and `data-status` whether every chart rendered, which the Chromium test reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path

import duckdb

from pipelines.landing import settings as landing
from thoth.core import platform
from thoth.core.duck import age, open_warehouse, utc_now
from thoth.core.platform import load_state
from thoth.faces.report import flywheel, scorecard, vega
from thoth.faces.report.kpi_charts import CHARTS, KpiChart
from transforms.catalogue import Kpi, freshness, load_catalogue
from transforms.project import discover

HERE = Path(__file__).parent


def _key_result(kpi: Kpi, chart: KpiChart | None, judge: dict[str, Kpi]) -> str:
    """The key result's words sit only on a chart that draws what its target judges; another
    KPI of the key result names where it is judged."""
    kr = kpi.key_result.split()[0]
    if kpi.target and chart and chart.judged:
        return kpi.key_result
    judged_on = kpi if kpi.target else judge.get(kr)
    if judged_on is None:
        return f"{kpi.key_result} (no number stated for this KPI)"
    return (f"serves {kr}; its target ({judged_on.target.measure}) is judged in the scorecard"
            + ("" if judged_on is kpi else f" on {judged_on.name}"))


def _figure(kpi: Kpi, chart: KpiChart | None, records: list[dict] | None,
            specs: dict[str, dict], stage: str, judge: dict[str, Kpi], today: date) -> str:
    """One KPI: its chart (its spec added to `specs`) or one line saying why there is none."""
    title = (chart.measure if chart else kpi.name.removeprefix("kpi_").replace("_", " "))
    notes = [chart.note] if chart and chart.note else []
    if chart and chart.over == "week":
        monday = today - timedelta(days=today.weekday())
        notes.append(f"complete weeks only: the week from {monday:%-d %b %Y} is still running, "
                     "left out")
    elif chart and chart.over == "day":
        notes.append(f"complete days only: {today:%-d %b %Y} is still running, left out")
    elif chart and chart.over == "unit":
        notes.append("pale bars: the unit's teaching period is still running, its value so far")
    note = f" ({'; '.join(notes)})" if notes else ""
    caption = (f"<figcaption><b>{escape(title[0].upper() + title[1:])}</b>{escape(note)} — "
               f"{escape(_key_result(kpi, chart, judge))} — <code>marts.{kpi.name}</code>"
               "</figcaption>")
    attrs = f'id="{kpi.name}" data-kpi="{kpi.name}" data-stage="{stage}"'
    if chart is None:
        return (f"<figure {attrs}>{caption}<p class=missing>No chart is defined for this KPI "
                "yet (thoth/faces/report/kpi_charts.py).</p></figure>")
    if records is None:
        return (f"<figure {attrs}>{caption}<p class=missing>Not built: the warehouse has no "
                f"<code>marts.{kpi.name}</code> (its source is not loaded).</p></figure>")
    if not records:
        return (f"<figure {attrs}>{caption}<p class=missing>No rows yet in "
                f"<code>marts.{kpi.name}</code>.</p></figure>")
    box = f"chart-{kpi.name}"
    specs[box] = vega.kpi_chart(chart, records, kpi.target)
    per_unit = "unit_id" in records[0]
    return (f'<figure {attrs} data-chart data-per-unit="{str(per_unit).lower()}">{caption}'
            f'<div id="{box}" data-per-unit="{str(per_unit).lower()}"></div>'
            f"<p class=empty hidden>No values for this unit.</p></figure>")


def complete_periods(chart: KpiChart) -> str:
    """The chart's query without the week or day still running on `?` (today): a partial
    period would be drawn as a drop. A unit's bar says whether its teaching period still runs
    (`running`: drawn pale, its value "so far")."""
    if chart.over == "week":
        return f"SELECT * FROM ({chart.sql}) WHERE x + 7 <= ?"
    if chart.over == "day":
        return f"SELECT * FROM ({chart.sql}) WHERE x < ?"
    if chart.over == "unit":
        return (f"SELECT c.*, coalesce(tp.end_date >= ?, false) AS running FROM ({chart.sql}) "
                "AS c LEFT JOIN staging.stg_ontrack__teaching_periods AS tp "
                "ON tp.teaching_period = c.term")
    return chart.sql


def _records(con: duckdb.DuckDBPyConnection, sql: str, today: date) -> list[dict]:
    cursor = con.execute(sql, [today] if "?" in sql else [])
    return vega.values(cursor.fetchall(), [d[0] for d in cursor.description])


def _stage_card(stage: flywheel.Stage, specs: dict[str, dict]) -> str:
    kpis = ", ".join(f'<a href="#{k}">{k.removeprefix("kpi_")}</a>' for k in stage.kpis)
    head = f'<section class=stage data-stage="{stage.name}"><h3>{stage.name}</h3>'
    if not stage.kpis:
        return (f"{head}<p class=none>No source yet: no KPI measures this stage, so there is "
                "nothing to show until one does.</p></section>")
    if stage.headline is None:
        body = "<p class=none>None of its KPIs has a weekly series to follow.</p>"
    elif not stage.weeks:
        body = (f"<p>{escape(stage.headline.measure)}</p><p class=none>No weeks of "
                f"<code>marts.{stage.headline.kpi}</code> yet.</p>")
    else:
        box = f"spark-{stage.name}"
        specs[box] = vega.sparkline(stage.headline, stage.weeks)
        body = (f"<p>{escape(stage.headline.measure)}: <b data-headline>{escape(stage.summary)}"
                f"</b> (weeks of {stage.weeks[0]['week_start']} to "
                f"{stage.weeks[-1]['week_start']})</p><div id={box}></div>")
    return f"{head}{body}<p>KPIs ({len(stage.kpis)}): {kpis}</p></section>"


def render(warehouse: Path, now: datetime | None = None) -> str:
    """The page; `now` (default: the clock) is when the report is as of, aware or naive UTC."""
    if now is None:
        now = utc_now()
    elif now.utcoffset() is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)  # the warehouse keeps naive UTC
    kpis, models = load_catalogue(), discover()
    charts = {c.kpi: c for c in CHARTS}
    con = open_warehouse(warehouse, read_only=True)
    try:
        built = platform.relations(con)
        records = {k.name: _records(con, complete_periods(charts[k.name]), now.date())
                   for k in kpis if k.name in charts and k.model in built}
        found = flywheel.stages(con, kpis, models, built, now.date())
        scores = scorecard.scores(con, kpis, built, now.date())
        loads = {f"{x.source}_raw.{x.table}": x.loaded_at for x in load_state.read_all(con)}
        # The OTLP data points land with their feed's files, recorded under the feed.
        loads |= {f"{landing.DATASET}.{table}": loads[f"{landing.DATASET}.{feed}"]
                  for table, feed in landing.LOADED_WITH.items()
                  if f"{landing.DATASET}.{feed}" in loads}
    finally:
        con.close()
    specs: dict[str, dict] = {"flywheel-loop": vega.loop(*flywheel.drawing(found))}
    judge = {k.key_result.split()[0]: k for k in kpis if k.target}  # where each KR is judged
    cards = "".join(_stage_card(s, specs) for s in found)
    sections = "".join(
        f'<h2 id="stage-{s.name}">{s.name.capitalize()} ({len(s.kpis)} KPIs)</h2>' + "".join(
            _figure(k, charts.get(k.name), records.get(k.name), specs, s.name, judge,
                    now.date())
            for k in kpis if k.name in s.kpis)
        for s in found if s.kpis)
    units = sorted({(r["unit_id"], r["unit"]) for rows in records.values() for r in rows
                    if "unit_id" in r}, key=lambda u: (u[1], u[0]))
    options = "".join(f'<option value="{escape(i)}">{escape(label)}</option>'
                      for i, label in units)
    unassigned = next((len(s.kpis) for s in found if s.name == flywheel.UNASSIGNED), 0)
    # "</" would end the script element early; JSON allows the escaped slash.
    spec_json = json.dumps(specs, separators=(",", ":")).replace("</", "<\\/")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>Thoth KPI report (loading)</title>"
        f"<style>{(HERE / 'page.css').read_text()}</style></head><body data-status=loading>"
        f"<header><h1>Thoth Tech KPIs</h1><label>Unit: <select id=unit>"
        f"<option value=all>all units</option>{options}</select></label> "
        "<small>(narrows every chart drawn per OnTrack unit; hover a mark for all its values)"
        "</small></header>"
        f"<p>Built {now:%Y-%m-%d %H:%M} UTC from <code>{escape(str(warehouse))}</code>: "
        f"{len(kpis)} KPIs. Every number comes from the warehouse's <code>marts.kpi_*</code> "
        "tables (the same ones published to Looker); the data catalog (<code>thoth docs</code>) "
        "explains each column.</p>"
        f"{_scorecard(scores, now)}"
        "<h2 id=flywheel>The flywheel</h2><p>More and happier users → more data → more insights "
        "→ more and better features → more and happier users; in the open-core loop, features "
        "→ contributions → features. Each stage's headline KPI and its last four complete weeks"
        + (f"; {unassigned} KPIs name no stage yet (unassigned)" if unassigned else "")
        + ".</p><div class=flywheel><div id=flywheel-loop></div>"
        f"<div class=stages>{cards}</div></div>{sections}"
        f"{_freshness(kpis, found, loads, now, records)}"
        f"<script type=application/json id=vega-specs>{spec_json}</script>"
        f"<script>{vega.javascript()}</script>"
        f"<script>{(HERE / 'page.js').read_text()}</script></body></html>"
    )


def _scorecard(scores: list[scorecard.Score], now: datetime) -> str:
    """The table at the top: each KPI's latest complete period against its target."""
    rows = []
    for s in scores:
        fmt, target = s.measure.fmt, s.target
        value = flywheel.fmt(s.value, fmt) if s.value is not None else "–"
        if target is None:
            aim, good = "none stated", "–"
        else:
            aim = ("above the period before" if target.value is None else
                   f"{'≥' if target.good == 'higher' else '≤'} {flywheel.fmt(target.value, fmt)}")
            good = "▲ higher is better" if target.good == "higher" else "▼ lower is better"
        status = {"on": "on target", "off": "off target",
                  "none": "no target" if target is None else "not yet judged"}[s.status]
        trend, trend_class = "–", "flat"
        if s.value is not None and s.previous is not None:
            delta = s.value - s.previous
            arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
            if fmt.endswith("%"):
                size = f"{abs(delta) * 100:.1f} pts"
            elif s.previous:
                size = f"{abs(delta) / abs(s.previous):.0%}"
            else:
                size = flywheel.fmt(abs(delta), fmt)
            if size.strip("0.%pts ") == "":  # too small to show: no move
                arrow, delta = "=", 0
            trend = f"{arrow} {size} on {flywheel.fmt(s.previous, fmt)}"
            if target is not None and delta:
                trend_class = "better" if (delta > 0) == (target.good == "higher") else "worse"
        period = escape(s.period or "no complete period yet")
        if s.running:
            period += f"<br><small>left out, not ended yet: {escape(s.running)}</small>"
        aimed = "" if target is None else "up" if target.value is None else repr(target.value)
        rows.append(
            f'<tr data-kpi="{s.kpi.name}" data-status="{s.status}" '
            f'data-value="{"" if s.value is None else repr(s.value)}" data-target="{aimed}" '
            f'data-good="{target.good if target else ""}">'
            f'<td><a href="#{s.kpi.name}">{escape(s.measure.measure)}</a><br>'
            f"<small>{escape(s.kpi.key_result.split()[0])} · <code>{s.kpi.name}</code></small></td>"
            f"<td>{period}</td><td class=value>{value}</td><td>{escape(aim)}</td>"
            f"<td>{good}</td><td class=status-{s.status}>{status}</td>"
            f"<td class=trend-{trend_class}>{escape(trend)}</td></tr>")
    return ("<h2 id=scorecard>Scorecard</h2><p>Each KPI's latest <b>complete</b> period (a week, "
            "a day or a teaching period that has ended; a period still running is left out, "
            f"never judged) as of {now:%Y-%m-%d %H:%M} UTC, against the target its key result "
            "states (the KPI's YAML). Trend: against the period before.</p>"
            "<table class=scorecard><tr><th>measure</th><th>latest complete period</th>"
            "<th>value</th><th>target</th><th>good</th><th>status</th><th>trend</th></tr>"
            f"{''.join(rows)}</table>")


def _freshness(kpis: list[Kpi], found: list[flywheel.Stage], loads: dict[str, datetime],
               now: datetime, records: dict[str, list[dict]]) -> str:
    stage_of = {k: s.name for s in found for k in s.kpis}
    rows = []
    for kpi in kpis:
        fresh, unloaded = freshness(kpi, loads), []
        if fresh is None and records.get(kpi.name):
            # Its chart has data, so a table never loaded is another source of the same mart
            # (e.g. the Prometheus scrape beside the Collector's files): as of the ones loaded.
            loaded = [loads[t] for t in kpi.requires if t in loads]
            unloaded = [t for t in kpi.requires if t not in loads]
            fresh = min(loaded) if loaded else None
        stale = fresh is None or (now - fresh).total_seconds() > 2 * 3600
        when = f"{fresh:%Y-%m-%d %H:%M} UTC ({age(now - fresh)} ago)" if fresh else "never loaded"
        if fresh and unloaded:
            when += f"<br><small>not loaded (no rows from it): {escape(', '.join(unloaded))}"\
                    "</small>"
        rows.append(f"<tr><td><code>{kpi.name}</code></td><td>{stage_of[kpi.name]}</td>"
                    f"<td>{escape(kpi.key_result)}</td>"
                    f"<td{' class=stale' if stale else ''}>{when}</td></tr>")
    return ("<h2>Freshness</h2><p>The oldest last load among the raw tables each KPI is built "
            "from (red: more than two hours old, or never loaded).</p><table><tr><th>KPI</th>"
            f"<th>stage</th><th>key result</th><th>data as of</th></tr>{''.join(rows)}</table>")


def write_report(warehouse: Path, out: Path, now: datetime | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(render(warehouse, now))
    return page
